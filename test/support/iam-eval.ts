/**
 * Just enough of IAM's policy evaluation to ask a synthesized policy the
 * questions AWS would: is this action on this resource, with these request
 * context keys, allowed (an Allow matches and no Deny does)? Action and
 * Resource (and NotAction/NotResource) with `*` and `?`, the condition
 * operators the kit's policies use, IfExists, ForAnyValue/ForAllValues, and
 * policy variables (`${aws:PrincipalAccount}`) in condition values. `decide`
 * does not evaluate principals: callers pick the statements of one policy.
 * `decideResourcePolicy` does, for a resource-based policy; `decideSameAccount`
 * and `decideKms` combine a role's identity policies, its permissions boundary
 * and the resource's policy as IAM and AWS KMS document it. Templates'
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

/** Who makes a request, for the Principal element of a resource-based policy. */
export interface RequestPrincipal {
  /** The ARN a Principal element names it by: a role's ARN, with its path (not the session's). */
  readonly arn: string;
  /** Its account: a Principal naming the account (`arn:aws:iam::ACCOUNT:root`, or the bare id) names every principal of it. */
  readonly account: string;
}

/**
 * What one resource-based policy says of a request by a principal: an explicit
 * deny; an allow that names the principal itself (or `*`); an allow that names
 * only its account, which grants nothing by itself but leaves the decision to
 * the account's IAM policies (a KMS key policy's root statement,
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam);
 * or nothing.
 */
export type ResourcePolicyDecision = 'deny' | 'allow' | 'account' | 'implicit-deny';

export function decideResourcePolicy(statements: any[], request: IamRequest, principal: RequestPrincipal): ResourcePolicyDecision {
  let decision: ResourcePolicyDecision = 'implicit-deny';
  for (const st of statements) {
    const named = principalNamed(st, principal);
    if (named === undefined || !statementMatches(st, request)) continue;
    if (st.Effect === 'Deny') return 'deny';
    if (st.Effect === 'Allow' && (named === 'itself' || decision === 'implicit-deny')) decision = named === 'itself' ? 'allow' : 'account';
  }
  return decision;
}

/** Whether a statement's Principal names the principal itself, only its account, or not at all. */
function principalNamed(st: any, principal: RequestPrincipal): 'itself' | 'account' | undefined {
  if (st.NotPrincipal !== undefined) throw new Error('NotPrincipal is not evaluated here');
  const p = st.Principal;
  if (p === '*') return 'itself';
  const aws = (p?.AWS === undefined ? [] : [p.AWS].flat()).map(String);
  if (aws.includes('*') || aws.includes(principal.arn)) return 'itself';
  if (aws.some((a) => a === principal.account || new RegExp(`^arn:[\\w-]+:iam::${principal.account}:root$`).test(a))) return 'account';
  return undefined;
}

/** A role's policies: its identity policies (inline, attached) and its permissions boundary, if it has one. */
export interface RolePolicies {
  readonly identity: any[];
  readonly boundary?: any[];
}

/**
 * IAM's decision for a request a role makes on a resource of its own account,
 * with the resource's policy if it has one
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit deny in any of the policies denies; otherwise the request is
 * allowed by the identity policies or by a resource-based policy, and in either
 * case only within the permissions boundary. A resource-based policy that names
 * the role's ARN (as the template's bucket policies do) is still limited by the
 * boundary: "Resource-based policies that grant permissions to an IAM role ARN
 * are limited by an implicit deny in a permissions boundary or session policy"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
 * "Evaluating effective permissions with boundaries"). Only one that names the
 * role's session ARN escapes it; the template names none.
 */
export function decideSameAccount(role: RolePolicies, resourcePolicy: any[] | undefined, given: IamRequest, principal: RequestPrincipal): Decision {
  const request = withPrincipalKeys(given, principal);
  const identity = decide(role.identity, request);
  const boundary = role.boundary === undefined ? 'allow' : decide(role.boundary, request);
  const resource = resourcePolicy === undefined ? 'implicit-deny' : decideResourcePolicy(resourcePolicy, request, principal);
  if (identity === 'deny' || boundary === 'deny' || resource === 'deny') return 'deny';
  if (boundary !== 'allow') return 'implicit-deny';
  return identity === 'allow' || resource === 'allow' ? 'allow' : 'implicit-deny';
}

/**
 * AWS KMS's decision for a request on a key
 * (https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html):
 * the key policy is required. It allows the principal itself, and then no IAM
 * policy is needed ("If the key policy ... allows the principal ... you do not
 * need IAM policies"), or it allows the account (the default root statement),
 * and then the principal's IAM policies must allow too. Any explicit deny
 * denies; the boundary limits both, as for any resource-based policy above.
 */
export function decideKms(role: RolePolicies, keyPolicy: any[], given: IamRequest, principal: RequestPrincipal): Decision {
  const request = withPrincipalKeys(given, principal);
  const key = decideResourcePolicy(keyPolicy, request, principal);
  const identity = decide(role.identity, request);
  const boundary = role.boundary === undefined ? 'allow' : decide(role.boundary, request);
  if (key === 'deny' || identity === 'deny' || boundary === 'deny') return 'deny';
  if (boundary !== 'allow') return 'implicit-deny';
  if (key === 'allow') return 'allow';
  return key === 'account' && identity === 'allow' ? 'allow' : 'implicit-deny';
}

/** The keys IAM puts in every request's context: the principal's ARN (a role's, not its session's) and account. */
function withPrincipalKeys(request: IamRequest, principal: RequestPrincipal): IamRequest {
  return { ...request, context: { 'aws:PrincipalArn': principal.arn, 'aws:PrincipalAccount': principal.account, ...request.context } };
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
