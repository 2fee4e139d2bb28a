/**
 * CloudFormation's creation order, as a synthesized template states it: a
 * resource is created only after every resource it refers to with Ref,
 * Fn::GetAtt or Fn::Sub, or names in DependsOn, is complete. AWS states the
 * rule for DependsOn and for the implicit dependencies of Ref and GetAtt in
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html
 * ("Dependent stacks also have implicit dependencies in the form of target
 * properties !Ref and !GetAtt"). Nothing here keeps a list of resources by
 * hand: the order is read from the template.
 */

export interface TemplateGraph {
  /** The resources `id` refers to or names in DependsOn (only resources of the template). */
  readonly directDependencies: (id: string) => ReadonlySet<string>;
  /** Whether CloudFormation creates `later` only after `earlier` is complete (a path of dependencies). */
  readonly createdAfter: (later: string, earlier: string) => boolean;
}

/** The logical ids a template node refers to: Ref, Fn::GetAtt (array or `Id.Attr` form) and Fn::Sub's `${Id}`/`${Id.Attr}`. */
export function referencedIds(node: unknown): Set<string> {
  const found = new Set<string>();
  const subRefs = (text: string) => {
    for (const m of text.matchAll(/\$\{([^}!]+)\}/g)) {
      found.add(m[1].split('.')[0]);
    }
  };
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) {
      n.forEach(walk);
      return;
    }
    if (n === null || typeof n !== 'object') {
      return;
    }
    const entries = Object.entries(n as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0];
      if (fn === 'Ref' && typeof arg === 'string') {
        found.add(arg);
        return;
      }
      if (fn === 'Fn::GetAtt') {
        found.add(Array.isArray(arg) ? String(arg[0]) : String(arg).split('.')[0]);
        return;
      }
      if (fn === 'Fn::Sub') {
        if (typeof arg === 'string') {
          subRefs(arg);
        } else if (Array.isArray(arg)) {
          // Variables given in the map are not references to resources; the map's values may be.
          const vars = new Set(Object.keys((arg[1] ?? {}) as object));
          const before = new Set(found);
          subRefs(String(arg[0]));
          for (const id of found) {
            if (!before.has(id) && vars.has(id)) {
              found.delete(id);
            }
          }
          walk(arg[1]);
        }
        return;
      }
    }
    entries.forEach(([, v]) => walk(v));
  };
  walk(node);
  return found;
}

export function templateGraph(template: { Resources: Record<string, any> }): TemplateGraph {
  const ids = new Set(Object.keys(template.Resources));
  const direct = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const deps = new Set<string>();
    for (const ref of referencedIds(resource.Properties ?? {})) {
      if (ids.has(ref)) deps.add(ref);
    }
    for (const d of [resource.DependsOn ?? []].flat() as string[]) {
      if (ids.has(d)) deps.add(d);
    }
    direct.set(id, deps);
  }
  const createdAfter = (later: string, earlier: string): boolean => {
    const seen = new Set<string>();
    const stack = [...(direct.get(later) ?? [])];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (id === earlier) return true;
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(direct.get(id) ?? []));
    }
    return false;
  };
  return { directDependencies: (id) => direct.get(id) ?? new Set(), createdAfter };
}
