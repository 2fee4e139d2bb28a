/**
 * Just enough of IAM's policy evaluation to ask a synthesized policy the
 * questions AWS would: is this action on this resource, with these request
 * context keys, allowed (an Allow matches and no Deny does)? Action and
 * Resource (and NotAction/NotResource) with `*` and `?`, the condition
 * operators the kit's policies use, IfExists, ForAnyValue/ForAllValues, and
 * policy variables (`${aws:PrincipalAccount}`) in condition values. Principals
 * are not evaluated: callers pick the statements of one policy. Templates'
 * intrinsic functions are resolved first with `resolveIntrinsics`.
 */

export interface IamRequest {
  readonly action: string;
  readonly resource?: string;
  /** Request context keys (case-insensitive names); a key that is absent is absent from the request. */
  readonly context?: Record<string, string | string[]>;
}

export type Decision = 'allow' | 'deny' | 'implicit-deny';

/** The decision of IAM for a request against statements (one identity policy, or a trust policy). */
export function decide(statements: any[], request: IamRequest): Decision {
  let allowed = false;
  for (const st of statements) {
    if (!statementMatches(st, request)) continue;
    if (st.Effect === 'Deny') return 'deny';
    if (st.Effect === 'Allow') allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

export function allows(statements: any[], request: IamRequest): boolean {
  return decide(statements, request) === 'allow';
}

/** IAM's wildcard match: `*` any run of characters, `?` one; actions case-insensitively. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('')}$`, ignoreCase ? 'is' : 's');
  return re.test(value);
}

function statementMatches(st: any, request: IamRequest): boolean {
  const list = (v: unknown): string[] => (v === undefined ? [] : [v].flat().map(String));
  if (st.Action !== undefined && !list(st.Action).some((a) => wildcardMatch(a, request.action, true))) return false;
  if (st.NotAction !== undefined && list(st.NotAction).some((a) => wildcardMatch(a, request.action, true))) return false;
  const resource = request.resource ?? '*';
  if (st.Resource !== undefined && !list(st.Resource).some((r) => wildcardMatch(r, resource))) return false;
  if (st.NotResource !== undefined && list(st.NotResource).some((r) => wildcardMatch(r, resource))) return false;
  return conditionsHold(st.Condition ?? {}, request.context ?? {});
}

function conditionsHold(conditions: Record<string, Record<string, unknown>>, context: Record<string, string | string[]>): boolean {
  const lowered = Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  const substitute = (value: string) => value.replace(/\$\{([^}]+)\}/g, (whole, key: string) => {
    const v = lowered[key.toLowerCase()];
    // IAM leaves a variable it cannot resolve as a value no request matches.
    return typeof v === 'string' ? v : `\u0000${whole}`;
  });
  for (const [operator, keys] of Object.entries(conditions)) {
    let op = operator;
    let quantifier: 'any' | 'all' | undefined;
    if (op.startsWith('ForAnyValue:')) { quantifier = 'any'; op = op.slice(12); }
    if (op.startsWith('ForAllValues:')) { quantifier = 'all'; op = op.slice(13); }
    const ifExists = op.endsWith('IfExists');
    if (ifExists) op = op.slice(0, -8);
    for (const [key, expected] of Object.entries(keys)) {
      const given = lowered[key.toLowerCase()];
      const expectedValues = [expected].flat().map((v) => substitute(String(v)));
      if (op === 'Null') {
        if ((given === undefined) !== (expectedValues[0] === 'true')) return false;
        continue;
      }
      if (given === undefined) {
        if (ifExists || quantifier === 'all') continue;
        return false;
      }
      const givenValues = [given].flat();
      const one = (g: string): boolean => {
        switch (op) {
          case 'StringEquals': case 'ArnEquals': return expectedValues.includes(g);
          case 'StringNotEquals': case 'ArnNotEquals': return !expectedValues.includes(g);
          case 'StringEqualsIgnoreCase': return expectedValues.some((e) => e.toLowerCase() === g.toLowerCase());
          case 'StringLike': case 'ArnLike': return expectedValues.some((e) => wildcardMatch(e, g));
          case 'StringNotLike': case 'ArnNotLike': return !expectedValues.some((e) => wildcardMatch(e, g));
          case 'Bool': return expectedValues.includes(g);
          default: throw new Error(`condition operator ${operator} is not evaluated here`);
        }
      };
      const holds = quantifier === 'all' ? givenValues.every(one) : givenValues.some(one);
      if (!holds) return false;
    }
  }
  return true;
}

/** The values of a template's pseudo parameters and resources, for `resolveIntrinsics`. */
export interface IntrinsicValues {
  readonly account: string;
  readonly region: string;
  readonly partition?: string;
  readonly stackName?: string;
  /** Values of `Ref` to parameters and resources; an unknown one resolves to `<LogicalId>`. */
  readonly refs?: Record<string, string>;
}

/** Resolves Ref, Fn::Join, Fn::Sub (string form) and Fn::GetAtt (to `<Id.Attr>`) throughout a node. */
export function resolveIntrinsics(node: any, values: IntrinsicValues): any {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': values.account,
    'AWS::Region': values.region,
    'AWS::Partition': values.partition ?? 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': values.stackName ?? 'stack',
    ...values.refs,
  };
  const ref = (name: string) => pseudo[name] ?? `<${name}>`;
  if (Array.isArray(node)) return node.map((n) => resolveIntrinsics(n, values));
  if (node === null || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  if (keys.length === 1) {
    const [fn] = keys;
    const arg = node[fn];
    if (fn === 'Ref') return arg === 'AWS::NoValue' ? node : ref(arg);
    if (fn === 'Fn::Join') return (resolveIntrinsics(arg[1], values) as unknown[]).join(arg[0]);
    if (fn === 'Fn::GetAtt') return `<${[arg].flat().join('.')}>`;
    if (fn === 'Fn::Sub' && typeof arg === 'string') {
      return arg.replace(/\$\{([^}!]+)\}/g, (_, name: string) => (name.includes(':') && !name.startsWith('AWS::') ? `\${${name}}` : ref(name)));
    }
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveIntrinsics(v, values)]));
}
