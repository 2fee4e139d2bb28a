import { CfnOutput, Duration, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { nagArn } from '../constructs/nag-findings';

/** The issuer of GitHub Actions' OIDC tokens (one IAM provider per account). */
export const GITHUB_OIDC_HOST = 'token.actions.githubusercontent.com';
/** The audience aws-actions/configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';
/** The GitHub environment whose jobs (the example workflow's deploy-prod) may deploy, unless told otherwise. */
export const PRODUCTION_ENVIRONMENT = 'production';
/** Where the example workflow is copied to (docs/github-actions.md), unless told otherwise. */
export const DEFAULT_WORKFLOW_PATH = '.github/workflows/graviton-llm.yml';
/** The stacks `cdk diff` compares unless told otherwise: the default stack and the environments' (GravitonLlm-ENV). */
export const DEFAULT_DIFF_STACK_NAMES: readonly string[] = ['GravitonLlm', 'GravitonLlm-*'];
/**
 * The claims the repository's OIDC subject must be customized to include, in this order
 * (`PUT /repos/OWNER/NAME/actions/oidc/customization/sub`). IAM can test only the subject
 * (and audience) of GitHub's token, so the workflow file can be required only through it.
 */
export const SUBJECT_CLAIM_KEYS: readonly string[] = ['repo', 'context', 'job_workflow_ref'];
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

/**
 * What `cdk diff --method=template` calls when it cannot assume the bootstrap roles and falls back
 * to the job's own credentials (the CLI warns and carries on for credentials of the stack's account):
 * DescribeStacks and GetTemplate on each stack it compares.
 */
export const DIFF_ACTIONS: readonly string[] = ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'];

/**
 * The OIDC subject of a job of `repository` once its subject is customized to SUBJECT_CLAIM_KEYS:
 * `repo:OWNER/NAME:CONTEXT:job_workflow_ref:OWNER/NAME/PATH@REF`, where CONTEXT is what the default
 * subject says after the repository (`ref:refs/heads/main`, `environment:production`, `pull_request`).
 */
export function customizedSubject(repository: string, context: string, workflowPath: string, workflowRef: string): string {
  return `repo:${repository}:${context}:job_workflow_ref:${repository}/${workflowPath}@${workflowRef}`;
}

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
   * The workflow file, in the repository, whose jobs may assume the roles. The roles trust only
   * subjects that name it (`job_workflow_ref`), which GitHub writes only once the repository's OIDC
   * subject is customized to include `repo`, `context` and `job_workflow_ref`.
   * @default '.github/workflows/graviton-llm.yml'
   */
  readonly workflowPath?: string;
  /**
   * The GitHub environment (with required reviewers, limited to the deploy branch) whose jobs of the
   * workflow, run from the deploy branch, may deploy (the example workflow's deploy-prod).
   * @default 'production'
   */
  readonly productionEnvironment?: string;
  /**
   * Names of the stacks the plan role may read for `cdk diff`, in this stack's account and region;
   * a name may end in `*`.
   * @default ['GravitonLlm', 'GravitonLlm-*']: the default stack and the environments' stacks
   */
  readonly diffStackNames?: string[];
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
   * Accounts the deploy role may deploy to, through those accounts' CDK bootstrap roles in this
   * stack's region (the plan role reads stacks in this stack's account only). Each other account must be bootstrapped to trust this one:
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
 * - plan role: assumable from the workflow's pull_request jobs, which run the
 *   pull request's code; may only read the app's stacks and their templates
 *   (what `cdk diff --method=template` reads), and assume no role at all.
 * - deploy role: assumable only from jobs of the workflow file run from the
 *   deploy branch, either pushes (deploy-dev) or jobs in the production
 *   environment (deploy-prod); may assume the bootstrap deploy, publishing
 *   and lookup roles (CloudFormation does the deploying, through its own
 *   execution role), read the API keys under /graviton-llm/ for the smoke
 *   test, and describe stacks for their outputs.
 *
 * The trust policies match the repository's customized OIDC subject
 * (SUBJECT_CLAIM_KEYS), which names the workflow file; with GitHub's default
 * subject no job can assume either role.
 */
export class GitHubOidcStack extends Stack {
  readonly provider: iam.IOidcProvider;
  readonly planRole: iam.Role;
  readonly deployRole: iam.Role;

  constructor(scope: Construct, id: string, props: GitHubOidcStackProps) {
    super(scope, id, props);
    const deployBranch = props.deployBranch ?? 'main';
    const qualifier = props.cdkQualifier ?? DEFAULT_CDK_QUALIFIER;
    const workflowPath = props.workflowPath ?? DEFAULT_WORKFLOW_PATH;
    const environment = props.productionEnvironment ?? PRODUCTION_ENVIRONMENT;
    const diffStackNames = props.diffStackNames ?? [...DEFAULT_DIFF_STACK_NAMES];
    const problems = [
      repositoryProblem('repository', props.repository),
      branchProblem('deployBranch', deployBranch),
      workflowPathProblem('workflowPath', workflowPath),
      environmentProblem('productionEnvironment', environment),
      stackNamesProblem('diffStackNames', diffStackNames),
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

    const subject = (context: string, workflowRef: string) => customizedSubject(props.repository, context, workflowPath, workflowRef);

    this.planRole = new iam.Role(this, 'PlanRole', {
      description: `GitHub Actions pull_request jobs of ${props.repository} (${workflowPath}): cdk diff, reading the app's stacks`,
      assumedBy: new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE },
        // A pull_request job's workflow ref is the pull request's merge ref; the number is the wildcard.
        StringLike: { [`${GITHUB_OIDC_HOST}:sub`]: subject('pull_request', 'refs/pull/*/merge') },
      }),
    });
    // A pull_request job runs the pull request's code, so the role holds only what `cdk diff
    // --method=template` reads, and no sts:AssumeRole: the CDK lookup role it would otherwise use
    // has ReadOnlyAccess on the whole account. The CLI tries the lookup and deploy roles, warns,
    // and falls back to these credentials.
    this.planRole.addToPolicy(new iam.PolicyStatement({
      sid: 'ReadAppStacks',
      actions: [...DIFF_ACTIONS],
      resources: diffStackNames.map((name) => this.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${name}/*` })),
    }));

    this.deployRole = new iam.Role(this, 'DeployRole', {
      maxSessionDuration: Duration.hours(DEPLOY_SESSION_HOURS),
      description: `GitHub Actions deploy jobs of ${props.repository} (${workflowPath} on ${deployBranch}, environment ${environment}): cdk deploy and smoke test`,
      assumedBy: new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE,
          // Both subjects name the workflow file as committed on the deploy branch: a job of
          // another workflow, or of this one on another branch, matches neither.
          [`${GITHUB_OIDC_HOST}:sub`]: [
            subject(`ref:refs/heads/${deployBranch}`, `refs/heads/${deployBranch}`),
            subject(`environment:${environment}`, `refs/heads/${deployBranch}`),
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
    for (const name of diffStackNames) {
      Validations.of(this.planRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArn(this, 'cloudformation', `stack/${name}/*`)}]`,
        reason: `Read-only (DescribeStacks, GetTemplate) on the stacks named ${name}, which this repository's workflow diffs; a stack ARN ends in the stack's id, which changes each time the stack is created.`,
      });
    }
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

export function workflowPathProblem(field: string, value: unknown): ConfigProblem | undefined {
  if (typeof value === 'string' && /^\.github\/workflows\/[A-Za-z0-9._-]+\.ya?ml$/.test(value)) return undefined;
  return { field, given: value, expected: `expected the workflow file's path in the repository, such as ${DEFAULT_WORKFLOW_PATH} (.github/workflows/NAME.yml or .yaml; letters, digits, ".", "_" and "-"; no wildcards)` };
}

export function environmentProblem(field: string, value: unknown): ConfigProblem | undefined {
  // Part of the trusted subject: a wildcard or a ":" would let it match other subjects.
  if (typeof value === 'string' && /^[A-Za-z0-9._-]{1,255}$/.test(value)) return undefined;
  return { field, given: value, expected: `expected a GitHub environment name such as ${PRODUCTION_ENVIRONMENT} (letters, digits, ".", "_" and "-"; no spaces, ":" or wildcards)` };
}

export function stackNamesProblem(field: string, value: unknown): ConfigProblem | undefined {
  const ok = Array.isArray(value) && value.length > 0
    && value.every((n) => typeof n === 'string' && n !== '*' && /^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(n.endsWith('*') ? `${n.slice(0, -1)}a` : n));
  if (ok) return undefined;
  return { field, given: value, expected: 'expected one or more CloudFormation stack names (a letter, then letters, digits or hyphens), each optionally ending in * (e.g. GravitonLlm-*)' };
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
