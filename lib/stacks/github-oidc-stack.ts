import { CfnOutput, Duration, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { nagArn } from '../constructs/nag-findings';

/** The issuer of GitHub Actions' OIDC tokens (one IAM provider per account). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience aws-actions/configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The GitHub environment whose jobs (the example workflow's deploy-prod) may deploy. */
export const PRODUCTION_ENVIRONMENT = 'production';
/** The CDK bootstrap qualifier `cdk bootstrap` uses unless told otherwise. */
export const DEFAULT_CDK_QUALIFIER = 'hnb659fds';
/** The API key parameters live under this path unless a configuration names another. */
export const API_KEY_PARAMETER_PATH = '/graviton-llm/';

/**
 * How long a deploy job's credentials last (the workflow asks for this much). `cdk deploy` waits
 * for CloudFormation, and a rolling update replaces instances one by one, each allowed
 * bootTimeoutMinutes to build and pass /health: with expired credentials the job would fail
 * while CloudFormation carried on.
 */
export const DEPLOY_SESSION_HOURS = 2;

/** The CDK bootstrap roles the deploy role may assume (the fifth, cfn-exec, is only CloudFormation's). */
const DEPLOY_BOOTSTRAP_ROLES = ['deploy', 'file-publishing', 'image-publishing', 'lookup'] as const;

export interface GitHubOidcStackProps extends StackProps {
  /**
   * The GitHub repository allowed to assume the roles, as `owner/name`.
   * Exact: no wildcards, so no other repository (a fork included) matches.
   */
  readonly repository: string;
  /**
   * The branch whose pushes may deploy (the example workflow's deploy-dev job).
   * @default 'main'
   */
  readonly deployBranch?: string;
  /**
   * ARN of an existing `token.actions.githubusercontent.com` OIDC provider.
   * An account holds one provider per URL, so a second repository's (or a
   * second region's) role stack must reuse the first one's:
   * `arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com`.
   * @default - this stack creates the provider
   */
  readonly existingProviderArn?: string;
  /**
   * Qualifier of the CDK bootstrap stack the app deploys through (`cdk bootstrap --qualifier`).
   * @default 'hnb659fds'
   */
  readonly cdkQualifier?: string;
  /**
   * Accounts the roles may deploy to and diff against, through those accounts' CDK bootstrap roles
   * in this stack's region. Each other account must be bootstrapped to trust this one:
   * `cdk bootstrap --trust THIS_ACCOUNT --trust-for-lookup THIS_ACCOUNT --cloudformation-execution-policies ...`.
   * The smoke test's API-key read stays in this account (a SecureString is not readable across accounts).
   * @default - this stack's account only
   */
  readonly targetAccounts?: string[];
}

/**
 * Roles for deploying the kit from GitHub Actions with OIDC, so the
 * repository holds no AWS keys:
 *
 * - plan role: assumable from pull_request jobs; may only assume the CDK
 *   bootstrap lookup role, which is all `cdk diff --method=template` uses.
 * - deploy role: assumable from pushes to the deploy branch and from jobs in
 *   the `production` environment; may assume the bootstrap deploy, publishing
 *   and lookup roles (CloudFormation does the deploying, through its own
 *   execution role), read the API keys under /graviton-llm/ for the smoke
 *   test, and describe stacks for their outputs.
 *
 * Both roles reach only the bootstrap roles of this stack's region, in this
 * stack's account or the given target accounts.
 */
export class GitHubOidcStack extends Stack {
  readonly provider: iam.IOidcProvider;
  readonly planRole: iam.Role;
  readonly deployRole: iam.Role;

  constructor(scope: Construct, id: string, props: GitHubOidcStackProps) {
    super(scope, id, props);
    const deployBranch = props.deployBranch ?? 'main';
    const qualifier = props.cdkQualifier ?? DEFAULT_CDK_QUALIFIER;
    const problems = [
      repositoryProblem('repository', props.repository),
      branchProblem('deployBranch', deployBranch),
      qualifierProblem('cdkQualifier', qualifier),
      props.existingProviderArn === undefined ? undefined : providerArnProblem('existingProviderArn', props.existingProviderArn),
      props.targetAccounts === undefined ? undefined : accountsProblem('targetAccounts', props.targetAccounts),
    ].filter((p): p is ConfigProblem => p !== undefined);
    if (problems.length > 0) throw new ConfigError(problems);

    // OidcProviderNative is the plain AWS::IAM::OIDCProvider resource: no custom-resource Lambda.
    // Without thumbprints IAM trusts GitHub's certificate through its own root CA library.
    this.provider = props.existingProviderArn
      ? iam.OidcProviderNative.fromOidcProviderArn(this, 'GitHubProvider', props.existingProviderArn)
      : new iam.OidcProviderNative(this, 'GitHubProvider', {
        url: `https://${GITHUB_OIDC_HOST}`,
        clientIds: [GITHUB_OIDC_AUDIENCE],
      });

    const accounts = props.targetAccounts ?? [this.account];
    const bootstrapRoleArns = (kind: string) => accounts.map((account) =>
      `arn:${this.partition}:iam::${account}:role/cdk-${qualifier}-${kind}-role-${account}-${this.region}`);

    this.planRole = new iam.Role(this, 'PlanRole', {
      description: `GitHub Actions pull_request jobs of ${props.repository}: cdk diff through the CDK lookup role`,
      assumedBy: new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE },
        StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: `repo:${props.repository}:pull_request` },
      }),
    });
    // Only the lookup role: `cdk diff` reads the deployed template with it. Its default method
    // (auto) would first try a change set, which needs the deploy and file-publishing roles; the
    // workflow runs `cdk diff --method=template` instead, so pull requests never get a role
    // that can write to the account (no change sets, no asset uploads).
    this.planRole.addToPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkLookupRole',
      actions: ['sts:AssumeRole'],
      resources: bootstrapRoleArns('lookup'),
    }));

    this.deployRole = new iam.Role(this, 'DeployRole', {
      maxSessionDuration: Duration.hours(DEPLOY_SESSION_HOURS),
      description: `GitHub Actions deploy jobs of ${props.repository} (${deployBranch}, environment ${PRODUCTION_ENVIRONMENT}): cdk deploy and smoke test`,
      assumedBy: new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          [`${GITHUB_OIDC_HOST}:sub`]: [
            `repo:${props.repository}:ref:refs/heads/${deployBranch}`,
            `repo:${props.repository}:environment:${PRODUCTION_ENVIRONMENT}`,
          ],
        },
      }),
    });
    // The bootstrap roles by name rather than `cdk-QUALIFIER-*-role-...`: the wildcard would also
    // name the cfn-exec role (whose trust policy admits only CloudFormation anyway).
    this.deployRole.addToPolicy(new iam.PolicyStatement({
      sid: 'AssumeCdkBootstrapRoles',
      actions: ['sts:AssumeRole'],
      resources: DEPLOY_BOOTSTRAP_ROLES.flatMap(bootstrapRoleArns),
    }));
    const apiKeyParameters = this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `${API_KEY_PARAMETER_PATH.slice(1)}*` });
    this.deployRole.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadApiKeysForSmokeTest',
      actions: ['ssm:GetParameter'],
      resources: [apiKeyParameters],
    }));
    const stacks = this.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: '*' });
    this.deployRole.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadStackOutputs',
      actions: ['cloudformation:DescribeStacks'],
      resources: [stacks],
    }));
    Validations.of(this.deployRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArn(this, 'ssm', `parameter${API_KEY_PARAMETER_PATH}*`)}]`,
      reason: 'The smoke test reads the API key of whichever environment the job deployed; every kit stack keeps it under /graviton-llm/STACKNAME/ by default, and the stack names come from the environment files. The SecureString stays encrypted with the account\'s aws/ssm key.',
    });
    Validations.of(this.deployRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArn(this, 'cloudformation', 'stack/*')}]`,
      reason: 'DescribeStacks only reads stack status and outputs (EndpointUrl, ApiKeyParameterName) in this account and region; the stack names come from the environment files, and the CDK deploy role this role may assume can already describe every stack.',
    });

    new CfnOutput(this, 'PlanRoleArn', {
      value: this.planRole.roleArn,
      description: 'Repository variable GLLM_PLAN_ROLE_ARN: the role pull_request jobs assume for cdk diff',
    });
    new CfnOutput(this, 'DeployRoleArn', {
      value: this.deployRole.roleArn,
      description: 'Repository variable GLLM_DEPLOY_ROLE_ARN: the role deploy jobs assume for cdk deploy and the smoke test',
    });
  }
}

// The checks below return a problem naming the field (as the caller calls it: the stack's prop,
// or the app's context key), the value and the expected form, or undefined when the value is fine.

/** A GitHub owner (user or organization: letters, digits, hyphens) and repository name (also `.` and `_`). */
const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;

export function repositoryProblem(field: string, value: unknown): ConfigProblem | undefined {
  if (typeof value === 'string' && REPOSITORY.test(value)) return undefined;
  return {
    field,
    given: value,
    expected: 'expected a GitHub repository as owner/name, e.g. octo-org/graviton-llm (letters, digits and hyphens in the owner; letters, digits, ".", "_" and "-" in the name; no spaces or wildcards)',
  };
}

export function branchProblem(field: string, value: unknown): ConfigProblem | undefined {
  // A git branch name without the refs/heads/ prefix; wildcards would widen the trust policy.
  const ok = typeof value === 'string' && /^[A-Za-z0-9._/-]{1,200}$/.test(value)
    && !value.startsWith('refs/') && !value.startsWith('/') && !value.endsWith('/') && !value.includes('..') && !value.includes('//');
  if (ok) return undefined;
  return { field, given: value, expected: 'expected a branch name such as main or release/v1 (without refs/heads/; letters, digits, ".", "_", "-" and "/"; no spaces or wildcards)' };
}

export function qualifierProblem(field: string, value: unknown): ConfigProblem | undefined {
  if (typeof value === 'string' && /^[A-Za-z0-9_-]{1,10}$/.test(value)) return undefined;
  return { field, given: value, expected: `expected the CDK bootstrap qualifier (cdk bootstrap --qualifier): 1 to 10 letters, digits, "_" or "-"; the default is ${DEFAULT_CDK_QUALIFIER}` };
}

export function accountsProblem(field: string, value: unknown): ConfigProblem | undefined {
  const ok = Array.isArray(value) && value.length > 0 && value.every((a) => typeof a === 'string' && (/^\d{12}$/.test(a) || Token.isUnresolved(a)));
  if (ok) return undefined;
  return { field, given: value, expected: 'expected one or more 12-digit AWS account ids' };
}

export function providerArnProblem(field: string, value: unknown): ConfigProblem | undefined {
  if (typeof value === 'string' && Token.isUnresolved(value)) return undefined;
  if (typeof value === 'string' && new RegExp(`^arn:aws[a-z-]*:iam::\\d{12}:oidc-provider/${GITHUB_OIDC_HOST.replace(/\./g, '\\.')}$`).test(value)) return undefined;
  return { field, given: value, expected: `expected the ARN of the account's GitHub OIDC provider: arn:aws:iam::ACCOUNT:oidc-provider/${GITHUB_OIDC_HOST}` };
}
