import * as fs from 'node:fs';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import {
  BOUNDED_ROLE_ACTIONS, KMS_KEY_ACTIONS, MANAGED_POLICY_ACTIONS, PRODUCT_ROLE_PATH, RESOURCE_TYPE_GRANTS, launchRoleStatements, permissionsBoundaryStatements, templateResourceTypes, templateRoles,
} from '../../lib/org/launch-role-policy';
import { allows, decide, decideKms, decideSameAccount, resolveIntrinsics, wildcardMatch } from '../support/iam-eval';
import { evaluate, parameterValues, resolved as resolvedIn } from './support/cfn-eval';
import { OrgSynthesized, synthOrg } from './support/org-synth';
import { rolePrincipal, roleIdentityStatements, stackInAccount } from './support/template-iam';

/**
 * The Service Catalog launch role's policy, asked the questions IAM would ask
 * while CloudFormation builds the product's template in a launching account:
 * the template is the one the catalog stack offers (synthesized here), the
 * policy the one the catalog stack deploys (read back from its template).
 */
const ACCOUNT = '444455556666';
const REGION = 'eu-west-1';
const STACK = `SC-${ACCOUNT}-pp-abcdefghijklm`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/GravitonLlmProductBoundary`;

let s: OrgSynthesized;
let product: any;
let launchRole: any[];
let launchRolePolicies: any[][];
let boundary: any[];
let roles: [string, any][];

/** Resolves a catalog-stack policy document as IAM sees it in the launching account. */
const resolved = (doc: any) => resolveIntrinsics(doc, { account: ACCOUNT, region: REGION }).Statement as any[];
const may = (action: string, resource: string, context: Record<string, string | string[]> = {}) =>
  allows(launchRole, { action, resource, context: { 'aws:PrincipalAccount': ACCOUNT, ...context } });
/** A role of the launched template, as CloudFormation names it (with the path the template gives it). */
const roleArn = (logicalId: string) => stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: STACK }).attributes![`${logicalId}.Arn`]
  ?? `arn:aws:iam::${ACCOUNT}:role${PRODUCT_ROLE_PATH}${STACK}-${logicalId.slice(0, 20)}-1A2B3C4D5E6F`;

beforeAll(() => {
  s = synthOrg();
  product = s.template;
  const catalog = s.templateOf('GravitonLlmOrgCatalog');
  const of = (type: string) => Object.values(catalog.Resources as Record<string, any>).filter((r) => r.Type === type);
  // The launch role's policies are the managed policies attached to it; the boundary is the named one.
  const managed = of('AWS::IAM::ManagedPolicy');
  launchRolePolicies = managed.filter((p) => p.Properties.Roles !== undefined).map((p) => resolved(p.Properties.PolicyDocument));
  launchRole = launchRolePolicies.flat();
  boundary = resolved(managed.find((p) => p.Properties.ManagedPolicyName === 'GravitonLlmProductBoundary').Properties.PolicyDocument);
  expect(of('AWS::IAM::Policy')).toEqual([]);
  roles = Object.entries(product.Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::IAM::Role');
});

test('the product template\'s resource types each have grants, and the policy holds exactly those grants\' actions and a launch\'s own', () => {
  const types = templateResourceTypes(product);
  expect(types).toEqual(expect.arrayContaining(['AWS::EC2::VPC', 'AWS::AutoScaling::AutoScalingGroup', 'AWS::KMS::Key', 'AWS::IAM::Role', 'Custom::*']));
  for (const type of types.filter((t) => t !== 'Custom::*')) {
    expect([type, RESOURCE_TYPE_GRANTS[type] !== undefined]).toEqual([type, true]);
  }
  const fromTable = types.flatMap((t) => (RESOURCE_TYPE_GRANTS[t] ?? []).flatMap((g) => g.actions));
  const launch = ['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks',
    'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackResources', 'cloudformation:SetStackPolicy',
    'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet',
    'cloudformation:ListChangeSets', 'cloudformation:ValidateTemplate', 'cloudformation:GetTemplateSummary', 's3:GetObject', 'ssm:GetParameters',
    'lambda:InvokeFunction', 'iam:PassRole', 'iam:CreateServiceLinkedRole', ...BOUNDED_ROLE_ACTIONS];
  const inPolicy = new Set(launchRole.flatMap((st) => [st.Action].flat()));
  expect([...inPolicy].sort()).toEqual([...new Set([...fromTable, ...launch])].sort());
});

test('no service wildcard, and * resources only for actions without resource-level permissions', () => {
  const actions = launchRole.flatMap((st) => [st.Action].flat() as string[]);
  expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  // What the Service Authorization Reference lists with no resource type: reads of lists and descriptions,
  // key creation, template checks, log deliveries.
  const noResourceLevel = /^([a-z0-9-]+:(Describe|List)\w*|kms:CreateKey|cloudformation:(ValidateTemplate|GetTemplateSummary)|logs:(Create|Delete)LogDelivery)$/;
  const unscoped = launchRole.filter((st) => [st.Resource].flat().includes('*'));
  for (const st of unscoped) {
    const actionsOf = [st.Action].flat() as string[];
    if (st.Sid === 'ProductTemplate') {
      // Service Catalog's copy of the template: by the tag Service Catalog puts on it.
      expect(st.Condition).toEqual({ StringEquals: { 's3:ExistingObjectTag/servicecatalog:provisioning': 'true' } });
      continue;
    }
    expect(actionsOf.filter((a) => !noResourceLevel.test(a))).toEqual([]);
  }
  // Nothing reaches the account's other stacks, roles, functions, buckets or keys.
  const other = (arn: string) => actions.filter((a) => !noResourceLevel.test(a)).filter((a) => may(a, arn));
  expect(other(`arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/Payroll/0a1b`)).toEqual([]);
  expect(other(`arn:aws:iam::${ACCOUNT}:role/OrganizationAccountAccessRole`)).toEqual([]);
  expect(other(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:payroll`)).toEqual([]);
  expect(other('arn:aws:s3:::payroll-data')).toEqual([]);
  expect(other(`arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`)).toEqual([]);
  expect(may('ec2:DeleteVpc', `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/vpc-0abc`)).toBe(true);
});

test('every role of the template gets the kit\'s boundary (the template passes its launch role\'s condition); without it, or with another, IAM refuses', () => {
  const params = parameterValues(product);
  expect(params.PermissionsBoundary).toBe('GravitonLlmProductBoundary');
  expect(roles.length).toBeGreaterThanOrEqual(7);
  const policies = Object.values(product.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::IAM::Policy');
  for (const [id, role] of roles) {
    // The boundary as CloudFormation passes it: the parameter's default, in the launching account.
    const set = evaluate(resolveIntrinsics(role.Properties.PermissionsBoundary, { account: ACCOUNT, region: REGION, refs: params }), { template: product, parameters: params, region: REGION });
    expect([id, set]).toEqual([id, BOUNDARY]);
    const arn = roleArn(id);
    expect([id, may('iam:CreateRole', arn, { 'iam:PermissionsBoundary': set })]).toEqual([id, true]);
    for (const policyArn of (role.Properties.ManagedPolicyArns ?? []).map((p: any) => resolveIntrinsics(p, { account: ACCOUNT, region: REGION }))) {
      expect([id, policyArn, may('iam:AttachRolePolicy', arn, { 'iam:PermissionsBoundary': set, 'iam:PolicyARN': policyArn })]).toEqual([id, policyArn, true]);
    }
    if (role.Properties.Policies || policies.some((p) => JSON.stringify(p.Properties.Roles).includes(id))) {
      expect([id, may('iam:PutRolePolicy', arn, { 'iam:PermissionsBoundary': set })]).toEqual([id, true]);
    }
    const services = [role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service].flat();
    for (const service of services) {
      expect([id, service, may('iam:PassRole', arn, { 'iam:PassedToService': service })]).toEqual([id, service, true]);
    }
  }
  // What the StackSet passes (its execution role is not the launch role): no boundary at all.
  const none = evaluate(resolveIntrinsics(roles[0][1].Properties.PermissionsBoundary, { account: ACCOUNT, region: REGION, refs: { ...params, PermissionsBoundary: '' } }),
    { template: product, parameters: { ...params, PermissionsBoundary: '' }, region: REGION });
  expect(none).toEqual({ Ref: 'AWS::NoValue' });
  const arn = roleArn('Anything');
  expect(decide(launchRole, { action: 'iam:CreateRole', resource: arn, context: { 'aws:PrincipalAccount': ACCOUNT } })).toBe('implicit-deny');
  expect(may('iam:CreateRole', arn, { 'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/AdministratorAccess' })).toBe(false);
  expect(may('iam:CreateRole', arn, { 'iam:PermissionsBoundary': 'arn:aws:iam::111111111111:policy/GravitonLlmProductBoundary' })).toBe(false);
  expect(may('iam:PutRolePolicy', arn, {})).toBe(false);
  expect(may('iam:AttachRolePolicy', arn, { 'iam:PermissionsBoundary': BOUNDARY, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/AdministratorAccess' })).toBe(false);
  expect(may('iam:PutRolePermissionsBoundary', arn, { 'iam:PermissionsBoundary': 'arn:aws:iam::aws:policy/AdministratorAccess' })).toBe(false);
  expect(may('iam:DeleteRolePermissionsBoundary', arn, { 'iam:PermissionsBoundary': BOUNDARY })).toBe(false);
  expect(may('iam:PassRole', arn, { 'iam:PassedToService': 'cloudformation.amazonaws.com' })).toBe(false);
  expect(may('iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/Admin`, { 'iam:PermissionsBoundary': BOUNDARY })).toBe(false);
  // Nor can it change the boundary itself.
  for (const action of ['iam:CreatePolicyVersion', 'iam:DeletePolicy', 'iam:SetDefaultPolicyVersion', 'iam:CreatePolicy']) {
    expect([action, may(action, BOUNDARY)]).toEqual([action, false]);
  }
});

test('the boundary allows every action the template\'s roles hold, and no IAM or STS', () => {
  const { actions } = templateRoles(product);
  expect(actions.length).toBeGreaterThan(20);
  for (const action of actions) {
    // A granted wildcard (s3:GetObject*) is tested through an action it covers.
    const concrete = action.replace(/\*$/, 'Acl');
    expect([action, allows(boundary, { action: concrete, resource: '*' })]).toEqual([action, true]);
  }
  for (const action of ['iam:CreateRole', 'iam:PassRole', 'iam:AttachRolePolicy', 'sts:AssumeRole', 'organizations:LeaveOrganization', 'kms:ScheduleKeyDeletion']) {
    expect([action, allows(boundary, { action, resource: '*' })]).toEqual([action, false]);
  }
  expect(boundary.flatMap((st) => [st.Action].flat()).filter((a: string) => a.endsWith(':*') || a === '*')).toEqual([]);
});

test('each policy fits IAM\'s managed policy size (6,144 characters without whitespace), and the role holds few enough of them', () => {
  for (const doc of [...launchRolePolicies, boundary]) {
    expect(JSON.stringify({ Version: '2012-10-17', Statement: doc }).length).toBeLessThanOrEqual(6144);
  }
  // IAM's default quota of managed policies per role is 10.
  expect(launchRolePolicies.length).toBeGreaterThan(1);
  expect(launchRolePolicies.length).toBeLessThanOrEqual(10);
});

test('a template with a resource type or managed policy the tables do not list stops synthesis, naming it', () => {
  const template = { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: {} } } };
  expect(() => launchRoleStatements({ template, assetBucketPrefix: 'p', permissionsBoundaryName: 'B' })).toThrow(/AWS::SQS::Queue.*RESOURCE_TYPE_GRANTS/);
  const admin = { Resources: { R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [] }, ManagedPolicyArns: ['arn:aws:iam::aws:policy/AdministratorAccess'] } } } };
  expect(() => permissionsBoundaryStatements(admin)).toThrow(/AdministratorAccess.*MANAGED_POLICY_ACTIONS/);
  expect(Object.keys(MANAGED_POLICY_ACTIONS)).not.toContain('AdministratorAccess');
  // A resource-based policy of a type the boundary does not scope, naming one of the template's roles.
  const topicGrant = { Resources: {
    R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [] } } },
    P: { Type: 'AWS::SNS::TopicPolicy', Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': ['R', 'Arn'] } }, Action: 'sns:Publish', Resource: '*' }] } } },
  } };
  expect(() => permissionsBoundaryStatements(topicGrant)).toThrow(/P \(AWS::SNS::TopicPolicy\).*RESOURCE_POLICY_SCOPES/);
  // The grants the statements are built from resolve in any stack (the partition is a token).
  expect(new Stack().resolve(launchRoleStatements({ template: product, assetBucketPrefix: 'p', permissionsBoundaryName: 'B' })[0].statement.toStatementJson())).toBeDefined();
  expect(wildcardMatch('SC-*', 'SC-1')).toBe(true);
});

test('the AMI parameter the template reads: AWS\'s public one by default, or the account\'s own under /graviton-llm/ that pins it', () => {
  const param = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;
  expect(product.Parameters.AmiParameter.Default).toMatch(/^\/aws\/service\/ami-amazon-linux-latest\//);
  expect(may('ssm:GetParameters', `arn:aws:ssm:${REGION}::parameter${product.Parameters.AmiParameter.Default}`)).toBe(true);
  expect(may('ssm:GetParameters', param('/graviton-llm/pinned-ami'))).toBe(true);
  // Another of the account's parameters is no AMI of the kit's.
  expect(may('ssm:GetParameters', param('/team/database-password'))).toBe(false);
});

/**
 * What aws-cdk-lib's auto-delete handler calls on a bucket when its Custom::S3AutoDeleteObjects
 * is deleted (the S3 client's methods it calls with `{Bucket: ...}`, read from the handler's code
 * below), and the IAM action each call needs (Service Authorization Reference, Amazon S3:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html;
 * DeleteObjects checks s3:DeleteObject, and s3:DeleteObjectVersion for each version it names:
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html). A refused
 * GetBucketTagging, ListObjectVersions or DeleteObjects fails the handler, so the resource ends
 * DELETE_FAILED and the termination stops with the bucket and everything that depends on it.
 */
const AUTO_DELETE_CALLS: Record<string, { actions: string[]; on: 'bucket' | 'object' }> = {
  getBucketTagging: { actions: ['s3:GetBucketTagging'], on: 'bucket' },
  getBucketPolicy: { actions: ['s3:GetBucketPolicy'], on: 'bucket' },
  putBucketPolicy: { actions: ['s3:PutBucketPolicy'], on: 'bucket' },
  listObjectVersions: { actions: ['s3:ListBucketVersions'], on: 'bucket' },
  deleteObjects: { actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'], on: 'object' },
};

test('termination: the auto-delete provider\'s role may make every call its handler makes on each bucket, through the bucket policy and within the boundary', () => {
  const handler = path.join(path.dirname(require.resolve('aws-cdk-lib')), 'custom-resource-handlers', 'dist', 'aws-s3', 'auto-delete-objects-handler', 'index.js');
  const calls = [...new Set([...fs.readFileSync(handler, 'utf8').matchAll(/\.(\w+)\(\{Bucket:/g)].map((m) => m[1]))].sort();
  expect(calls).toEqual(Object.keys(AUTO_DELETE_CALLS).sort());

  const stack = stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: STACK });
  const all = Object.values(product.Resources as Record<string, any>);
  const autoDeletes = all.filter((r) => r.Type === 'Custom::S3AutoDeleteObjects');
  expect(autoDeletes.length).toBeGreaterThanOrEqual(2);
  for (const custom of autoDeletes) {
    const bucketId: string = custom.Properties.BucketName.Ref;
    const roleId: string = product.Resources[custom.Properties.ServiceToken['Fn::GetAtt'][0]].Properties.Role['Fn::GetAtt'][0];
    const bucketPolicy = resolvedIn(all.find((r) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId).Properties.PolicyDocument, stack).Statement;
    // IAM's rule for a role and a resource of its own account (iam-eval's decideSameAccount): the bucket
    // policy names the role's ARN, so the role's permissions boundary still limits what it grants
    // (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). Only AWS could
    // show the deletion itself; this is the evaluation its documentation describes.
    const role = { identity: roleIdentityStatements(stack, roleId), boundary };
    const bucketArn = stack.attributes![`${bucketId}.Arn`];
    for (const [call, { actions, on }] of Object.entries(AUTO_DELETE_CALLS)) {
      for (const action of actions) {
        const request = { action, resource: on === 'bucket' ? bucketArn : `${bucketArn}/cache/any-object`, context: { 'aws:SecureTransport': 'true' } };
        expect([bucketId, call, action, decideSameAccount(role, bucketPolicy, request, rolePrincipal(stack, roleId))]).toEqual([bucketId, call, action, 'allow']);
        // The grant is the bucket policy's: the role's own policies hold none of it.
        expect([bucketId, action, decide(role.identity, request)]).toEqual([bucketId, action, 'implicit-deny']);
      }
    }
    // The boundary admits it for the stack's own buckets only: another bucket's policy naming the role gives it nothing.
    const elsewhere = { action: 's3:DeleteObjectVersion', resource: 'arn:aws:s3:::payroll-data/2024.csv' };
    const foreignPolicy = [{ Effect: 'Allow', Principal: { AWS: rolePrincipal(stack, roleId).arn }, Action: 's3:DeleteObject*', Resource: 'arn:aws:s3:::payroll-data/*' }];
    expect(decideSameAccount(role, foreignPolicy, elsewhere, rolePrincipal(stack, roleId))).toBe('implicit-deny');
    expect(decideSameAccount({ identity: role.identity }, foreignPolicy, elsewhere, rolePrincipal(stack, roleId))).toBe('allow');
  }
});

/**
 * The launch: CloudFormation's AWS::KMS::Key handler calls CreateKey, then EnableKeyRotation
 * (EnableKeyRotation: true) and its read calls, with the launch role's credentials, on a key that
 * carries no aws:cloudformation:* tag: the type's registry schema declares
 * `"tagging": {"cloudFormationSystemTags": false, "tagOnCreate": true}` (the key gets the
 * template's tags at CreateKey and never CloudFormation's system tags; cfn-lint 1.51's copy:
 * `python3 -c "from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as m; print(m.get_resource_schema('us-east-1', 'AWS::KMS::Key').schema['tagging'])"`;
 * the field: https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
 * KMS decides with the key policy, which must allow the principal itself or delegate to the
 * account's IAM policies (iam-eval's decideKms; https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html).
 */
test('launch: the launch role may make every call on the template\'s key with no tag on it, through the key policy; on no other key of the account', () => {
  const launchRoleArn = `arn:aws:iam::${ACCOUNT}:role/${s.org.config.serviceCatalog.launchRoleName}`;
  const principal = { arn: launchRoleArn, account: ACCOUNT };
  const keys = Object.values(product.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::KMS::Key');
  expect(keys.length).toBeGreaterThan(0);
  expect(may('kms:CreateKey', '*')).toBe(true);
  const keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const launched = stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: STACK });
  for (const key of keys) {
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const keyPolicy = resolvedIn(key.Properties.KeyPolicy, launched).Statement;
    for (const action of KMS_KEY_ACTIONS) {
      // No aws:ResourceTag/* in the request: the key has no tag.
      expect([action, decideKms({ identity: launchRole }, keyPolicy, { action, resource: keyArn }, principal)]).toEqual([action, 'allow']);
    }
    // Another principal of the account gets nothing new from it.
    expect(decideKms({ identity: [] }, keyPolicy, { action: 'kms:ScheduleKeyDeletion', resource: keyArn }, { arn: `arn:aws:iam::${ACCOUNT}:role/Other`, account: ACCOUNT })).toBe('implicit-deny');
    // A StackSet stack (PermissionsBoundary empty: not the launch role's): its key policy leaves the launch role to IAM, which grants it nothing.
    const stackSet = stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: 'StackSet-graviton-llm-0a1b', parameters: { PermissionsBoundary: '' } });
    const stackSetKeyPolicy = resolvedIn(key.Properties.KeyPolicy, stackSet).Statement;
    for (const action of KMS_KEY_ACTIONS) {
      expect([action, decideKms({ identity: launchRole }, stackSetKeyPolicy, { action, resource: keyArn }, principal)]).toEqual([action, 'implicit-deny']);
    }
  }
  // Any other key of the account, with the default key policy (the account's IAM policies decide), even one
  // another Service Catalog product's stack created: out of reach.
  const defaultKeyPolicy = [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }];
  const otherKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0000aaaa-12ab-34cd-56ef-1234567890ab`;
  for (const action of KMS_KEY_ACTIONS) {
    const context = { 'aws:ResourceTag/aws:cloudformation:stack-name': `SC-${ACCOUNT}-pp-otherproduct1` };
    expect([action, decideKms({ identity: launchRole }, defaultKeyPolicy, { action, resource: otherKey, context }, principal)]).toEqual([action, 'implicit-deny']);
  }
});

test('role actions reach only the roles this template creates (the kit\'s role path), not another Service Catalog product\'s SC- roles', () => {
  const launched = stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: STACK });
  const ours = roles.map(([id]) => launched.attributes![`${id}.Arn`]);
  // In a launch (PermissionsBoundary set) every role of the template is created under the kit's path.
  for (const [i, [id]] of roles.entries()) expect([id, ours[i]]).toEqual([id, expect.stringMatching(new RegExp(`^arn:aws:iam::${ACCOUNT}:role${PRODUCT_ROLE_PATH}SC-`))]);
  // A StackSet stack (PermissionsBoundary empty) keeps its roles where they were: no path.
  const stackSet = stackInAccount(product, { account: ACCOUNT, region: REGION, stackName: 'StackSet-graviton-llm-0a1b', parameters: { PermissionsBoundary: '' } });
  for (const [id] of roles) expect([id, stackSet.attributes![`${id}.Arn`]]).toEqual([id, expect.stringMatching(/:role\/StackSet-/)]);

  const context = { 'iam:PermissionsBoundary': BOUNDARY, 'iam:PassedToService': 'lambda.amazonaws.com' };
  for (const arn of ours) {
    for (const action of ['iam:UpdateAssumeRolePolicy', 'iam:DeleteRole', 'iam:PassRole', 'iam:GetRole', 'iam:TagRole', 'iam:CreateRole', 'iam:PutRolePolicy']) {
      expect([arn, action, may(action, arn, context)]).toEqual([arn, action, true]);
    }
  }
  // Another product's role, named after its own SC- stack, even one that has the kit's boundary: no IAM action
  // of the launch role reaches it, and the launch role cannot create a role outside the path either.
  const iamActions = [...new Set(launchRole.flatMap((st) => [st.Action].flat() as string[]).filter((a) => a.startsWith('iam:')))];
  expect(iamActions).toEqual(expect.arrayContaining(['iam:UpdateAssumeRolePolicy', 'iam:DeleteRole', 'iam:PassRole', 'iam:CreateRole']));
  for (const foreign of [`arn:aws:iam::${ACCOUNT}:role/SC-${ACCOUNT}-pp-otherproduct1-AdminRole-1A2B3C4D5E6F`, `arn:aws:iam::${ACCOUNT}:role/team/SC-${ACCOUNT}-pp-x-Admin-1A2B`]) {
    for (const action of iamActions) {
      expect([foreign, action, may(action, foreign, { ...context, 'iam:PolicyARN': 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole' })]).toEqual([foreign, action, false]);
    }
  }
});
