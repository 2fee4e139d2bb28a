import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { METRIC_NAMESPACE } from '../monitoring/metric-definitions';
import { CACHE_PREFIX } from './artifact-store';
import { nagText } from './nag-findings';

/**
 * The IAM statements an instance's boot needs, defined once for the two
 * roles that run it: the fleet's (reads the cache) and the builder's (the
 * only writer of the cache). Each function adds to the role it is given.
 */

/** The cache's objects, as the policies name them. */
export function cacheObjectsArn(bucket: s3.IBucket): string {
  return bucket.arnForObjects(`${CACHE_PREFIX}*`);
}

/**
 * Read under the cache prefix only; list only that prefix, so a miss reads as 404 rather than 403.
 * Reading a version by id is how a pinned fleet reads exactly what its builder wrote.
 */
export function grantCacheRead(role: iam.Role, bucket: s3.IBucket): void {
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject', 's3:GetObjectVersion'],
    resources: [cacheObjectsArn(bucket)],
  }));
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['s3:ListBucket', 's3:ListBucketVersions'],
    resources: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${CACHE_PREFIX}*`] } },
  }));
}

/**
 * Write under the cache prefix only, and no delete of any kind: a version once written stays
 * (the bucket is versioned), so a pin never names a version that was removed under it.
 */
export function grantCacheWrite(role: iam.Role, bucket: s3.IBucket): void {
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
    resources: [cacheObjectsArn(bucket)],
  }));
}

/** The model's own object, where the configuration names an s3:// source. */
export function grantModelSourceRead(role: iam.Role, source: string): void {
  if (!source.startsWith('s3://')) {
    return;
  }
  const [, , bucketName, ...key] = source.split('/');
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'],
    resources: [`arn:${Stack.of(role).partition}:s3:::${bucketName}/${key.join('/')}`],
  }));
}

/** The role may read `asset`'s object, from a bucket of `account` only (`s3:ResourceAccount`). */
export function grantAssetRead(role: iam.Role, asset: s3assets.Asset, account: string): void {
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['s3:GetObject'],
    resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)],
    conditions: { StringEquals: { 's3:ResourceAccount': account } },
  }));
}

/** A failed boot counts itself: PutMetricData has no resource-level permissions, the condition keeps it to the kit's namespace. */
export function grantBootMetrics(role: iam.Role): void {
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': METRIC_NAMESPACE } },
  }));
}

/** The ARN of a parameter named `/a/b` or `a/b` in the role's stack. */
export function parameterArn(stack: Stack, name: string): string {
  return stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
}

/** The role of an instance: assumed by EC2, with Session Manager (no SSH key, no open port). */
export function instanceRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    description,
    managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
  });
}

/** The cdk-nag findings every instance role has, each acknowledged for its own reason. */
export function acknowledgeInstanceRoleFindings(role: iam.Role, bucket: s3.IBucket, cacheAccess: string): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
    reason: 'cloudwatch:PutMetricData (a failed boot counting itself) has no resource-level permissions; a condition limits it to the GravitonLlm namespace.',
  });
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
    reason: 'AmazonSSMManagedInstanceCore is the documented minimum for Session Manager, the only way into the instances (no SSH key, no open port).',
  });
  // The ARN as the policy holds it, so that any bucket is acknowledged: one of this stack (a
  // GetAtt), or one imported by name (a literal), which has no CloudFormation resource here.
  Validations.of(role).acknowledge({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagText(Stack.of(role), cacheObjectsArn(bucket))}]`,
    reason: `Object actions (${cacheAccess}) are limited to the cache/ prefix of the artifact bucket; builds and models are keyed by content under it, so names are not known in advance.`,
  });
}
