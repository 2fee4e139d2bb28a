import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Token, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addGitHubOidcStack, GITHUB_OIDC_STACK_NAME } from '../../lib/app/github-oidc-app';
import { ConfigError } from '../../lib/config/config-error';
import { GitHubOidcStack, GitHubOidcStackProps } from '../../lib/stacks/github-oidc-stack';
import { cdkJsonContext } from '../support/synth';

const REPO = 'octo-org/graviton-llm';
const HOST = 'token.actions.githubusercontent.com';
const PROVIDER_ARN = `arn:aws:iam::123456789012:oidc-provider/${HOST}`;

interface Synthesized {
  readonly app: App;
  readonly stack: GitHubOidcStack;
  readonly template: Template;
  readonly outdir: string;
}

/** Synthesizes the app as `-c mode=github-oidc` does, with cdk-nag and CloudFormation Validate attached. */
function synthApp(context: Record<string, unknown>): Synthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-oidc-'));
  const app = new App({ context: { ...cdkJsonContext(), ...context }, outdir });
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

  test('plan role trusts only pull_request jobs of the repository', () => {
    const providerId = Object.keys(s.template.findResources('AWS::IAM::OIDCProvider'))[0];
    expect(trustOf(s.template, 'PlanRole')).toEqual([{
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: { Ref: providerId } },
      Condition: {
        StringEquals: { [`${HOST}:aud`]: 'sts.amazonaws.com' },
        StringLike: { [`${HOST}:sub`]: `repo:${REPO}:pull_request` },
      },
    }]);
  });

  test('deploy role trusts pushes to main and the production environment, nothing else; two-hour sessions', () => {
    const providerId = Object.keys(s.template.findResources('AWS::IAM::OIDCProvider'))[0];
    expect(trustOf(s.template, 'DeployRole')).toEqual([{
      Effect: 'Allow',
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: { Ref: providerId } },
      Condition: {
        StringEquals: {
          [`${HOST}:aud`]: 'sts.amazonaws.com',
          [`${HOST}:sub`]: [`repo:${REPO}:ref:refs/heads/main`, `repo:${REPO}:environment:production`],
        },
      },
    }]);
    s.template.hasResourceProperties('AWS::IAM::Role', { Description: Match.stringLikeRegexp('deploy jobs'), MaxSessionDuration: 7200 });
  });

  test('plan role may only assume the CDK lookup role', () => {
    expect(statementsOf(s.template, 'PlanRole')).toEqual([{
      Sid: 'AssumeCdkLookupRole',
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Resource: bootstrapRole('lookup'),
    }]);
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

  test('outputs: PlanRoleArn and DeployRoleArn', () => {
    const t = s.template;
    const roleIds = Object.keys(t.findResources('AWS::IAM::Role'));
    const planId = roleIds.find((id) => id.startsWith('PlanRole'));
    const deployId = roleIds.find((id) => id.startsWith('DeployRole'));
    t.hasOutput('PlanRoleArn', { Value: { 'Fn::GetAtt': [planId, 'Arn'] } });
    t.hasOutput('DeployRoleArn', { Value: { 'Fn::GetAtt': [deployId, 'Arn'] } });
    expect(Object.keys(t.toJSON().Outputs).sort()).toEqual(['DeployRoleArn', 'PlanRoleArn']);
  });

  test('cdk-nag AwsSolutions and CloudFormation Validate: clean; only the two granular IAM5 findings acknowledged, with reasons', () => {
    // app.synth() threw if any plugin reported an unacknowledged finding; the report lists what was acknowledged.
    const report = JSON.parse(fs.readFileSync(path.join(s.outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((p: any) => p.pluginName)).toContain('AwsSolutions');
    for (const plugin of report.pluginReports) {
      expect(plugin.violations).toEqual([]);
      expect(plugin.conclusion).toBe('success');
    }
    const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []);
    expect(acknowledged.map((v: any) => v.acknowledgedId).sort()).toEqual([
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:cloudformation:us-east-1:<AWS::AccountId>:stack/*]',
      'AwsSolutions::AwsSolutions-IAM5[Resource::arn:aws:ssm:us-east-1:<AWS::AccountId>:parameter/graviton-llm/*]',
    ]);
    for (const v of acknowledged) {
      expect(v.reason.length).toBeGreaterThan(40);
      expect(v.acknowledgedAt).toBe(`${GITHUB_OIDC_STACK_NAME}/DeployRole`);
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

  test('deploy branch and CDK qualifier', () => {
    const { template: t } = synthApp({ githubRepository: REPO, githubDeployBranch: 'release/v1', cdkQualifier: 'gllm01' });
    expect(trustOf(t, 'DeployRole')[0].Condition.StringEquals[`${HOST}:sub`])
      .toEqual([`repo:${REPO}:ref:refs/heads/release/v1`, `repo:${REPO}:environment:production`]);
    expect(statementsOf(t, 'PlanRole')[0].Resource).toEqual(bootstrapRole('lookup', 'gllm01'));
    expect(statementsOf(t, 'DeployRole')[0].Resource).toEqual(['deploy', 'file-publishing', 'image-publishing', 'lookup'].map((k) => bootstrapRole(k, 'gllm01')));
  });

  test('target accounts: both roles reach the bootstrap roles of each account (and only those); the key read stays home', () => {
    const { template: t } = synthApp({ githubRepository: REPO, githubTargetAccounts: '111111111111, 222222222222' });
    const accounts = ['111111111111', '222222222222'];
    expect(statementsOf(t, 'PlanRole')[0].Resource).toEqual(accounts.map((a) => bootstrapRole('lookup', 'hnb659fds', a)));
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
      expect(statementsOf(t, 'PlanRole')[0].Resource).toBe('arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1');
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
