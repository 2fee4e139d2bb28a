import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { throwIfProblems } from '../base/problems';
import { booleanType } from '../base/prop-types';
import { BUILD_CACHE_DIR, MODEL_CACHE_DIR, QUANTIZED_CACHE_DIR } from '../../runtime/boot/cache/keys';

export interface ArtifactStoreProps {
  /** Keep the buckets and their contents when the stack is deleted. */
  readonly retainOnDelete: boolean;
}

/** Key prefix of the build and model cache; the instances may write nowhere else. */
export const CACHE_PREFIX = 'cache/';

/** How long an overwritten or deleted cached source model stays recoverable. */
const NONCURRENT_VERSION_DAYS = 30;
/** Key prefix of the cached llama.cpp builds, whose versions are all kept (see the bucket's lifecycle). */
export const BUILD_CACHE_PREFIX = `${CACHE_PREFIX}${BUILD_CACHE_DIR}`;
/** Key prefix of the cached models as fetched, checked against the template's SHA-256. */
export const MODEL_CACHE_PREFIX = `${CACHE_PREFIX}${MODEL_CACHE_DIR}`;
/** Key prefix of the models quantized on an instance, whose versions are all kept like the builds'. */
export const QUANTIZED_CACHE_PREFIX = `${CACHE_PREFIX}${QUANTIZED_CACHE_DIR}`;

/**
 * The bucket that caches llama.cpp builds and models, so that only the first
 * instance of a configuration compiles and downloads; and the bucket its
 * access logs (and the load balancer's) go to.
 */
export class ArtifactStore extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactStoreProps) {
    super(scope, id);
    const retain = booleanType('retainOnDelete', props.retainOnDelete);
    throwIfProblems(`ArtifactStore ${this.node.path}`, retain ? [retain] : []);
    const removal = props.retainOnDelete
      ? { removalPolicy: RemovalPolicy.RETAIN }
      : { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true };

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      // The load balancer's log delivery supports only SSE-S3.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      ...removal,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket is the access-log destination; logging it into itself would loop and logging it elsewhere needs a third bucket for no audit gain.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'artifact-bucket/',
      // Instances run what this bucket holds. A build, and a model quantized on an instance, is used
      // only as first written: the boot takes the oldest version of such an object that passes its
      // checks, so every version of one is kept (an expired first version would hand the key to
      // whatever was written after it): no rule here may expire versions under builds/ or quantized/.
      // A source model is checked against the SHA-256 in the template whichever version is read: its
      // replaced versions (multi-GiB) expire.
      versioned: true,
      lifecycleRules: [
        {
          // A boot that dies mid-upload of a multi-GiB model leaves parts that are billed but never read.
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          prefix: MODEL_CACHE_PREFIX,
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
          // Once its older versions are gone, a delete marker only slows listings.
          expiredObjectDeleteMarker: true,
        },
      ],
      ...removal,
    });
  }
}
