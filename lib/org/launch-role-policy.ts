import { Aws, CfnCondition, Fn } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * Service Catalog names the stacks it launches `SC-ACCOUNT-pp-ID`, and
 * CloudFormation names unnamed resources after their stack: roles, instance
 * profiles, functions, log groups, topics, rules and alarms of the product all
 * start with it (buckets with its lowercase form), and the kit names the Auto
 * Scaling group and its SSM parameters after it.
 */
export const SC_STACK_PREFIX = 'SC-';

/**
 * The IAM path of every role the product creates in a Service Catalog launch
 * (the template sets it where PermissionsBoundary is set). The launch role's
 * IAM role actions (create, change trust, pass, delete, ...) are on
 * `role/graviton-llm-product/SC-*` only, so they reach no other Service Catalog
 * product's `SC-` roles. A path rather than a tag: it is part of the role's
 * ARN, which every IAM action is authorized against (iam:PassRole and
 * iam:DeleteRole included, whose condition keys are few), it is set at
 * CreateRole and can never change, and the launch role can create a role
 * there only with the kit's boundary; a tag can be added to or removed from a
 * role later by whoever may tag it.
 */
export const PRODUCT_ROLE_PATH = '/graviton-llm-product/';

/**
 * The policy variable IAM replaces with the account of the principal making
 * the request: the launch role's policy is the same in every launching
 * account, and the boundary it requires is that account's own.
 */
const PRINCIPAL_ACCOUNT = '${aws:PrincipalAccount}';

/** One statement of a policy the kit writes, with why it is as broad as it is (for the cdk-nag acknowledgements). */
export interface LaunchRoleStatement {
  readonly statement: iam.PolicyStatement;
  readonly reason: string;
}

/** Actions on resources, as one resource type of the template needs them. */
interface Grant {
  readonly actions: readonly string[];
  /** ARNs (built by `arn`), or '*' for actions that have no resource-level permissions. */
  readonly resources: readonly string[] | '*';
  readonly conditions?: Record<string, Record<string, unknown>>;
}

const arn = (service: string, resource: string, region = '*', account = '*') => `arn:${Aws.PARTITION}:${service}:${region}:${account}:${resource}`;
const ec2 = (...resources: string[]) => resources.map((r) => arn('ec2', r));
const sc = SC_STACK_PREFIX;
const GROUP = arn('autoscaling', `autoScalingGroup:*:autoScalingGroupName/${sc}*`);
const ELB = {
  loadBalancer: arn('elasticloadbalancing', 'loadbalancer/app/*/*'),
  listener: arn('elasticloadbalancing', 'listener/app/*/*/*'),
  targetGroup: arn('elasticloadbalancing', 'targetgroup/*/*'),
};
const SECURITY_GROUP_RULES: Grant = {
  actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress',
    'ec2:ModifySecurityGroupRules', 'ec2:UpdateSecurityGroupRuleDescriptionsIngress', 'ec2:UpdateSecurityGroupRuleDescriptionsEgress'],
  resources: ec2('security-group/*', 'security-group-rule/*'),
};
const DESCRIBE_SECURITY_GROUPS: Grant = { actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeSecurityGroupRules'], resources: '*' };
const ALARM_MANAGEMENT = ['cloudwatch:DeleteAlarms', 'cloudwatch:TagResource', 'cloudwatch:UntagResource', 'cloudwatch:ListTagsForResource'];
const LAMBDA_FUNCTION = arn('lambda', `function:${sc}*`);
/** The roles the product creates: under the kit's path, named after the SC- stack. */
const PRODUCT_ROLE = arn('iam', `role${PRODUCT_ROLE_PATH}${sc}*`, '');

/** What CloudFormation calls on an AWS::KMS::Key after CreateKey, to finish creating, read, update and delete it. */
export const KMS_KEY_ACTIONS: readonly string[] = ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:PutKeyPolicy', 'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation', 'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:DisableKey', 'kms:UpdateKeyDescription', 'kms:ScheduleKeyDeletion',
  'kms:TagResource', 'kms:UntagResource', 'kms:ListResourceTags'];

/**
 * The key policy statement that lets the Service Catalog launch role finish
 * creating, update and delete the key it is in, and no other: a key policy
 * belongs to one key, so it scopes by key id without a tag. A tag cannot do
 * it: AWS::KMS::Key's registry schema declares `"cloudFormationSystemTags":
 * false`, so the key never carries `aws:cloudformation:stack-name` (a
 * condition on it refused EnableKeyRotation, the handler's first call after
 * CreateKey, and so every launch), and a tag of the template's own, though
 * present from CreateKey (`"tagOnCreate": true`), can be put on any key by
 * whoever may tag keys.
 *
 * KMS needs no IAM policy for what a key policy grants a principal of the
 * key's own account (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html).
 * The principal is `*` held to the launch role's ARN by `aws:PrincipalArn`
 * (the role's ARN, not its session's: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
 * rather than the role's ARN, which KMS would refuse as an invalid principal
 * in an account without that role; where `serviceCatalogLaunch` is false (the
 * StackSet's stacks) the principal is the account instead, which only defers
 * to IAM, where the launch role holds no key action.
 */
export function launchRoleKeyStatement(launchRoleName: string, serviceCatalogLaunch: CfnCondition): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ServiceCatalogLaunchRoleThisKey',
    principals: [new ConditionalAnyPrincipal(serviceCatalogLaunch)],
    actions: [...KMS_KEY_ACTIONS],
    resources: ['*'],
    conditions: { ArnEquals: { 'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${launchRoleName}` } },
  });
}

/** Any principal where the condition holds (a condition in the statement narrows it), else the account's own IAM policies. */
class ConditionalAnyPrincipal extends iam.PrincipalBase {
  constructor(private readonly condition: CfnCondition) {
    super();
  }

  get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment({
      AWS: [Fn.conditionIf(this.condition.logicalId, '*', `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:root`).toString()],
    });
  }

  dedupeString(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `ConditionalAnyPrincipal(${this.condition.logicalId})`;
  }
}

/**
 * What CloudFormation calls, with the launch role's credentials, to create,
 * read, update and delete each resource type the product's template holds
 * (the handlers' permissions in the CloudFormation resource schemas), scoped
 * to the resource type's ARNs, to the `SC-` names where CloudFormation names
 * the resource after the stack, and to `*` only for actions with no
 * resource-level permissions (Describe and List calls, kms:CreateKey, log
 * deliveries). A template that gains a type not listed here fails synthesis.
 */
export const RESOURCE_TYPE_GRANTS: Readonly<Record<string, readonly Grant[]>> = {
  'AWS::EC2::VPC': [
    { actions: ['ec2:CreateVpc', 'ec2:DeleteVpc', 'ec2:ModifyVpcAttribute', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('vpc/*') },
    { actions: ['ec2:DescribeVpcs', 'ec2:DescribeVpcAttribute', 'ec2:DescribeNetworkAcls', 'ec2:DescribeSecurityGroups'], resources: '*' },
  ],
  'AWS::EC2::Subnet': [
    { actions: ['ec2:CreateSubnet'], resources: ec2('vpc/*', 'subnet/*') },
    { actions: ['ec2:DeleteSubnet', 'ec2:ModifySubnetAttribute', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('subnet/*') },
    { actions: ['ec2:DescribeSubnets', 'ec2:DescribeNetworkAcls'], resources: '*' },
  ],
  'AWS::EC2::RouteTable': [
    { actions: ['ec2:CreateRouteTable'], resources: ec2('vpc/*', 'route-table/*') },
    { actions: ['ec2:DeleteRouteTable', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('route-table/*') },
    { actions: ['ec2:DescribeRouteTables'], resources: '*' },
  ],
  'AWS::EC2::Route': [
    { actions: ['ec2:CreateRoute', 'ec2:ReplaceRoute', 'ec2:DeleteRoute'], resources: ec2('route-table/*') },
    { actions: ['ec2:DescribeRouteTables'], resources: '*' },
  ],
  'AWS::EC2::SubnetRouteTableAssociation': [
    { actions: ['ec2:AssociateRouteTable', 'ec2:DisassociateRouteTable', 'ec2:ReplaceRouteTableAssociation'], resources: ec2('route-table/*', 'subnet/*') },
    { actions: ['ec2:DescribeRouteTables', 'ec2:DescribeSubnets'], resources: '*' },
  ],
  'AWS::EC2::InternetGateway': [
    { actions: ['ec2:CreateInternetGateway', 'ec2:DeleteInternetGateway', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('internet-gateway/*') },
    { actions: ['ec2:DescribeInternetGateways'], resources: '*' },
  ],
  'AWS::EC2::VPCGatewayAttachment': [
    { actions: ['ec2:AttachInternetGateway', 'ec2:DetachInternetGateway'], resources: ec2('internet-gateway/*', 'vpc/*') },
    { actions: ['ec2:DescribeInternetGateways'], resources: '*' },
  ],
  'AWS::EC2::EIP': [
    { actions: ['ec2:AllocateAddress', 'ec2:ReleaseAddress', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('elastic-ip/*') },
    { actions: ['ec2:DescribeAddresses'], resources: '*' },
  ],
  'AWS::EC2::NatGateway': [
    { actions: ['ec2:CreateNatGateway', 'ec2:DeleteNatGateway', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('natgateway/*', 'subnet/*', 'elastic-ip/*') },
    { actions: ['ec2:DescribeNatGateways'], resources: '*' },
  ],
  'AWS::EC2::SecurityGroup': [
    { actions: ['ec2:CreateSecurityGroup'], resources: ec2('vpc/*', 'security-group/*') },
    { actions: ['ec2:DeleteSecurityGroup', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('security-group/*') },
    SECURITY_GROUP_RULES,
    DESCRIBE_SECURITY_GROUPS,
  ],
  'AWS::EC2::SecurityGroupIngress': [SECURITY_GROUP_RULES, DESCRIBE_SECURITY_GROUPS],
  'AWS::EC2::SecurityGroupEgress': [SECURITY_GROUP_RULES, DESCRIBE_SECURITY_GROUPS],
  'AWS::EC2::VPCEndpoint': [
    { actions: ['ec2:CreateVpcEndpoint', 'ec2:ModifyVpcEndpoint', 'ec2:DeleteVpcEndpoints', 'ec2:CreateTags', 'ec2:DeleteTags'],
      resources: ec2('vpc/*', 'vpc-endpoint/*', 'subnet/*', 'security-group/*', 'route-table/*') },
    { actions: ['ec2:DescribeVpcEndpoints', 'ec2:DescribePrefixLists', 'ec2:DescribeVpcEndpointServices'], resources: '*' },
    // Private DNS of an interface endpoint: EC2 associates the VPC with the service's hosted zone on the caller's behalf.
    { actions: ['route53:AssociateVPCWithHostedZone', 'route53:DisassociateVPCFromHostedZone'], resources: [`arn:${Aws.PARTITION}:route53:::hostedzone/*`, ...ec2('vpc/*')] },
  ],
  'AWS::EC2::FlowLog': [
    { actions: ['ec2:CreateFlowLogs', 'ec2:DeleteFlowLogs', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('vpc-flow-log/*', 'vpc/*') },
    { actions: ['ec2:DescribeFlowLogs'], resources: '*' },
    { actions: ['logs:CreateLogDelivery', 'logs:DeleteLogDelivery'], resources: '*' },
  ],
  'AWS::EC2::LaunchTemplate': [
    { actions: ['ec2:CreateLaunchTemplate', 'ec2:CreateLaunchTemplateVersion', 'ec2:ModifyLaunchTemplate', 'ec2:DeleteLaunchTemplate',
      'ec2:DeleteLaunchTemplateVersions', 'ec2:CreateTags', 'ec2:DeleteTags'], resources: ec2('launch-template/*') },
    { actions: ['ec2:DescribeLaunchTemplates', 'ec2:DescribeLaunchTemplateVersions'], resources: '*' },
  ],
  'AWS::AutoScaling::AutoScalingGroup': [
    // The kit names the group STACK-fleet; the rolling update (instance refresh) and its rollback run with these too.
    { actions: ['autoscaling:CreateAutoScalingGroup', 'autoscaling:UpdateAutoScalingGroup', 'autoscaling:DeleteAutoScalingGroup',
      'autoscaling:CreateOrUpdateTags', 'autoscaling:DeleteTags', 'autoscaling:SetDesiredCapacity', 'autoscaling:SuspendProcesses',
      'autoscaling:ResumeProcesses', 'autoscaling:TerminateInstanceInAutoScalingGroup', 'autoscaling:StartInstanceRefresh',
      'autoscaling:CancelInstanceRefresh', 'autoscaling:RollbackInstanceRefresh', 'autoscaling:PutScheduledUpdateGroupAction',
      'autoscaling:DeleteScheduledAction', 'autoscaling:AttachLoadBalancerTargetGroups', 'autoscaling:DetachLoadBalancerTargetGroups',
      // The group's own launch hook (LifecycleHookSpecificationList), and the separate hook of earlier
      // kit versions, which an upgrade's clean-up deletes.
      'autoscaling:PutLifecycleHook', 'autoscaling:DeleteLifecycleHook'],
    resources: [GROUP] },
    { actions: ['autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeScalingActivities', 'autoscaling:DescribeInstanceRefreshes',
      'autoscaling:DescribeScheduledActions', 'autoscaling:DescribeLoadBalancerTargetGroups', 'autoscaling:DescribeAutoScalingInstances',
      'autoscaling:DescribeLifecycleHooks',
      'cloudwatch:DescribeAlarms', 'ec2:DescribeInstances', 'ec2:DescribeImages', 'ec2:DescribeInstanceTypes', 'ec2:DescribeAvailabilityZones'], resources: '*' },
    // Auto Scaling checks that the caller may launch what the launch template describes.
    { actions: ['ec2:RunInstances', 'ec2:CreateTags'],
      resources: [...ec2('instance/*', 'volume/*', 'network-interface/*', 'subnet/*', 'security-group/*', 'launch-template/*'), arn('ec2', 'image/*', '*', '')] },
  ],
  'AWS::AutoScaling::LifecycleHook': [
    { actions: ['autoscaling:PutLifecycleHook', 'autoscaling:DeleteLifecycleHook'], resources: [GROUP] },
    { actions: ['autoscaling:DescribeLifecycleHooks'], resources: '*' },
  ],
  'AWS::AutoScaling::ScalingPolicy': [
    { actions: ['autoscaling:PutScalingPolicy', 'autoscaling:DeletePolicy'], resources: [GROUP] },
    { actions: ['autoscaling:DescribePolicies'], resources: '*' },
    // A target-tracking policy's alarms, which Auto Scaling names TargetTracking-GROUP-...
    { actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DeleteAlarms'], resources: [arn('cloudwatch', `alarm:TargetTracking-${sc}*`)] },
  ],
  'AWS::ElasticLoadBalancingV2::LoadBalancer': [
    { actions: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:DeleteLoadBalancer', 'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSecurityGroups', 'elasticloadbalancing:SetSubnets', 'elasticloadbalancing:SetIpAddressType',
      'elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'], resources: [ELB.loadBalancer] },
    { actions: ['elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DescribeLoadBalancerAttributes', 'elasticloadbalancing:DescribeTags',
      'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs', 'ec2:DescribeInternetGateways', 'ec2:DescribeAccountAttributes'], resources: '*' },
  ],
  'AWS::ElasticLoadBalancingV2::Listener': [
    { actions: ['elasticloadbalancing:CreateListener', 'elasticloadbalancing:ModifyListener', 'elasticloadbalancing:DeleteListener',
      'elasticloadbalancing:ModifyListenerAttributes', 'elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
    resources: [ELB.listener, ELB.loadBalancer, ELB.targetGroup] },
    { actions: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeListenerAttributes'], resources: '*' },
  ],
  'AWS::ElasticLoadBalancingV2::TargetGroup': [
    { actions: ['elasticloadbalancing:CreateTargetGroup', 'elasticloadbalancing:ModifyTargetGroup', 'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:DeleteTargetGroup', 'elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'], resources: [ELB.targetGroup] },
    { actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeTags'], resources: '*' },
  ],
  'AWS::CloudWatch::Alarm': [
    { actions: ['cloudwatch:PutMetricAlarm', ...ALARM_MANAGEMENT], resources: [arn('cloudwatch', `alarm:${sc}*`)] },
    { actions: ['cloudwatch:DescribeAlarms'], resources: '*' },
  ],
  'AWS::CloudWatch::CompositeAlarm': [
    { actions: ['cloudwatch:PutCompositeAlarm', ...ALARM_MANAGEMENT], resources: [arn('cloudwatch', `alarm:${sc}*`)] },
    { actions: ['cloudwatch:DescribeAlarms'], resources: '*' },
  ],
  'AWS::CloudWatch::Dashboard': [
    // CloudFormation's generated dashboard names do not carry the stack's.
    { actions: ['cloudwatch:PutDashboard', 'cloudwatch:GetDashboard', 'cloudwatch:DeleteDashboards'], resources: [arn('cloudwatch', 'dashboard/*', '')] },
  ],
  // Everything after CreateKey, on that key alone, comes from the key's own policy (launchRoleKeyStatement).
  'AWS::KMS::Key': [{ actions: ['kms:CreateKey'], resources: '*' }],
  'AWS::SNS::Topic': [
    { actions: ['sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes', 'sns:TagResource', 'sns:UntagResource',
      'sns:ListTagsForResource', 'sns:ListSubscriptionsByTopic'], resources: [arn('sns', `${sc}*`)] },
  ],
  'AWS::SNS::TopicPolicy': [{ actions: ['sns:SetTopicAttributes', 'sns:GetTopicAttributes'], resources: [arn('sns', `${sc}*`)] }],
  'AWS::SNS::Subscription': [
    { actions: ['sns:Subscribe', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes', 'sns:ListSubscriptionsByTopic'],
      resources: [arn('sns', `${sc}*`)] },
  ],
  'AWS::Lambda::Function': [
    { actions: ['lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:ListTags', 'lambda:PutFunctionConcurrency',
      'lambda:DeleteFunctionConcurrency', 'lambda:GetRuntimeManagementConfig', 'lambda:PutRuntimeManagementConfig'], resources: [LAMBDA_FUNCTION] },
    // A function in the VPC: Lambda checks the caller may see its subnets and security groups.
    { actions: ['ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'], resources: '*' },
  ],
  'AWS::Lambda::Permission': [{ actions: ['lambda:AddPermission', 'lambda:RemovePermission', 'lambda:GetPolicy'], resources: [LAMBDA_FUNCTION] }],
  'AWS::Logs::LogGroup': [
    { actions: ['logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy', 'logs:TagResource',
      'logs:UntagResource', 'logs:ListTagsForResource', 'logs:AssociateKmsKey', 'logs:DisassociateKmsKey'], resources: [arn('logs', `log-group:${sc}*`)] },
    { actions: ['logs:DescribeLogGroups'], resources: '*' },
  ],
  'AWS::Events::Rule': [
    { actions: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:EnableRule', 'events:DisableRule', 'events:PutTargets',
      'events:RemoveTargets', 'events:ListTargetsByRule', 'events:TagResource', 'events:UntagResource'], resources: [arn('events', `rule/${sc}*`)] },
  ],
  'AWS::S3::Bucket': [
    { actions: ['s3:CreateBucket', 's3:DeleteBucket', 's3:ListBucket', 's3:GetBucketLocation', 's3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration',
      's3:PutBucketVersioning', 's3:GetBucketVersioning', 's3:PutBucketPublicAccessBlock', 's3:GetBucketPublicAccessBlock', 's3:PutBucketOwnershipControls',
      's3:GetBucketOwnershipControls', 's3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration', 's3:PutBucketLogging', 's3:GetBucketLogging',
      's3:PutBucketTagging', 's3:GetBucketTagging', 's3:PutBucketAcl', 's3:GetBucketAcl', 's3:PutBucketPolicy', 's3:GetBucketPolicy'],
    resources: [`arn:${Aws.PARTITION}:s3:::${sc.toLowerCase()}*`] },
  ],
  'AWS::S3::BucketPolicy': [
    { actions: ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'], resources: [`arn:${Aws.PARTITION}:s3:::${sc.toLowerCase()}*`] },
  ],
  'AWS::SSM::Parameter': [
    { actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource',
      'ssm:ListTagsForResource'], resources: [arn('ssm', `parameter/graviton-llm/${sc}*`)] },
    { actions: ['ssm:DescribeParameters'], resources: '*' },
  ],
  // Created with the stack's template and signalled by the instances' own role: nothing to call.
  // CloudFormation keeps both itself: no call is made with the launch role's credentials.
  'AWS::CloudFormation::WaitConditionHandle': [],
  'AWS::CloudFormation::WaitCondition': [],
  // The fleet's builder (FleetBuilder): launched, tagged and, when its inputs change, terminated by
  // CloudFormation; it terminates itself after its build. Its instance profile's role is passed
  // through the template roles' pass-role grant (launchRoleStatements).
  'AWS::EC2::Instance': [
    { actions: ['ec2:RunInstances', 'ec2:CreateTags'],
      resources: [...ec2('instance/*', 'volume/*', 'network-interface/*', 'subnet/*', 'security-group/*'), arn('ec2', 'image/*', '*', '')] },
    { actions: ['ec2:TerminateInstances', 'ec2:DeleteTags', 'ec2:ModifyInstanceAttribute', 'ec2:StopInstances', 'ec2:StartInstances'], resources: ec2('instance/*') },
    { actions: ['ec2:DescribeInstances', 'ec2:DescribeInstanceAttribute', 'ec2:DescribeInstanceStatus', 'ec2:DescribeImages', 'ec2:DescribeVolumes',
      'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups'], resources: '*' },
  ],
  'AWS::IAM::Role': [
    // The boundary condition and the pass-role services are added by launchRoleStatements (they depend on the template).
    { actions: ['iam:DeleteRole', 'iam:GetRole', 'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags', 'iam:UpdateRole', 'iam:UpdateRoleDescription',
      'iam:UpdateAssumeRolePolicy', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies'], resources: [PRODUCT_ROLE] },
  ],
  'AWS::IAM::Policy': [{ actions: ['iam:GetRolePolicy'], resources: [PRODUCT_ROLE] }],
  'AWS::IAM::InstanceProfile': [
    { actions: ['iam:CreateInstanceProfile', 'iam:DeleteInstanceProfile', 'iam:GetInstanceProfile', 'iam:AddRoleToInstanceProfile',
      'iam:RemoveRoleFromInstanceProfile', 'iam:TagInstanceProfile', 'iam:UntagInstanceProfile'], resources: [arn('iam', `instance-profile/${sc}*`, '')] },
    { actions: ['iam:ListInstanceProfilesForRole'], resources: [PRODUCT_ROLE] },
  ],
};

/** The IAM actions that create or change a role's permissions: allowed only with the kit's boundary on the role. */
export const BOUNDED_ROLE_ACTIONS: readonly string[] = [
  'iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:AttachRolePolicy', 'iam:DetachRolePolicy', 'iam:PutRolePermissionsBoundary',
];

/**
 * What the AWS managed policies the template attaches allow, for the boundary.
 * A template that attaches another fails synthesis until it is listed here.
 */
export const MANAGED_POLICY_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  'service-role/AWSLambdaBasicExecutionRole': ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
  'service-role/AWSLambdaVPCAccessExecutionRole': ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'ec2:CreateNetworkInterface',
    'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
  AmazonSSMManagedInstanceCore: ['ssm:DescribeAssociation', 'ssm:GetDeployablePatchSnapshotForInstance', 'ssm:GetDocument', 'ssm:DescribeDocument',
    'ssm:GetManifest', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:ListAssociations', 'ssm:ListInstanceAssociations', 'ssm:PutInventory',
    'ssm:PutComplianceItems', 'ssm:PutConfigurePackageResult', 'ssm:UpdateAssociationStatus', 'ssm:UpdateInstanceAssociationStatus',
    'ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel',
    'ssmmessages:OpenDataChannel', 'ec2messages:AcknowledgeMessage', 'ec2messages:DeleteMessage', 'ec2messages:FailMessage', 'ec2messages:GetEndpoint',
    'ec2messages:GetMessages', 'ec2messages:SendReply'],
};

/** What the template's roles are, read from the template: their services, policies' actions and managed policies. */
export interface TemplateRoles {
  /** The services the roles trust (what `iam:PassRole` may pass them to). */
  readonly services: string[];
  /** Names of the AWS managed policies attached (`service-role/AWSLambdaBasicExecutionRole`). */
  readonly managedPolicies: string[];
  /** Every action of the roles' inline policies and of their managed policies, sorted. */
  readonly actions: string[];
}

/** Reads the roles of a synthesized template. Throws on a managed policy that is not an AWS one listed in MANAGED_POLICY_ACTIONS. */
export function templateRoles(template: any): TemplateRoles {
  const resources = Object.values(template.Resources ?? {}) as any[];
  const services = new Set<string>();
  const managed = new Set<string>();
  const actions = new Set<string>();
  const addDocument = (doc: any) => {
    for (const st of doc?.Statement ?? []) {
      if (st.Effect === 'Allow') [st.Action].flat().forEach((a: string) => actions.add(a));
    }
  };
  for (const r of resources) {
    if (r.Type === 'AWS::IAM::Policy') addDocument(r.Properties.PolicyDocument);
    if (r.Type !== 'AWS::IAM::Role') continue;
    for (const st of r.Properties.AssumeRolePolicyDocument.Statement) [st.Principal?.Service ?? []].flat().forEach((s: string) => services.add(s));
    for (const p of r.Properties.Policies ?? []) addDocument(p.PolicyDocument);
    for (const ref of r.Properties.ManagedPolicyArns ?? []) {
      const text = JSON.stringify(ref);
      const name = /:iam::aws:policy\/([\w+=,.@/-]+)"/.exec(text)?.[1];
      if (name === undefined || MANAGED_POLICY_ACTIONS[name] === undefined) {
        throw new Error(`The product template attaches the managed policy ${text}; the launch role's boundary lists the AWS managed policies ${Object.keys(MANAGED_POLICY_ACTIONS).join(', ')}: add its actions to MANAGED_POLICY_ACTIONS in lib/org/launch-role-policy.ts`);
      }
      managed.add(name);
      MANAGED_POLICY_ACTIONS[name].forEach((a) => actions.add(a));
    }
  }
  return { services: [...services].sort(), managedPolicies: [...managed].sort(), actions: [...actions].sort() };
}

/** The resource types of a synthesized template; a custom resource counts as `Custom::*`. */
export function templateResourceTypes(template: any): string[] {
  return [...new Set((Object.values(template.Resources ?? {}) as any[]).map((r) => (r.Type.startsWith('Custom::') ? 'Custom::*' : r.Type)))].sort();
}

/** The boundary the launch role requires on every role it creates, as the condition names it (in the launching account). */
export function permissionsBoundaryConditionArn(boundaryName: string): string {
  return `arn:${Aws.PARTITION}:iam::${PRINCIPAL_ACCOUNT}:policy/${boundaryName}`;
}

export interface LaunchRolePolicyProps {
  /** The product's synthesized template (parsed JSON). */
  readonly template: any;
  /** Prefix of the org asset buckets (PREFIX-REGION). */
  readonly assetBucketPrefix: string;
  /** Name of the managed policy every role the product creates must have as its permissions boundary. */
  readonly permissionsBoundaryName: string;
}

/**
 * What Service Catalog's launch role needs to create, update and delete the
 * product's stack in the launching account, derived from the template: the
 * Service Catalog and CloudFormation calls of any launch, then each resource
 * type's grants (RESOURCE_TYPE_GRANTS), merged by resources and conditions.
 * Roles may be created and given policies only with the kit's permissions
 * boundary, attached only the managed policies the template attaches, and
 * passed only to the services the template's roles trust.
 */
export function launchRoleStatements(props: LaunchRolePolicyProps): LaunchRoleStatement[] {
  const types = templateResourceTypes(props.template);
  const unknown = types.filter((t) => t !== 'Custom::*' && RESOURCE_TYPE_GRANTS[t] === undefined);
  if (unknown.length > 0) {
    throw new Error(`The product template holds resource types the launch role has no grants for: ${unknown.join(', ')}; add what CloudFormation calls to create, update and delete them to RESOURCE_TYPE_GRANTS in lib/org/launch-role-policy.ts`);
  }
  const roles = templateRoles(props.template);
  const boundary = permissionsBoundaryConditionArn(props.permissionsBoundaryName);

  const statements: LaunchRoleStatement[] = [
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
        resources: [`arn:${Aws.PARTITION}:s3:::${props.assetBucketPrefix}-*/*`],
      }),
      reason: 'The org asset buckets (PREFIX-REGION), whose objects are content-hash keys: Lambda reads function code with the caller\'s permissions.',
    },
  ];

  // Template parameters CloudFormation resolves from SSM (the AMI) are read with the caller's credentials.
  const ssmParameters = (Object.values(props.template.Parameters ?? {}) as any[])
    .filter((p) => String(p.Type).startsWith('AWS::SSM::Parameter::Value<') && typeof p.Default === 'string')
    .map((p) => arn('ssm', `parameter${p.Default}`));
  if (ssmParameters.length > 0) {
    statements.push({
      // And a parameter of the account's own under /graviton-llm/, which a launch may name instead to pin the AMI.
      statement: new iam.PolicyStatement({ sid: 'TemplateSsmParameters', actions: ['ssm:GetParameters'], resources: [...ssmParameters, arn('ssm', 'parameter/graviton-llm/*')] }),
      reason: 'The public parameters the template\'s SSM-typed parameters name by default (the Amazon Linux AMI), in any region, or the account\'s own under /graviton-llm/ that a launch names to pin the AMI.',
    });
  }
  if (types.includes('Custom::*')) {
    statements.push({
      statement: new iam.PolicyStatement({ sid: 'CustomResources', actions: ['lambda:InvokeFunction'], resources: [LAMBDA_FUNCTION] }),
      reason: 'CloudFormation invokes the template\'s custom-resource functions, which are named after the SC- stack, with the caller\'s credentials.',
    });
  }
  if (types.includes('AWS::IAM::Role')) {
    statements.push({
      statement: new iam.PolicyStatement({
        sid: 'BoundedRoles',
        actions: [...BOUNDED_ROLE_ACTIONS].filter((a) => a !== 'iam:AttachRolePolicy' && a !== 'iam:DetachRolePolicy'),
        resources: [PRODUCT_ROLE],
        conditions: { StringEquals: { 'iam:PermissionsBoundary': boundary } },
      }),
      reason: 'Only the SC- stack\'s roles under the kit\'s path, and only with the kit\'s permissions boundary: no role the launch role makes can do more than the boundary allows.',
    });
    statements.push({
      statement: new iam.PolicyStatement({
        sid: 'BoundedRoleManagedPolicies',
        actions: ['iam:AttachRolePolicy', 'iam:DetachRolePolicy'],
        resources: [PRODUCT_ROLE],
        conditions: {
          StringEquals: { 'iam:PermissionsBoundary': boundary },
          ArnEquals: { 'iam:PolicyARN': roles.managedPolicies.map((name) => `arn:${Aws.PARTITION}:iam::aws:policy/${name}`) },
        },
      }),
      reason: 'Only the SC- stack\'s roles under the kit\'s path, only with the kit\'s boundary, and only the AWS managed policies the template attaches.',
    });
    statements.push({
      statement: new iam.PolicyStatement({
        sid: 'PassStackRoles',
        actions: ['iam:PassRole'],
        resources: [PRODUCT_ROLE],
        conditions: { StringEquals: { 'iam:PassedToService': roles.services } },
      }),
      reason: 'The SC- stack\'s roles under the kit\'s path (no other product\'s), to the services they trust (Lambda, EC2, VPC flow logs).',
    });
  }
  if (types.some((t) => t === 'AWS::AutoScaling::AutoScalingGroup' || t === 'AWS::ElasticLoadBalancingV2::LoadBalancer')) {
    statements.push({
      statement: new iam.PolicyStatement({
        sid: 'ServiceLinkedRoles',
        actions: ['iam:CreateServiceLinkedRole'],
        resources: [arn('iam', 'role/aws-service-role/*', '')],
        conditions: { StringEquals: { 'iam:AWSServiceName': ['autoscaling.amazonaws.com', 'elasticloadbalancing.amazonaws.com'] } },
      }),
      reason: 'The first Auto Scaling group and load balancer of an account create their service-linked roles; the condition names the two services.',
    });
  }

  // The resource types' grants, one statement per distinct resources and condition.
  const merged = new Map<string, { actions: Set<string>; resources: string[] | '*'; conditions?: Grant['conditions'] }>();
  for (const type of types) {
    for (const grant of RESOURCE_TYPE_GRANTS[type] ?? []) {
      const key = JSON.stringify([grant.resources === '*' ? '*' : [...grant.resources].sort(), grant.conditions ?? null]);
      const entry = merged.get(key) ?? { actions: new Set<string>(), resources: grant.resources === '*' ? '*' : [...grant.resources], conditions: grant.conditions };
      grant.actions.forEach((a) => entry.actions.add(a));
      merged.set(key, entry);
    }
  }
  let n = 0;
  for (const { actions, resources, conditions } of merged.values()) {
    n++;
    statements.push({
      statement: new iam.PolicyStatement({
        sid: `ResourceTypes${n}`,
        actions: [...actions].sort(),
        resources: resources === '*' ? ['*'] : resources,
        conditions,
      }),
      reason: resources === '*'
        ? 'Describe and List calls, kms:CreateKey and log deliveries have no resource-level permissions; CloudFormation makes them to create and read the template\'s resources.'
        : 'One resource type of the template: its ARNs, by the SC- stack\'s names where CloudFormation names it after the stack, and otherwise by the random id the service gives it (a key by the tag CloudFormation puts on it).',
    });
  }
  return statements;
}

/**
 * The template's resource-based policies that may name its roles as principals,
 * and the ARNs of the resources they belong to in a launched stack:
 * CloudFormation names the buckets after the SC- stack, in lower case. A role
 * named by a resource-based policy gets what it allows only within its
 * permissions boundary ("Resource-based policies that grant permissions to an
 * IAM role ARN are limited by an implicit deny in a permissions boundary",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html),
 * so the boundary must hold those actions too, on those resources. aws-cdk-lib's
 * auto-delete provider gets all of its S3 permissions this way (its role has
 * no S3 policy of its own). A template whose other resource policy names one of
 * its roles fails synthesis until its type is listed here.
 */
export const RESOURCE_POLICY_SCOPES: Readonly<Record<string, { readonly document: (properties: any) => any; readonly resources: readonly string[] }>> = {
  'AWS::S3::BucketPolicy': { document: (p) => p.PolicyDocument, resources: [`arn:${Aws.PARTITION}:s3:::${sc.toLowerCase()}*`] },
};

/** What the template's resource-based policies allow its roles: one entry per listed policy type, with its resources. */
export function resourcePolicyGrants(template: any): { type: string; actions: string[]; resources: readonly string[] }[] {
  const resources = Object.entries(template.Resources ?? {}) as [string, any][];
  const roleIds = new Set(resources.filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id));
  const namesRole = (principal: unknown): boolean => {
    let found = false;
    const walk = (node: any) => {
      if (node === null || typeof node !== 'object') return;
      const target = node.Ref ?? (Array.isArray(node['Fn::GetAtt']) ? node['Fn::GetAtt'][0] : undefined);
      if (typeof target === 'string' && roleIds.has(target)) found = true;
      Object.values(node).forEach(walk);
    };
    walk(principal);
    return found;
  };
  const byType = new Map<string, Set<string>>();
  for (const [id, r] of resources) {
    // Any Principal in the resource's properties (a policy document's statements, a permission's principal).
    const principals: unknown[] = [];
    const collect = (node: any) => {
      if (node === null || typeof node !== 'object') return;
      if (!Array.isArray(node) && 'Principal' in node) principals.push(node.Principal);
      Object.values(node).forEach(collect);
    };
    collect(r.Properties);
    if (!principals.some(namesRole)) continue;
    const scope = RESOURCE_POLICY_SCOPES[r.Type];
    if (scope === undefined) {
      throw new Error(`${id} (${r.Type}) grants one of the template's roles permissions as a resource-based policy; the boundary must hold them: add the type to RESOURCE_POLICY_SCOPES in lib/org/launch-role-policy.ts`);
    }
    const actions = byType.get(r.Type) ?? new Set<string>();
    for (const st of scope.document(r.Properties)?.Statement ?? []) {
      if (st.Effect === 'Allow' && namesRole(st.Principal)) [st.Action].flat().forEach((a: string) => actions.add(a));
    }
    byType.set(r.Type, actions);
  }
  return [...byType.entries()].map(([type, actions]) => ({ type, actions: [...actions].sort(), resources: RESOURCE_POLICY_SCOPES[type].resources }));
}

/**
 * The permissions boundary of every role the product creates: the actions
 * the template's roles' policies and managed policies hold, and nothing
 * else (no IAM, no STS), on any resource: each role's own policy scopes the
 * resources, and the boundary caps what any role can ever be given. And
 * what the template's resource-based policies allow its roles (the
 * auto-delete provider's bucket policy grants), on the SC- stack's own
 * resources of that type only: a role the boundary limits gets nothing from a
 * resource policy that the boundary does not also allow.
 */
export function permissionsBoundaryStatements(template: any): LaunchRoleStatement[] {
  const { actions } = templateRoles(template);
  return [
    {
      statement: new iam.PolicyStatement({ sid: 'ProductRoleActions', actions, resources: ['*'] }),
      reason: 'A permissions boundary: the roles\' own policies scope each action to the stack\'s resources; the boundary lists the actions those policies and their AWS managed policies hold (the CDK grants\' s3:GetObject*-style wildcards included), so that no role the launch role creates can hold more.',
    },
    ...resourcePolicyGrants(template).map(({ type, actions: granted, resources }, i) => ({
      statement: new iam.PolicyStatement({ sid: `ProductResourcePolicyGrants${i + 1}`, actions: granted, resources: [...resources] }),
      reason: `What the template's ${type} resources allow its roles (aws-cdk-lib's auto-delete provider empties the stack's buckets with the bucket policies' s3:DeleteObject*, s3:GetBucket* and s3:List*), which a boundary must also allow; only on the SC- stack's own resources of that type.`,
    })),
  ];
}

/** IAM's size limit of a customer managed policy document, in characters without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/**
 * Splits statements, in order, into groups that each fit one managed policy
 * (a role's inline policies share 10,240 characters, which the launch role's
 * statements exceed). The size is measured with unresolved tokens, which are
 * longer than what they resolve to, so a group never exceeds the limit.
 */
export function managedPolicyGroups<T extends LaunchRoleStatement>(statements: T[], maxChars = MANAGED_POLICY_MAX_CHARS): T[][] {
  const envelope = JSON.stringify({ Version: '2012-10-17', Statement: [] }).length;
  const groups: T[][] = [];
  let size = envelope;
  for (const st of statements) {
    const length = JSON.stringify(st.statement.toStatementJson()).length + 1;
    if (length + envelope > maxChars) {
      throw new Error(`statement ${st.statement.sid} alone is ${length} characters, more than a managed policy holds (${maxChars})`);
    }
    if (groups.length === 0 || size + length > maxChars) {
      groups.push([]);
      size = envelope;
    }
    groups[groups.length - 1].push(st);
    size += length;
  }
  return groups;
}
