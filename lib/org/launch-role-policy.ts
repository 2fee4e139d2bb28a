import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Service Catalog names the stacks it launches `SC-ACCOUNT-pp-ID`, and
 * CloudFormation names unnamed resources after their stack: roles, instance
 * profiles, functions, log groups, topics and rules of the product all start
 * with it (buckets with its lowercase form).
 */
const SC_STACK_PREFIX = 'SC-';

/** One statement of the launch role's policy, with why it is as broad as it is (for the cdk-nag acknowledgements). */
export interface LaunchRoleStatement {
  readonly statement: iam.PolicyStatement;
  readonly reason: string;
}

/**
 * What Service Catalog's launch role needs to create, update and delete the
 * org template's stack in the launching account. Everything the stack names
 * after itself (IAM, Lambda, logs, SNS, EventBridge, S3, its SSM parameters)
 * is limited to the `SC-` names; the network and compute services, whose
 * resources get random ids, and KMS (CreateKey has no resource) are
 * service-wide; and the role may read the org asset buckets (Lambda reads a
 * function's code with the caller's permissions).
 */
export function launchRoleStatements(assetBucketPrefix: string): LaunchRoleStatement[] {
  const arn = (service: string, resource: string, region = '*') => `arn:${Aws.PARTITION}:${service}:${region}:*:${resource}`;
  const sc = SC_STACK_PREFIX;
  return [
    {
      statement: new iam.PolicyStatement({
        sid: 'ProductStack',
        actions: [
          'cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackResources',
          'cloudformation:SetStackPolicy', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet',
          'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet', 'cloudformation:ListChangeSets',
        ],
        resources: [arn('cloudformation', `stack/${sc}*`)],
      }),
      reason: 'Service Catalog names the stacks it launches SC-ACCOUNT-pp-ID; the wildcard is that id.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'TemplateChecks',
        actions: ['cloudformation:ValidateTemplate', 'cloudformation:GetTemplateSummary'],
        resources: ['*'],
      }),
      reason: 'ValidateTemplate and GetTemplateSummary have no resource-level permissions.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'ProductTemplate',
        actions: ['s3:GetObject'],
        resources: ['*'],
        conditions: { StringEquals: { 's3:ExistingObjectTag/servicecatalog:provisioning': 'true' } },
      }),
      reason: 'Service Catalog\'s own copy of the product template: its bucket is Service Catalog\'s, so only the tag it puts on provisioning templates identifies it (the documented launch-role statement).',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'OrgAssets',
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::${assetBucketPrefix}-*/*`],
      }),
      reason: 'The org asset buckets (PREFIX-REGION), whose objects are content-hash keys: Lambda reads function code with the caller\'s permissions.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'StackIam',
        actions: [
          'iam:CreateRole', 'iam:DeleteRole', 'iam:GetRole', 'iam:TagRole', 'iam:UntagRole', 'iam:UpdateAssumeRolePolicy',
          'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:GetRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy',
          'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:PassRole',
          'iam:CreateInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:GetInstanceProfile',
          'iam:AddRoleToInstanceProfile', 'iam:RemoveRoleFromInstanceProfile', 'iam:ListInstanceProfilesForRole',
        ],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/${sc}*`, `arn:${Aws.PARTITION}:iam::*:instance-profile/${sc}*`],
      }),
      reason: 'Only the roles and instance profile the product\'s stack creates, which CloudFormation names after the SC- stack.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'ServiceLinkedRoles',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [`arn:${Aws.PARTITION}:iam::*:role/aws-service-role/*`],
        conditions: { StringEquals: { 'iam:AWSServiceName': ['autoscaling.amazonaws.com', 'elasticloadbalancing.amazonaws.com'] } },
      }),
      reason: 'The first Auto Scaling group and load balancer of an account create their service-linked roles; the condition names the two services.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'StackNamedResources',
        actions: ['lambda:*', 'logs:*', 'sns:*', 'events:*'],
        resources: [
          arn('lambda', `function:${sc}*`),
          arn('logs', `log-group:${sc}*`),
          arn('sns', `${sc}*`),
          arn('events', `rule/${sc}*`),
        ],
      }),
      reason: 'Functions, log groups, the alarm topic and the canary\'s schedule, all named after the SC- stack by CloudFormation.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'StackBuckets',
        actions: ['s3:*'],
        resources: [`arn:${Aws.PARTITION}:s3:::${sc.toLowerCase()}*`, `arn:${Aws.PARTITION}:s3:::${sc.toLowerCase()}*/*`],
      }),
      reason: 'The artifact and access-log buckets, named after the lowercase SC- stack; deleting the stack empties them.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'StackParameters',
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource', 'ssm:ListTagsForResource'],
        resources: [arn('ssm', 'parameter/graviton-llm/*'), arn('ssm', 'parameter/aws/service/ami-amazon-linux-latest/*')],
      }),
      reason: 'The stack\'s agent configuration parameters under /graviton-llm/, and the public Amazon Linux AMI parameter the launch template resolves.',
    },
    {
      statement: new iam.PolicyStatement({
        sid: 'NetworkComputeMonitoring',
        actions: ['ec2:*', 'elasticloadbalancing:*', 'autoscaling:*', 'cloudwatch:*', 'kms:*', 'logs:DescribeLogGroups', 'ssm:DescribeParameters'],
        resources: ['*'],
      }),
      reason: 'The VPC, subnets, NAT, endpoints, security groups, launch template, load balancer, Auto Scaling group, alarms, dashboard and the alarm topic\'s KMS key get random ids (CreateKey and the Describe calls have no resource at all); these services are what the product is made of.',
    },
  ];
}
