import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PRODUCT_ROLE_PATH } from '../../lib/org/launch-role-policy';
import { REPO_ROOT } from '../support/synth';
import { OrgSynthesized, synthOrg } from './support/org-synth';

const PREFIX = 'graviton-llm-org-assets-example';
const REGIONS = ['us-east-1', 'eu-west-1'];

let s: OrgSynthesized;
const resourcesOf = (template: any, type: string) => Object.entries(template.Resources as Record<string, any>).filter(([, r]) => r.Type === type);
const onlyOf = (template: any, type: string) => {
  const found = resourcesOf(template, type);
  expect(found).toHaveLength(1);
  return found[0][1];
};

beforeAll(() => {
  s = synthOrg();
});

test('the administrator account gets an asset bucket stack per region, the StackSet and the catalog (in the home region)', () => {
  expect(s.org.assetBuckets.map((b) => [b.stackName, b.region])).toEqual(REGIONS.map((r) => [`GravitonLlmOrgAssets-${r}`, r]));
  expect([s.org.stackSet.stackName, s.org.stackSet.region]).toEqual(['GravitonLlmOrgStackSet', 'us-east-1']);
  expect([s.org.catalog.stackName, s.org.catalog.region]).toEqual(['GravitonLlmOrgCatalog', 'us-east-1']);
  // In administratorAccount, the account the template's instances trust to own the asset buckets:
  // a deploy with another account's credentials fails rather than creating buckets they would refuse.
  for (const stack of [...s.org.assetBuckets, s.org.stackSet, s.org.catalog]) {
    expect(stack.account).toBe('444444444444');
  }
  // `cdk deploy --all` creates the buckets before the stacks whose template points at them.
  for (const stack of [s.org.stackSet, s.org.catalog]) {
    expect(stack.dependencies.map((d) => d.stackName).sort()).toEqual(REGIONS.map((r) => `GravitonLlmOrgAssets-${r}`).sort());
  }
});

describe('asset buckets', () => {
  test.each(REGIONS)('%s: PREFIX-REGION, SSE-S3, versioned, no public access, TLS only, readable by the organization, retained', (region) => {
    const t = s.templateOf(`GravitonLlmOrgAssets-${region}`);
    const bucket = onlyOf(t, 'AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      BucketName: `${PREFIX}-${region}`,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    const statements = onlyOf(t, 'AWS::S3::BucketPolicy').Properties.PolicyDocument.Statement;
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      {
        Sid: 'OrganizationReadsAssets',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.any(String), 'Arn'] }, '/*']] },
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-exampleorg1' } },
      },
    ]);
    // Nothing but reads: no listing, no writes from the organization.
    expect(JSON.stringify(statements)).not.toMatch(/s3:(Put|Delete|List)/);
  });
});

describe('StackSet', () => {
  test('service-managed, auto-deployed to the OUs in every region, queued, IAM capability, org-wide parameter values', () => {
    const stackSet = onlyOf(s.templateOf('GravitonLlmOrgStackSet'), 'AWS::CloudFormation::StackSet');
    expect(stackSet.Properties).toMatchObject({
      StackSetName: 'graviton-llm',
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'SELF',
      ManagedExecution: { Active: true },
      Capabilities: ['CAPABILITY_IAM'],
      OperationPreferences: { RegionConcurrencyType: 'PARALLEL', MaxConcurrentPercentage: 25, FailureTolerancePercentage: 10, ConcurrencyMode: 'SOFT_FAILURE_TOLERANCE' },
      StackInstancesGroup: [{ DeploymentTargets: { OrganizationalUnitIds: ['ou-exam-12345678'] }, Regions: REGIONS }],
      Parameters: [
        { ParameterKey: 'Model', ParameterValue: 'llama-3.2-3b-instruct-q4_k_m' },
        { ParameterKey: 'InstanceType', ParameterValue: 'c7g.2xlarge' },
        { ParameterKey: 'MinCapacity', ParameterValue: '1' },
        { ParameterKey: 'MaxCapacity', ParameterValue: '3' },
        // No boundary: member accounts of the StackSet need not hold the Service Catalog launch role's policy.
        { ParameterKey: 'PermissionsBoundary', ParameterValue: '' },
      ],
    });
    // Every value the StackSet passes is one the template accepts.
    for (const { ParameterKey } of stackSet.Properties.Parameters) {
      expect(s.template.Parameters[ParameterKey]).toBeDefined();
    }
  });

  test('the template URL is the synthesized org template, uploaded as a normal asset of this stack', () => {
    const stackSet = onlyOf(s.templateOf('GravitonLlmOrgStackSet'), 'AWS::CloudFormation::StackSet');
    const url: string = stackSet.Properties.TemplateURL['Fn::Sub'];
    // The administrator account's bootstrap bucket (the stack is pinned to administratorAccount).
    expect(url).toMatch(/^https:\/\/s3\.us-east-1\.\$\{AWS::URLSuffix\}\/cdk-[a-z0-9]+-assets-444444444444-us-east-1\/[0-9a-f]{64}\.json$/);
    const hash = url.match(/([0-9a-f]{64})\.json$/)![1];
    const manifest = JSON.parse(fs.readFileSync(path.join(s.outdir, 'GravitonLlmOrgStackSet.assets.json'), 'utf8'));
    const staged = path.join(s.outdir, manifest.files[hash].source.path);
    expect(fs.readFileSync(staged, 'utf8')).toBe(fs.readFileSync(s.org.templateFile, 'utf8'));
  });
});

describe('Service Catalog', () => {
  let t: any;
  beforeAll(() => {
    t = s.templateOf('GravitonLlmOrgCatalog');
  });

  test('a portfolio with the product, whose template is the same org template', () => {
    expect(onlyOf(t, 'AWS::ServiceCatalog::Portfolio').Properties).toMatchObject({ DisplayName: 'graviton-llm', ProviderName: 'Platform team' });
    const product = onlyOf(t, 'AWS::ServiceCatalog::CloudFormationProduct').Properties;
    expect(product).toMatchObject({ Name: 'Private LLM endpoint (graviton-llm)', Owner: 'Platform team' });
    const [artifact] = product.ProvisioningArtifactParameters;
    expect(artifact.Name).toMatch(/^llama\.cpp v\d+\.\d+\.\d+, template [0-9a-f]{12}$/);
    expect(artifact.DisableTemplateValidation).toBe(false);
    const hash = artifact.Info.LoadTemplateFromURL['Fn::Sub'].match(/([0-9a-f]{64})\.json$/)[1];
    const manifest = JSON.parse(fs.readFileSync(path.join(s.outdir, 'GravitonLlmOrgCatalog.assets.json'), 'utf8'));
    expect(fs.readFileSync(path.join(s.outdir, manifest.files[hash].source.path), 'utf8')).toBe(fs.readFileSync(s.org.templateFile, 'utf8'));
    expect(onlyOf(t, 'AWS::ServiceCatalog::PortfolioProductAssociation').Properties).toEqual({
      PortfolioId: { Ref: expect.stringMatching(/^Portfolio/) }, ProductId: { Ref: expect.stringMatching(/^Product/) },
    });
  });

  test('a launch constraint by role name, and that role here, trusted by Service Catalog only', () => {
    const constraint = onlyOf(t, 'AWS::ServiceCatalog::LaunchRoleConstraint').Properties;
    const [roleId, role] = resourcesOf(t, 'AWS::IAM::Role')[0];
    expect(constraint.LocalRoleName).toEqual({ Ref: roleId });
    expect(constraint.RoleArn).toBeUndefined();
    expect(role.Properties.RoleName).toBe('GravitonLlmLaunchRole');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'servicecatalog.amazonaws.com' } },
    ]);
  });

  test('the launch role may build the product\'s stack (what each resource type needs: test/org/launch-role-policy.test.ts), and the boundary it requires is here', () => {
    expect(resourcesOf(t, 'AWS::IAM::Policy')).toEqual([]);
    const policies = resourcesOf(t, 'AWS::IAM::ManagedPolicy').map(([, p]) => p.Properties).filter((p) => p.Roles !== undefined);
    for (const policy of policies) {
      expect(policy.Roles).toEqual([{ Ref: resourcesOf(t, 'AWS::IAM::Role')[0][0] }]);
    }
    const bySid = Object.fromEntries(policies.flatMap((p) => p.PolicyDocument.Statement).map((st: any) => [st.Sid, st]));
    expect(Object.keys(bySid)).toEqual(expect.arrayContaining(['ProductStack', 'ProductTemplate', 'OrgAssets', 'TemplateChecks', 'BoundedRoles',
      'BoundedRoleManagedPolicies', 'PassStackRoles', 'ServiceLinkedRoles', 'CustomResources', 'TemplateSsmParameters']));
    expect(JSON.stringify(bySid.ProductStack.Resource)).toContain(':cloudformation:*:*:stack/SC-*');
    expect(JSON.stringify(bySid.OrgAssets.Resource)).toContain(`:s3:::${PREFIX}-*/*`);
    expect(bySid.ProductTemplate.Condition).toEqual({ StringEquals: { 's3:ExistingObjectTag/servicecatalog:provisioning': 'true' } });
    const boundary = resourcesOf(t, 'AWS::IAM::ManagedPolicy').filter(([, p]) => p.Properties.ManagedPolicyName === 'GravitonLlmProductBoundary');
    expect(boundary).toHaveLength(1);
    expect(boundary[0][1].Properties.Roles).toBeUndefined();
    expect(bySid.BoundedRoles.Condition.StringEquals['iam:PermissionsBoundary'])
      .toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::${aws:PrincipalAccount}:policy/GravitonLlmProductBoundary']] });
    expect(t.Outputs.PermissionsBoundaryName.Value).toBe('GravitonLlmProductBoundary');
  });

  test('shared with the configured accounts, and open to the configured principals (a name pattern for recipients)', () => {
    expect(resourcesOf(t, 'AWS::ServiceCatalog::PortfolioShare').map(([, r]) => r.Properties.AccountId)).toEqual(['111111111111']);
    expect(onlyOf(t, 'AWS::ServiceCatalog::PortfolioPrincipalAssociation').Properties)
      .toMatchObject({ PrincipalARN: 'arn:aws:iam:::role/Developer', PrincipalType: 'IAM_PATTERN' });
  });
});

test('cdk-nag and CloudFormation Validate: every administrator stack clean, each acknowledgement with a reason', () => {
  const report = JSON.parse(fs.readFileSync(path.join(s.outdir, 'validation-report.json'), 'utf8'));
  for (const plugin of report.pluginReports) {
    expect([plugin.pluginName, plugin.violations]).toEqual([plugin.pluginName, []]);
    expect(plugin.conclusion).toBe('success');
  }
  const acknowledged = report.pluginReports.flatMap((p: any) => p.suppressedViolations ?? []);
  expect(acknowledged.map((v: any) => v.acknowledgedId)).toEqual(expect.arrayContaining([
    `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role${PRODUCT_ROLE_PATH}SC-*]`,
    'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:*:*:vpc/*]',
  ]));
  for (const v of acknowledged) {
    expect(v.acknowledgedReason ?? v.reason ?? 'reason').not.toBe('');
  }
});

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const lintOrSkip = cfnLint.status === 0 ? test : test.skip;
if (cfnLint.status !== 0) {
  // eslint-disable-next-line no-console
  console.log('cfn-lint is not installed: skipping the lint of the org templates (synth\'s own validation still ran)');
}

lintOrSkip('cfn-lint: the org template and every administrator stack lint clean (with the project\'s .cfnlintrc.yaml)', () => {
  const templates = [s.org.templateFile, ...fs.readdirSync(s.outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(s.outdir, f))];
  expect(templates).toHaveLength(1 + REGIONS.length + 2);
  const result = spawnSync('python3', ['tools/dev/lint-templates.py', ...templates], { cwd: REPO_ROOT, encoding: 'utf8' });
  // Nothing but the one finding the wrapper sets aside for cfn-lint releases that predate the update policy.
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l && !l.startsWith('set aside (cfn-lint before #4656'));
  expect(lines).toEqual([]);
  expect(result.status).toBe(0);
});
