import { App } from 'aws-cdk-lib';
import { ConfigError, ConfigProblem } from '../config/config-error';
import {
  accountsProblem, branchProblem, environmentProblem, GitHubOidcStack, providerArnProblem, qualifierProblem, repositoryProblem,
  stackNamesProblem, workflowPathProblem,
} from '../stacks/github-oidc-stack';
import { DEFAULT_REGION, KitEntry, MODE_KEY } from './kit-entry';

/** Name of the stack holding the GitHub Actions roles. */
export const GITHUB_OIDC_STACK_NAME = 'GravitonLlmGitHubOidc';

/** The context keys (`-c KEY=VALUE`) the GitHub OIDC stack reads. */
export const GITHUB_OIDC_CONTEXT = {
  repository: 'githubRepository',
  deployBranch: 'githubDeployBranch',
  workflowPath: 'githubWorkflowPath',
  productionEnvironment: 'githubProductionEnvironment',
  diffStackNames: 'githubDiffStacks',
  existingProviderArn: 'githubOidcProviderArn',
  cdkQualifier: 'cdkQualifier',
  targetAccounts: 'githubTargetAccounts',
} as const;

/** The GitHub Actions OIDC roles (bin/github-oidc.ts, or `-c mode=github-oidc`). */
export const GITHUB_OIDC_ENTRY: KitEntry<'github-oidc'> = {
  mode: 'github-oidc',
  deploys: 'the GitHub Actions OIDC roles',
  bin: 'bin/github-oidc.ts',
  context: { keys: [MODE_KEY, ...Object.values(GITHUB_OIDC_CONTEXT)], configurationFields: false },
  build: (app) => [addGitHubOidcStack(app)],
};

/**
 * Adds the GitHub Actions OIDC roles stack, reading
 * `-c githubRepository=owner/name` (required), `-c githubDeployBranch=`,
 * `-c githubWorkflowPath=`, `-c githubProductionEnvironment=`, `-c githubDiffStacks=`
 * (comma-separated stack names), `-c githubOidcProviderArn=`, `-c cdkQualifier=` and
 * `-c githubTargetAccounts=` (comma-separated account ids). An empty optional value counts as not given,
 * so a script may pass an unset variable.
 */
export function addGitHubOidcStack(app: App): GitHubOidcStack {
  const read = (key: string): unknown => {
    const v: unknown = app.node.tryGetContext(key);
    return v === '' ? undefined : v;
  };
  const repository = read(GITHUB_OIDC_CONTEXT.repository);
  const deployBranch = read(GITHUB_OIDC_CONTEXT.deployBranch);
  const workflowPath = read(GITHUB_OIDC_CONTEXT.workflowPath);
  const productionEnvironment = read(GITHUB_OIDC_CONTEXT.productionEnvironment);
  const stacksGiven = read(GITHUB_OIDC_CONTEXT.diffStackNames);
  const diffStackNames = typeof stacksGiven === 'string' ? stacksGiven.split(',').map((n) => n.trim()) : stacksGiven;
  const existingProviderArn = read(GITHUB_OIDC_CONTEXT.existingProviderArn);
  const cdkQualifier = read(GITHUB_OIDC_CONTEXT.cdkQualifier);
  const accountsGiven = read(GITHUB_OIDC_CONTEXT.targetAccounts);
  const targetAccounts = typeof accountsGiven === 'string' ? accountsGiven.split(',').map((a) => a.trim()) : accountsGiven;

  const problems: (ConfigProblem | undefined)[] = [
    repository === undefined
      ? { field: GITHUB_OIDC_CONTEXT.repository, expected: 'the GitHub repository whose workflows may assume the roles is required: pass -c githubRepository=owner/name' }
      : withHint(repositoryProblem(GITHUB_OIDC_CONTEXT.repository, repository), '-c githubRepository=owner/name'),
    deployBranch === undefined ? undefined : withHint(branchProblem(GITHUB_OIDC_CONTEXT.deployBranch, deployBranch), '-c githubDeployBranch=main'),
    workflowPath === undefined ? undefined
      : withHint(workflowPathProblem(GITHUB_OIDC_CONTEXT.workflowPath, workflowPath), '-c githubWorkflowPath=.github/workflows/graviton-llm.yml'),
    productionEnvironment === undefined ? undefined
      : withHint(environmentProblem(GITHUB_OIDC_CONTEXT.productionEnvironment, productionEnvironment), '-c githubProductionEnvironment=production'),
    diffStackNames === undefined ? undefined
      : withHint(stackNamesProblem(GITHUB_OIDC_CONTEXT.diffStackNames, diffStackNames), '-c githubDiffStacks=GravitonLlm-dev,GravitonLlm-prod'),
    existingProviderArn === undefined ? undefined : providerArnProblem(GITHUB_OIDC_CONTEXT.existingProviderArn, existingProviderArn),
    cdkQualifier === undefined ? undefined : qualifierProblem(GITHUB_OIDC_CONTEXT.cdkQualifier, cdkQualifier),
    targetAccounts === undefined ? undefined
      : withHint(accountsProblem(GITHUB_OIDC_CONTEXT.targetAccounts, targetAccounts), '-c githubTargetAccounts=111111111111,222222222222'),
  ];
  const found = problems.filter((p): p is ConfigProblem => p !== undefined);
  if (found.length > 0) throw new ConfigError(found);

  return new GitHubOidcStack(app, GITHUB_OIDC_STACK_NAME, {
    repository: repository as string,
    deployBranch: deployBranch as string | undefined,
    workflowPath: workflowPath as string | undefined,
    productionEnvironment: productionEnvironment as string | undefined,
    diffStackNames: diffStackNames as string[] | undefined,
    existingProviderArn: existingProviderArn as string | undefined,
    cdkQualifier: cdkQualifier as string | undefined,
    targetAccounts: targetAccounts as string[] | undefined,
    description: `graviton-llm: GitHub Actions OIDC roles for ${repository as string}`,
    // The bootstrap role ARNs the roles may assume name a concrete region.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION ?? DEFAULT_REGION },
  });
}

function withHint(problem: ConfigProblem | undefined, example: string): ConfigProblem | undefined {
  return problem && { ...problem, expected: `${problem.expected}; pass ${example}` };
}
