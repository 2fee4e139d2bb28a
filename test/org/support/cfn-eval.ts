import { resolveIntrinsics } from '../../support/iam-eval';

/**
 * Just enough of CloudFormation's evaluation of Conditions, Rules and the
 * intrinsic functions the org template uses in them, to check the generated
 * logic against the catalogs and the fit check for every value a parameter
 * allows, rather than for a sample.
 */
export interface Evaluation {
  readonly template: any;
  /** Parameter values; resources' and pseudo parameters' `Ref` values may be given here too. */
  readonly parameters: Record<string, string>;
  readonly region?: string;
  /** `Fn::GetAtt` values by `LogicalId.Attribute`; an unknown one stays `<LogicalId.Attribute>`. */
  readonly attributes?: Record<string, string>;
}

/** A template's parameter values: the defaults, overridden. */
export function parameterValues(template: any, overrides: Record<string, string> = {}): Record<string, string> {
  const defaults = Object.fromEntries(Object.entries(template.Parameters ?? {})
    .filter(([, p]: [string, any]) => p.Default !== undefined)
    .map(([name, p]: [string, any]) => [name, String(p.Default)]));
  return { ...defaults, ...overrides };
}

export function evaluate(node: any, e: Evaluation): any {
  if (node === null || typeof node !== 'object') {
    return node;
  }
  if (Array.isArray(node)) {
    return node.map((n) => evaluate(n, e));
  }
  const [fn] = Object.keys(node);
  const arg = node[fn];
  switch (fn) {
    case 'Ref':
      if (arg === 'AWS::Region') {
        return e.region ?? 'us-east-1';
      }
      if (arg === 'AWS::NoValue') {
        return node;
      }
      // Resources and other pseudo parameters stay symbolic.
      return arg in e.parameters ? e.parameters[arg] : `<${arg}>`;
    case 'Condition':
      return condition(arg, e);
    case 'Fn::Equals':
      return String(evaluate(arg[0], e)) === String(evaluate(arg[1], e));
    case 'Fn::Not':
      return !evaluate(arg[0], e);
    case 'Fn::And':
      return arg.every((c: any) => evaluate(c, e));
    case 'Fn::Or':
      return arg.some((c: any) => evaluate(c, e));
    case 'Fn::Contains':
      return (evaluate(arg[0], e) as string[]).map(String).includes(String(evaluate(arg[1], e)));
    case 'Fn::If':
      return condition(arg[0], e) ? evaluate(arg[1], e) : evaluate(arg[2], e);
    case 'Fn::Select':
      return (evaluate(arg[1], e) as unknown[])[Number(evaluate(arg[0], e))];
    case 'Fn::Split':
      return String(evaluate(arg[1], e)).split(arg[0]);
    case 'Fn::GetAtt':
      return e.attributes?.[arg.join('.')] ?? `<${arg.join('.')}>`;
    case 'Fn::FindInMap': {
      const [map, key1, key2] = arg.map((a: any) => evaluate(a, e));
      const value = e.template.Mappings?.[map]?.[key1]?.[key2];
      if (value === undefined) {
        throw new Error(`FindInMap ${map}/${key1}/${key2}: no such entry`);
      }
      return value;
    }
    default:
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, evaluate(v, e)]));
  }
}

/**
 * A node as CloudFormation hands it to the service: conditions and parameters
 * evaluated, Fn::Join and Fn::Sub joined, and `Ref: AWS::NoValue` removed
 * from the objects and lists that hold it.
 */
export function resolved(node: any, e: Evaluation): any {
  return withoutNoValue(resolveIntrinsics(evaluate(node, e), {
    account: e.parameters['AWS::AccountId'] ?? '<AWS::AccountId>',
    region: e.region ?? 'us-east-1',
    partition: e.parameters['AWS::Partition'],
    stackName: e.parameters['AWS::StackName'],
    refs: e.parameters,
  }));
}

function withoutNoValue(node: any): any {
  const noValue = (n: any) => n !== null && typeof n === 'object' && n.Ref === 'AWS::NoValue';
  if (Array.isArray(node)) return node.filter((n) => !noValue(n)).map(withoutNoValue);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([, v]) => !noValue(v)).map(([k, v]) => [k, withoutNoValue(v)]));
}

/** A named condition of the template. */
export function condition(name: string, e: Evaluation): boolean {
  const expression = e.template.Conditions?.[name];
  if (expression === undefined) {
    throw new Error(`no condition ${name}`);
  }
  return Boolean(evaluate(expression, e));
}

/** The descriptions of the rule assertions that fail for these parameter values (a rule whose condition is false passes). */
export function failingAssertions(e: Evaluation): string[] {
  const failures: string[] = [];
  for (const rule of Object.values(e.template.Rules ?? {}) as any[]) {
    if (rule.RuleCondition !== undefined && !evaluate(rule.RuleCondition, e)) {
      continue;
    }
    for (const a of rule.Assertions) {
      if (!evaluate(a.Assert, e)) {
        failures.push(a.AssertDescription);
      }
    }
  }
  return failures;
}
