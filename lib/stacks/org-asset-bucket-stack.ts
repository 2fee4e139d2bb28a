import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface OrgAssetBucketStackProps extends StackProps {
  /** `PREFIX-REGION`: the name the org template's file assets point at. */
  readonly bucketName: string;
  /** Accounts of this organization may read the assets. */
  readonly organizationId: string;
}

/**
 * One region's org asset bucket, in the administrator account: the org
 * template's Lambda bundles and boot script, which every account of the
 * organization reads when it deploys the template in this region (Lambda
 * reads the code as the deploying role, the instances read the boot script
 * as their own role). SSE-S3 rather than KMS, so that readers in other
 * accounts need no key grant; versioned, TLS only, no public access.
 */
export class OrgAssetBucketStack extends Stack {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: OrgAssetBucketStackProps) {
    super(scope, id, props);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{
        // Keys are content hashes, so an object is only ever rewritten with the same bytes.
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      }],
      // Stacks across the organization keep referring to these objects (an update or rollback reads them again).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OrganizationReadsAssets',
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [this.bucket.arnForObjects('*')],
      conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
    }));
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'A distribution bucket of build artifacts (code bundles and a script, content-addressed and versioned) that only the administrator account writes; CloudTrail records those writes, and per-read access logs would need a log bucket per region for no audit gain.',
    });

    new CfnOutput(this, 'BucketName', { value: this.bucket.bucketName, description: 'Org asset bucket of this region' });
  }
}
