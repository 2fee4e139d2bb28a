import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { registerChecks } from '../../lib/app/checks';
import { ArtifactStore, BUILD_CACHE_PREFIX, MODEL_CACHE_PREFIX, QUANTIZED_CACHE_PREFIX } from '../../lib/constructs/artifact-store';
import { constructTestApp } from '../support/synth';

/** Builds an ArtifactStore alone in a fresh stack, with the kit's checks (cdk-nag, CloudFormation Validate), and synthesizes it. */
function build(retainOnDelete: boolean): { store: ArtifactStore; stack: Stack; t: Template } {
  const app = constructTestApp();
  registerChecks(app);
  const stack = new Stack(app, 'Store', { env: { region: 'us-east-1' } });
  const store = new ArtifactStore(stack, 'Artifacts', { retainOnDelete });
  app.synth();
  return { store, stack, t: Template.fromStack(stack) };
}

describe('ArtifactStore alone, deleted with the stack (retainOnDelete false), with the kit\'s checks', () => {
  let s: ReturnType<typeof build>;
  beforeAll(() => {
    s = build(false);
  });

  test('two buckets, both SSE-S3, all public access blocked, TLS-only', () => {
    s.t.resourceCountIs('AWS::S3::Bucket', 2);
    for (const bucket of [s.store.bucket, s.store.accessLogBucket]) {
      const id = s.stack.getLogicalId(bucket.node.defaultChild as any);
      expect(s.t.toJSON().Resources[id].Properties).toMatchObject({
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      s.t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          })]),
        },
      });
    }
  });

  test('the cache bucket is versioned, logs to the access-log bucket, expires replaced models and aborts dead uploads', () => {
    const id = s.stack.getLogicalId(s.store.bucket.node.defaultChild as any);
    const logsId = s.stack.getLogicalId(s.store.accessLogBucket.node.defaultChild as any);
    const bucket = s.t.toJSON().Resources[id].Properties;
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'artifact-bucket/' });
    expect(bucket.LifecycleConfiguration.Rules).toEqual([
      { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      { Prefix: MODEL_CACHE_PREFIX, NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true, Status: 'Enabled' },
    ]);
    // Builds (cache/builds/) and quantized models (cache/quantized/) are used only as first written:
    // no rule may expire their versions, and the one that does names a prefix outside both.
    expect(JSON.stringify(bucket.LifecycleConfiguration)).not.toContain('builds');
    expect(JSON.stringify(bucket.LifecycleConfiguration)).not.toContain('quantized');
    for (const rule of bucket.LifecycleConfiguration.Rules.filter((r: any) => r.NoncurrentVersionExpiration)) {
      expect(rule.Prefix).toBeDefined();
      expect(BUILD_CACHE_PREFIX.startsWith(rule.Prefix) || QUANTIZED_CACHE_PREFIX.startsWith(rule.Prefix)).toBe(false);
    }
  });

  test('the access-log bucket takes the load balancer\'s delivery (bucket owner preferred) and keeps logs 90 days', () => {
    const logs = s.t.toJSON().Resources[s.stack.getLogicalId(s.store.accessLogBucket.node.defaultChild as any)].Properties;
    expect(logs.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] });
    expect(logs.LifecycleConfiguration.Rules).toEqual([{ ExpirationInDays: 90, Status: 'Enabled' }]);
    expect(logs.VersioningConfiguration).toBeUndefined();
  });

  test('both buckets are deleted, their contents emptied first', () => {
    for (const bucket of Object.values(s.t.findResources('AWS::S3::Bucket'))) {
      expect(bucket.DeletionPolicy).toBe('Delete');
    }
    s.t.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
  });
});

describe('ArtifactStore alone, retained (retainOnDelete true)', () => {
  test('both buckets and their contents stay when the stack is deleted; nothing empties them', () => {
    const { t } = build(true);
    const buckets = Object.values(t.findResources('AWS::S3::Bucket'));
    expect(buckets).toHaveLength(2);
    for (const bucket of buckets) {
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
    t.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    t.resourceCountIs('AWS::Lambda::Function', 0);
  });
});
