import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Token, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as yaml from 'js-yaml';
import { registerChecks } from '../../lib/app/checks';
import { addGitHubOidcStack, GITHUB_OIDC_STACK_NAME } from '../../lib/app/github-oidc-app';
import { ConfigError } from '../../lib/config/config-error';
import { GitHubOidcStack, GitHubOidcStackProps } from '../../lib/stacks/github-oidc-stack';
import { allows, resolveIntrinsics } from '../support/iam-eval';
import { cdkJsonContext } from '../support/synth';

const REPO = 'octo-org/graviton-llm';
const HOST = 'token.actions.githubusercontent.com';
const PROVIDER_ARN = `arn:aws:iam::123456789012:oidc-provider/${HOST}`;
const ACCOUNT = '123456789012';
const WORKFLOW = '.github/workflows/graviton-llm.yml';

/** The subject GitHub writes once the repository's subject includes repo, context and job_workflow_ref. */
const sub = (context: string, ref: string, workflow = WORKFLOW, repo = REPO) => `repo:${repo}:${context}:job_workflow_ref:${repo}/${workflow}@${ref}`;

interface Synthesized {
  readonly app: App;
  readonly stack: GitHubOidcStack;
  readonly template: Template;
  readonly outdir: string;
}

/** Synthesizes the app as bin/github-oidc.ts does, with cdk-nag and CloudFormation Validate attached. */
function synthApp(context: Record<string, unknown>): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-oidc-'));
  const app = new App({ context: { ...cdkJsonContext(), ...context }, outdir });
  registerChecks(app);
  const stack = addGitHubOidcStack(app);
  app.synth();
  return { app, stack, template: Template.fromStack(stack), outdir };
}

function newStack(props: Partial<GitHubOidcStackProps>): GitHubOidcStack {
  const app = new App({ context: cdkJsonContext() });
  return new GitHubOidcStack(app, 'Oidc', { repository: REPO, env: { region: 'us-east-1' }, ...props });
}

function statementsOf(template: Template, roleIdPrefix: string): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleIdPrefix))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

/** Whether a role's trust policy admits a web-identity token with this subject (and the STS audience). */
function trusts(template: Template, roleIdPrefix: string, subject: string, aud = 'sts.amazonaws.com'): boolean {
  return allows(trustOf(template, roleIdPrefix), {
    action: 'sts:AssumeRoleWithWebIdentity',
    context: { [`${HOST}:sub`]: subject, [`${HOST}:aud`]: aud },
  });
}

/** Whether a role's policies allow the action on the resource, with the stack in ACCOUNT and us-east-1. */
function roleMay(template: Template, roleIdPrefix: string, action: string, resource: string): boolean {
  return allows(resolveIntrinsics(statementsOf(template, roleIdPrefix), { account: ACCOUNT, region: 'us-east-1' }), { action, resource });
}

function trustOf(template: Template, roleIdPrefix: string): any[] {
  const [role] = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) => id.startsWith(roleIdPrefix)).map(([, r]) => r);
  return role.Properties.AssumeRolePolicyDocument.Statement;
}

/** A bootstrap role's ARN as the template writes it: with the stack's unresolved account, or a given one. */
function bootstrapRole(kind: string, qualifier = 'hnb659fds', account?: string): unknown {
  if (account) return `arn:aws:iam::${account}:role/cdk-${qualifier}-${kind}-role-${account}-us-east-1`;
  return { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, `:role/cdk-${qualifier}-${kind}-role-`, { Ref: 'AWS::AccountId' }, '-us-east-1']] };
}

function expectConfigError(fn: () => unknown, field: string, given: unknown): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect(err.fields).toContain(field);
  expect(err.message).toContain(`${field}: `);
  expect(err.message).toContain(given === undefined ? 'nothing was given' : JSON.stringify(given));
  return err;
}

describe('GitHub OIDC stack (default props, as -c mode=github-oidc -c githubRepository=octo-org/graviton-llm)', () => {
  let s: Synthesized;
  beforeAll(() => {
    delete process.env.CDK_DEFAULT_REGION;
    delete process.env.CDK_DEFAULT_ACCOUNT;
    s = synthApp({ githubRepository: REPO });
  });

  test('stack name, and the region falls back to us-east-1 when the CLI names none', () => {
    expect(s.stack.stackName).toBe(GITHUB_OIDC_STACK_NAME);
    expect(s.stack.region).toBe('us-east-1');
  });

  test('creates the GitHub OIDC provider natively (no custom-resource Lambda) with the STS audience', () => {
    const t = s.template;
    t.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    t.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: `https://${HOST}`, ClientIdList: ['sts.amazonaws.com'] });
    t.resourceCountIs('AWS::Lambda::Function', 0);
    t.resourceCountIs('Custom::AWSCDKOpenIdConnectProvider', 0);
    t.resourceCountIs('AWS::IAM::Role', 2);
  });

  test('plan role trusts only pull_request jobs of the workflow file, by the customized subject', () => {
    const providerId = Object.keys(s.template.findResources('AWS::IAM::OIDCProvider'))[0];
    expect(trustOf(s.template, 'PlanRole')).toEqual([{
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: { Ref: providerId } },
      Condition: {
        StringEquals: { [`${HOST}:aud`]: 'sts.amazonaws.com' },
        StringLike: { [`${HOST}:sub`]: sub('pull_request', 'refs/pull/*/merge') },
      },
    }]);
    expect(trusts(s.template, 'PlanRole', sub('pull_request', 'refs/pull/42/merge'))).toBe(true);
    expect(trusts(s.template, 'PlanRole', sub('pull_request', 'refs/pull/42/merge'), 'https://github.com/octo-org')).toBe(false);
    for (const other of [
      `repo:${REPO}:pull_request`, // GitHub's default subject: the repository is not customized yet
      sub('pull_request', 'refs/pull/42/merge', '.github/workflows/other.yml'),
      sub('pull_request', 'refs/pull/42/merge', WORKFLOW, 'octo-org/graviton-llm-fork'),
      sub('ref:refs/heads/main', 'refs/heads/main'),
    ]) {
      expect([other, trusts(s.template, 'PlanRole', other)]).toEqual([other, false]);
    }
  });

  test('deploy role trusts only the workflow file on main: its pushes and its production-environment jobs; two-hour sessions', () => {
    const providerId = Object.keys(s.template.findResources('AWS::IAM::OIDCProvider'))[0];
    expect(trustOf(s.template, 'DeployRole')).toEqual([{
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: { Ref: providerId } },
      Condition: {
        StringEquals: {
          [`${HOST}:aud`]: 'sts.amazonaws.com',
          [`${HOST}:sub`]: [sub('ref:refs/heads/main', 'refs/heads/main'), sub('environment:production', 'refs/heads/main')],
        },
      },
    }]);
    expect(trusts(s.template, 'DeployRole', `repo:${REPO}:environment:production:job_workflow_ref:${REPO}/${WORKFLOW}@refs/heads/main`)).toBe(true);
    expect(trusts(s.template, 'DeployRole', sub('ref:refs/heads/main', 'refs/heads/main'))).toBe(true);
    for (const other of [
      // What the role trusted before: any workflow on main, any job naming the environment.
      `repo:${REPO}:ref:refs/heads/main`,
      `repo:${REPO}:environment:production`,
      sub('environment:production', 'refs/heads/main', '.github/workflows/other.yml'),
      sub('ref:refs/heads/main', 'refs/heads/main', '.github/workflows/other.yml'),
      sub('environment:production', 'refs/heads/feature'), // the workflow file as changed on another branch
      sub('environment:staging', 'refs/heads/main'),
      sub('pull_request', 'refs/pull/42/merge'),
      sub('environment:production', 'refs/heads/main', WORKFLOW, 'octo-org/other'),
    ]) {
      expect([other, trusts(s.template, 'DeployRole', other)]).toEqual([other, false]);
    }
    s.template.hasResourceProperties('AWS::IAM::Role', { Description: Match.stringLikeRegexp('deploy jobs'), MaxSessionDuration: 7200 });
  });

  test('plan role: DescribeStacks and GetTemplate on the app\'s stacks, no role to assume', () => {
    const account = { Ref: 'AWS::AccountId' };
    expect(statementsOf(s.template, 'PlanRole')).toEqual([{
      Sid: 'ReadAppStacks',
      Effect: 'Allow',
      Action: ['cloudformation:DescribeStacks', 'cloudformation:GetTemplate'],
      // (CDK sorts a statement's resources.)
      Resource: ['GravitonLlm-*', 'GravitonLlm'].map((n) => ({ 'Fn::Join': ['', ['arn:aws:cloudformation:us-east-1:', account, `:stack/${n}/*`]] })),
    }]);
    const stack = (name: string, account = ACCOUNT) => `arn:aws:cloudformation:us-east-1:${account}:stack/${name}/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab`;
    for (const name of ['GravitonLlm', 'GravitonLlm-dev', 'GravitonLlm-prod']) {
      expect(roleMay(s.template, 'PlanRole', 'cloudformation:GetTemplate', stack(name))).toBe(true);
      expect(roleMay(s.template, 'PlanRole', 'cloudformation:DescribeStacks', stack(name))).toBe(true);
    }
    expect(roleMay(s.template, 'PlanRole', 'cloudformation:GetTemplate', stack('Payroll'))).toBe(false);
    expect(roleMay(s.template, 'PlanRole', 'cloudformation:GetTemplate', stack('GravitonLlm-dev', '999999999999'))).toBe(false);
    for (const action of ['cloudformation:CreateChangeSet', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack']) {
      expect(roleMay(s.template, 'PlanRole', action, stack('GravitonLlm-dev'))).toBe(false);
    }
    // None of the CDK bootstrap roles: the lookup role alone has ReadOnlyAccess on the whole account.
    for (const kind of ['lookup', 'deploy', 'file-publishing', 'image-publishing', 'cfn-exec']) {
      const role = `arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-${kind}-role-${ACCOUNT}-us-east-1`;
      expect([kind, roleMay(s.template, 'PlanRole', 'sts:AssumeRole', role)]).toEqual([kind, false]);
    }
    const roles = s.template.findResources('AWS::IAM::Role');
    for (const role of Object.values(roles)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
  });

  test('deploy role: the bootstrap deploy, publishing and lookup roles by name, API keys under /graviton-llm/, DescribeStacks', () => {
    const account = { Ref: 'AWS::AccountId' };
    expect(statementsOf(s.template, 'DeployRole')).toEqual([
      {
        Sid: 'AssumeCdkBootstrapRoles',
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: ['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((k) => bootstrapRole(k)),
      },
      {
        Sid: 'ReadApiKeysForSmokeTest',
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: { 'Fn::Join': ['', ['arn:aws:ssm:us-east-1:', account, ':parameter/graviton-llm/*']] },
      },
      {
        Sid: 'ReadStackOutputs',
        Effect: 'Allow',
        Action: 'cloudformation:DescribeStacks',
        Resource: { 'Fn::Join': ['', ['arn:aws:cloudformation:us-east-1:', account, ':stack/*']] },
      },
    ]);
    // Never the CloudFormation execution role (AdministratorAccess by default).
    expect(JSON.stringify(s.template.toJSON())).not.toContain('cfn-exec');
  });

  test('the example workflow, copied to the default path: each job that signs in gets a subject its role trusts, and not the other role', () => {
    const workflow = yaml.safeLoad(fs.readFileSync(path.join(__dirname, '..', '..', 'examples', 'github-actions', 'graviton-llm.yml'), 'utf8')) as any;
    const signedIn = Object.entries(workflow.jobs as Record<string, any>)
      .map(([id, job]) => [id, job, job.steps.find((st: any) => st.uses?.startsWith('aws-actions/configure-aws-credentials@'))?.with['role-to-assume']])
      .filter(([, , role]) => role !== undefined);
    expect(signedIn.map(([id]) => id).sort()).toEqual(['deploy-dev', 'deploy-prod', 'diff']);
    for (const [id, job, roleVar] of signedIn) {
      // The subject GitHub writes for the job: its event (the job's condition), and its environment if it names one.
      const event = /github\.event_name == '([a-z_]+)'/.exec(job.if ?? '')?.[1] ?? 'push';
      const deployJob = workflow.jobs[job.needs]?.if ?? '';
      const onPush = event === 'push' || /github\.event_name == 'push'/.test(deployJob);
      const subject = job.environment
        ? sub(`environment:${job.environment}`, 'refs/heads/main')
        : onPush ? sub('ref:refs/heads/main', 'refs/heads/main') : sub('pull_request', 'refs/pull/42/merge');
      const [role, other] = roleVar.includes('GLLM_PLAN_ROLE_ARN') ? ['PlanRole', 'DeployRole'] : ['DeployRole', 'PlanRole'];
      expect([id, subject, trusts(s.template, role, subject)]).toEqual([id, subject, true]);
      expect([id, subject, trusts(s.template, other, subject)]).toEqual([id, subject, false]);
    }
  });

  test('outputs: PlanRoleArn and DeployRoleArn', () => {
    const t = s.template;
    const roleIds = Object.keys(t.findResources('AWS::IAM::Role'));
    const planId = roleIds.find((id) => id.startsWith('PlanRole'));
    const deployId = roleIds.find((id) => id.startsWith('DeployRole'));
    t.hasOutput('PlanRoleArn', { Value: { 'Fn::GetAtt': [planId, 'Arn'] } });
    t.hasOutput('DeployRoleArn', { Value: { 'Fn::GetAtt': [deployId, 'Arn'] } });
    expect(Object.keys(t.toJSON().Outputs).sort()).toEqual(['DeployRoleArn', 'PlanRoleArn']);
  });

  test('cdk-nag AwsSolutions and CloudFormation Validate: clean; only the granular IAM5 findings acknowledged, with reasons', () => {
    // app.synth() threw if any plugin reported an unacknowledged finding; the report lists what was acknowledged.
    const report = JSON.parse(fs.readFileSync(path.join(s.outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((p: any) => p.pluginName)).toContain('AwsSolutions');
    for (const plugin of report.pluginReports) {
      expect(plugin.violations).toEqual([]);
      expect(plugin.conclusion).toBe('success');
    }
    const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []);
    expect(acknowledged.map((v: any) => [v.acknowledgedAt, v.acknowledgedId]).sort()).toEqual([
      [`${GITHUB_OIDC_STACK_NAME}/DeployRole`, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:<AWS::AccountId>:stack/*]'],
      [`${GITHUB_OIDC_STACK_NAME}/DeployRole`, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ssm:us-east-1:<AWS::AccountId>:parameter/graviton-llm/*]'],
      [`${GITHUB_OIDC_STACK_NAME}/PlanRole`, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:<AWS::AccountId>:stack/GravitonLlm-*/*]'],
      [`${GITHUB_OIDC_STACK_NAME}/PlanRole`, 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:<AWS::AccountId>:stack/GravitonLlm/*]'],
    ]);
    for (const v of acknowledged) {
      expect(v.reason.length).toBeGreaterThan(40);
    }
  });
});

describe('GitHub OIDC stack options', () => {
  test('an existing provider: none created, both roles trust the given ARN', () => {
    const { template: t } = synthApp({ githubRepository: REPO, githubOidcProviderArn: PROVIDER_ARN });
    t.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    for (const role of ['PlanRole', 'DeployRole']) {
      expect(trustOf(t, role)[0].Principal).toEqual({ Federated: PROVIDER_ARN });
    }
  });

  test('deploy branch, workflow file, environment, diff stacks and CDK qualifier', () => {
    const { template: t } = synthApp({
      githubRepository: REPO,
      githubDeployBranch: 'release/v1',
      githubWorkflowPath: '.github/workflows/deploy.yaml',
      githubProductionEnvironment: 'prod-us',
      githubDiffStacks: 'Llm-dev, Llm-prod',
      cdkQualifier: 'gllm01',
    });
    const workflow = '.github/workflows/deploy.yaml';
    expect(trustOf(t, 'DeployRole')[0].Condition.StringEquals[`${HOST}:sub`])
      .toEqual([sub('ref:refs/heads/release/v1', 'refs/heads/release/v1', workflow), sub('environment:prod-us', 'refs/heads/release/v1', workflow)]);
    expect(trusts(t, 'DeployRole', sub('environment:production', 'refs/heads/release/v1', workflow))).toBe(false);
    expect(trusts(t, 'PlanRole', sub('pull_request', 'refs/pull/7/merge', workflow))).toBe(true);
    expect(trusts(t, 'PlanRole', sub('pull_request', 'refs/pull/7/merge'))).toBe(false);
    expect(JSON.stringify(statementsOf(t, 'PlanRole')[0].Resource)).toMatch(/stack\/Llm-dev\/\*.*stack\/Llm-prod\/\*/);
    expect(roleMay(t, 'PlanRole', 'cloudformation:GetTemplate', `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/GravitonLlm-dev/x`)).toBe(false);
    expect(statementsOf(t, 'DeployRole')[0].Resource).toEqual(['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((k) => bootstrapRole(k, 'gllm01')));
  });

  test('target accounts: the deploy role reaches the bootstrap roles of each account (and only those); the key read and the plan role stay home', () => {
    const { template: t } = synthApp({ githubRepository: REPO, githubTargetAccounts: '111111111111, 222222222222' });
    const accounts = ['111111111111', '222222222222'];
    expect(JSON.stringify(statementsOf(t, 'PlanRole'))).not.toMatch(/111111111111|222222222222|sts:/);
    expect([...statementsOf(t, 'DeployRole')[0].Resource].sort()).toEqual(
      ['deploy', 'file-publishing', 'image-publishing', 'lookup'].flatMap((k) => accounts.map((a) => bootstrapRole(k, 'hnb659fds', a))).sort(),
    );
    expect(JSON.stringify(statementsOf(t, 'DeployRole')[1].Resource)).toContain('{"Ref":"AWS::AccountId"}');
  });

  test('the CLI\'s account and region when it names them; empty optional context counts as not given', () => {
    process.env.CDK_DEFAULT_ACCOUNT = '123456789012';
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    try {
      const { stack, template: t } = synthApp({ githubRepository: REPO, githubDeployBranch: '', githubOidcProviderArn: '', cdkQualifier: '' });
      expect(stack.region).toBe('eu-west-1');
      expect(stack.account).toBe('123456789012');
      expect(statementsOf(t, 'PlanRole')[0].Resource).toContain('arn:aws:cloudformation:eu-west-1:123456789012:stack/GravitonLlm-*/*');
      t.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    } finally {
      delete process.env.CDK_DEFAULT_ACCOUNT;
      delete process.env.CDK_DEFAULT_REGION;
    }
  });

  test('an environment-agnostic stack (no env): tokens in the ARNs, and the acknowledgements still match cdk-nag\'s findings', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-oidc-'));
    const app = new App({ context: cdkJsonContext(), outdir });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new GitHubOidcStack(app, 'Agnostic', { repository: REPO });
    expect(Token.isUnresolved(stack.region)).toBe(true);
    app.synth(); // throws on an unacknowledged finding
    const t = Template.fromStack(stack);
    expect(JSON.stringify(statementsOf(t, 'PlanRole')[0].Resource)).toContain('AWS::Region');
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []).map((v: any) => v.acknowledgedId);
    expect(acknowledged).toContain('AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/graviton-llm/*]');
  });
});

describe('bad input', () => {
  test.each([
    ['empty', ''],
    ['no name', 'owner'],
    ['too many parts', 'owner/name/extra'],
    ['spaces', 'owner/my repo'],
    ['leading space', ' owner/name'],
    ['a wildcard', 'owner/*'],
    ['an URL', 'https://github.com/owner/name'],
  ])('repository: %s', (_, repository) => {
    const err = expectConfigError(() => newStack({ repository }), 'repository', repository);
    expect(err.message).toContain('owner/name');
  });

  test.each([
    ['empty', ''],
    ['a wildcard', 'release/*'],
    ['a full ref', 'refs/heads/main'],
    ['spaces', 'my branch'],
  ])('deployBranch: %s', (_, deployBranch) => {
    expectConfigError(() => newStack({ deployBranch }), 'deployBranch', deployBranch);
  });

  test.each([
    ['outside .github/workflows', 'deploy.yml'],
    ['a wildcard', '.github/workflows/*.yml'],
    ['not YAML', '.github/workflows/deploy.json'],
    ['a ref', '.github/workflows/deploy.yml@refs/heads/main'],
  ])('workflowPath: %s', (_, workflowPath) => {
    const err = expectConfigError(() => newStack({ workflowPath }), 'workflowPath', workflowPath);
    expect(err.message).toContain('.github/workflows/graviton-llm.yml');
  });

  test.each([
    ['empty', ''],
    ['a wildcard', 'prod*'],
    ['a colon', 'production:job_workflow_ref'],
  ])('productionEnvironment: %s', (_, productionEnvironment) => {
    expectConfigError(() => newStack({ productionEnvironment }), 'productionEnvironment', productionEnvironment);
  });

  test.each([
    ['none', []],
    ['every stack', ['*']],
    ['a wildcard inside', ['Graviton*-dev']],
    ['an ARN', ['arn:aws:cloudformation:us-east-1:123456789012:stack/GravitonLlm/x']],
  ])('diffStackNames: %s', (_, diffStackNames) => {
    expectConfigError(() => newStack({ diffStackNames }), 'diffStackNames', diffStackNames);
  });

  test('the app: a bad githubWorkflowPath, githubProductionEnvironment or githubDiffStacks names the key and the -c form', () => {
    const app = new App({ context: { ...cdkJsonContext(), githubRepository: REPO, githubWorkflowPath: 'deploy.yml', githubProductionEnvironment: 'a b', githubDiffStacks: 'GravitonLlm,*' } });
    const err = expectConfigError(() => addGitHubOidcStack(app), 'githubWorkflowPath', 'deploy.yml');
    expect(err.fields).toEqual(['githubRepository', 'githubWorkflowPath', 'githubProductionEnvironment', 'githubDiffStacks'].slice(1));
    expect(err.message).toContain('-c githubWorkflowPath=.github/workflows/graviton-llm.yml');
    expect(err.message).toContain('-c githubProductionEnvironment=production');
    expect(err.message).toContain('["GravitonLlm","*"]');
  });

  test.each([
    ['too long', 'abcdefghijk'],
    ['a dot', 'a.b'],
  ])('cdkQualifier: %s', (_, cdkQualifier) => {
    expectConfigError(() => newStack({ cdkQualifier }), 'cdkQualifier', cdkQualifier);
  });

  test.each([
    ['empty', []],
    ['not an account id', ['12345']],
  ])('targetAccounts: %s', (_, targetAccounts) => {
    expectConfigError(() => newStack({ targetAccounts }), 'targetAccounts', targetAccounts);
  });

  test('the app: a bad githubTargetAccounts names the key and the -c form', () => {
    const app = new App({ context: { ...cdkJsonContext(), githubRepository: REPO, githubTargetAccounts: '111111111111,abc' } });
    const err = expectConfigError(() => addGitHubOidcStack(app), 'githubTargetAccounts', ['111111111111', 'abc']);
    expect(err.message).toContain('-c githubTargetAccounts=111111111111,222222222222');
  });

  test('existingProviderArn: another provider', () => {
    const arn = 'arn:aws:iam::123456789012:oidc-provider/gitlab.com';
    const err = expectConfigError(() => newStack({ existingProviderArn: arn }), 'existingProviderArn', arn);
    expect(err.message).toContain(`oidc-provider/${HOST}`);
  });

  test('every problem at once', () => {
    let err: ConfigError | undefined;
    try {
      newStack({ repository: 'owner', deployBranch: 'a b', cdkQualifier: '' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.fields).toEqual(['repository', 'deployBranch', 'cdkQualifier']);
  });

  test('the app: githubRepository missing names the -c flag', () => {
    const app = new App({ context: cdkJsonContext() });
    const err = expectConfigError(() => addGitHubOidcStack(app), 'githubRepository', undefined);
    expect(err.message).toContain('-c githubRepository=owner/name');
    expect(app.node.children).toHaveLength(0);
  });

  test('the app: a bad githubRepository names the context key, the value and the -c flag', () => {
    const app = new App({ context: { ...cdkJsonContext(), githubRepository: 'owner/name/extra', githubDeployBranch: 'a*' } });
    const err = expectConfigError(() => addGitHubOidcStack(app), 'githubRepository', 'owner/name/extra');
    expect(err.fields).toEqual(['githubRepository', 'githubDeployBranch']);
    expect(err.message).toContain('-c githubRepository=owner/name');
  });
});
