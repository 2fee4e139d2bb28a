import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface SmokeTestAccessProps {
  /** Account whose principals (the pipeline's smoke-test step) may assume the role. */
  readonly trustedAccount: string;
  /** ARN of the API key's SSM parameter: the one thing the role may read. */
  readonly apiKeyParameterArn: string;
  /** The role's name, fixed so that the pipeline can grant its step this one role before it exists (see smokeTestRoleName). */
  readonly roleName: string;
}

/** The smoke-test role's name for a stack: fixed, so the pipeline's grant names exactly this role. */
export const smokeTestRoleName = (stackName: string): string => `${stackName}-smoke-test`.slice(0, 64);

/**
 * A role the pipeline's smoke test assumes to read this endpoint's API key.
 * The pipeline runs in its own account, and an SSM SecureString cannot be
 * shared across accounts; the role trusts that account and reads only the key.
 */
export class SmokeTestAccess extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: SmokeTestAccessProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      // The trusted account still has to grant sts:AssumeRole on this ARN: the pipeline grants it to its smoke-test step only.
      roleName: props.roleName,
      assumedBy: new iam.AccountPrincipal(props.trustedAccount),
      description: 'graviton-llm: the pipeline\'s post-deploy smoke test reads the API key',
    });
    this.role.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [props.apiKeyParameterArn] }));
  }
}
