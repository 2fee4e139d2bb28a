import { MANAGED_POLICY_ACTIONS } from '../../../lib/org/launch-role-policy';
import { RequestPrincipal } from '../../support/iam-eval';
import { Evaluation, parameterValues, resolved } from './cfn-eval';

/**
 * The org template as one stack of it in an account: its parameters, pseudo
 * parameters and the names and ARNs CloudFormation gives its roles and
 * buckets (STACK-LogicalId-SUFFIX, the bucket's in lower case; a role's ARN
 * with the path the template gives it), so that its policies can be read as
 * IAM reads them there.
 */
export interface StackInAccount extends Evaluation {
  readonly account: string;
  readonly stackName: string;
}

export function stackInAccount(template: any, where: { account: string; region: string; stackName: string; parameters?: Record<string, string> }): StackInAccount {
  const parameters: Record<string, string> = {
    ...parameterValues(template, where.parameters),
    'AWS::AccountId': where.account,
    'AWS::Partition': 'aws',
    'AWS::StackName': where.stackName,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const attributes: Record<string, string> = {};
  const base: Evaluation = { template, parameters, region: where.region, attributes };
  for (const [id, r] of Object.entries(template.Resources as Record<string, any>)) {
    if (r.Type === 'AWS::IAM::Role') {
      const name = `${where.stackName}-${id.slice(0, 20)}-1A2B3C4D5E6F`;
      const path = r.Properties.Path === undefined ? '/' : resolved(r.Properties.Path, base);
      parameters[id] = name;
      attributes[`${id}.Arn`] = `arn:aws:iam::${where.account}:role${typeof path === 'string' ? path : '/'}${name}`;
    }
    if (r.Type === 'AWS::S3::Bucket') {
      const name = `${where.stackName}-${id}`.toLowerCase().slice(0, 50) + '-1a2b3c4d5e6f';
      parameters[id] = name;
      attributes[`${id}.Arn`] = `arn:aws:s3:::${name}`;
    }
  }
  return { ...base, account: where.account, stackName: where.stackName };
}

/** The principal a role of the template is in a request it makes. */
export function rolePrincipal(s: StackInAccount, roleId: string): RequestPrincipal {
  return { arn: s.attributes![`${roleId}.Arn`], account: s.account };
}

/**
 * The statements of a role's identity policies, resolved: its inline
 * policies, the template's AWS::IAM::Policy resources attached to it, and its
 * AWS managed policies (as the actions MANAGED_POLICY_ACTIONS lists for them, on
 * any resource).
 */
export function roleIdentityStatements(s: StackInAccount, roleId: string): any[] {
  const resources = s.template.Resources as Record<string, any>;
  const role = resources[roleId];
  const inline = (role.Properties.Policies ?? []).flatMap((p: any) => resolved(p.PolicyDocument, s).Statement);
  const attached = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles ?? []).some((ref: any) => ref.Ref === roleId))
    .flatMap((r) => resolved(r.Properties.PolicyDocument, s).Statement);
  const managed = (role.Properties.ManagedPolicyArns ?? []).map((arn: any) => {
    const name = /:iam::aws:policy\/(.+)$/.exec(String(resolved(arn, s)))?.[1];
    if (name === undefined || MANAGED_POLICY_ACTIONS[name] === undefined) throw new Error(`${roleId}: managed policy ${JSON.stringify(arn)} is not listed`);
    return { Effect: 'Allow', Action: [...MANAGED_POLICY_ACTIONS[name]], Resource: '*' };
  });
  return [...inline, ...attached, ...managed];
}
