import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { listRegionalUploads } from '../../lib/org/asset-manifest';
import { PublishOrgAssetsResult, UsageError, publishOrgAssets } from '../../tools/org/publish-assets';
import { OrgSynthesized, synthOrg } from './support/org-synth';

/**
 * The publisher against moto_server, a local S3: the real synthesized
 * manifest (bundled Lambda code, the boot script, the template), the real
 * cdk-assets library, with AWS_ENDPOINT_URL pointing at moto.
 */
const PREFIX = 'graviton-llm-org-assets-example';
const hasMoto = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0;
if (!hasMoto) {
  // eslint-disable-next-line no-console
  console.log('moto_server is not installed (pip install "moto[server]"): skipping the publisher test against a local S3');
}
const describeWithMoto = hasMoto ? describe : describe.skip;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch (e) {
      if (Date.now() > deadline) {
        throw new Error(`moto_server did not answer at ${url}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describeWithMoto('publish-org-assets against moto_server', () => {
  let moto: ChildProcess;
  let endpoint: string;
  let s: OrgSynthesized;
  const savedEnv = { ...process.env };
  const logged: string[] = [];

  const createBucket = async (region: string) => {
    const body = region === 'us-east-1' ? undefined
      : `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${region}</LocationConstraint></CreateBucketConfiguration>`;
    const response = await fetch(`${endpoint}/${PREFIX}-${region}`, { method: 'PUT', body });
    // 409: created by an earlier test already.
    expect([200, 409]).toContain(response.status);
  };
  const keysIn = async (bucket: string) => {
    const text = await (await fetch(`${endpoint}/${bucket}?list-type=2`)).text();
    return [...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1]).sort();
  };
  // Objects are private: moto refuses an anonymous read (and does not check signatures).
  const signed = { Authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' };
  const object = async (bucket: string, key: string) => {
    const response = await fetch(`${endpoint}/${bucket}/${key}`, { headers: signed });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };
  const publish = (regions?: string[]): Promise<PublishOrgAssetsResult> =>
    publishOrgAssets({ manifest: s.org.assetManifestFile, regions, log: (line) => logged.push(line) });

  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://localhost:${port}`;
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    // The real bundles: the publisher zips the directories CDK staged.
    s = synthOrg({}, { bundle: true });
    await waitFor(`${endpoint}/`, 30000);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
  });

  afterAll(() => {
    process.env = savedEnv;
    if (moto?.pid) {
      process.kill(moto.pid);
    }
  });

  test('a region whose bucket is missing fails with what to deploy; the others are published', async () => {
    await createBucket('us-east-1');
    const result = await publish();
    const uploads = listRegionalUploads(s.org.assetManifestFile);
    const perRegion = uploads.length / 2;
    expect(result.uploaded).toHaveLength(perRegion);
    expect(result.uploaded.every((u) => u.includes(`${PREFIX}-us-east-1/`))).toBe(true);
    expect(result.failed).toHaveLength(perRegion);
    for (const f of result.failed) {
      expect(f.destination).toContain(`${PREFIX}-eu-west-1/`);
      expect(f.reason).toContain(`deploy its stack first (npx cdk deploy -c mode=org GravitonLlmOrgAssets-eu-west-1)`);
    }
  });

  test('every file asset of the template reaches every region\'s bucket, under the key the template names', async () => {
    await createBucket('us-east-1');
    await createBucket('eu-west-1');
    const result = await publish();
    expect(result.failed).toEqual([]);
    const uploads = listRegionalUploads(s.org.assetManifestFile);
    expect(result.uploaded.length + result.alreadyPresent.length).toBe(uploads.length);
    // A second run finds everything in place: objects are content-addressed.
    const again = await publish();
    expect([again.uploaded, again.failed, again.alreadyPresent.length]).toEqual([[], [], uploads.length]);

    const functions = Object.entries(s.template.Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    const lambdaKeys = functions.map(([, r]) => r.Properties.Code.S3Key);
    // The kit's own handlers, bundled by esbuild into index.js.
    const bundleKeys = functions.filter(([id]) => /^(ApiKeyHandler|CanaryFunction)/.test(id)).map(([, r]) => r.Properties.Code.S3Key);
    expect(bundleKeys).toHaveLength(2);
    const bootProgram = uploads.find((u) => u.key.endsWith('.js'))!;
    for (const region of ['us-east-1', 'eu-west-1']) {
      const bucket = `${PREFIX}-${region}`;
      const keys = await keysIn(bucket);
      expect(keys).toEqual([...new Set(uploads.map((u) => u.key))].sort());
      expect(keys).toEqual(expect.arrayContaining(lambdaKeys));
      // The boot program's bundle, byte for byte; the Lambda bundles as zips holding the handler.
      expect((await object(bucket, bootProgram.key)).equals(fs.readFileSync(bootProgram.source))).toBe(true);
      for (const key of lambdaKeys) {
        const zip = await object(bucket, key);
        expect(zip.subarray(0, 2).toString()).toBe('PK');
        expect(zip.includes(bundleKeys.includes(key) ? 'index.js' : '.js')).toBe(true);
      }
    }
    expect(logged.some((l) => l.includes('Upload s3://'))).toBe(true);
  });

  test('--region publishes one region only; an unknown region is refused', async () => {
    const result = await publish(['eu-west-1']);
    expect(result.failed).toEqual([]);
    expect(result.uploaded).toEqual([]);
    expect(result.alreadyPresent.every((u) => u.includes('(eu-west-1)'))).toBe(true);
    await expect(publish(['ap-south-1'])).rejects.toThrow(UsageError);
    await expect(publish(['ap-south-1'])).rejects.toThrow(/not a region of the org configuration; the manifest has eu-west-1, us-east-1/);
  });

  test('without a synthesized manifest it says what to run', async () => {
    await expect(publishOrgAssets({ manifest: path.join(s.outdir, 'nope.json') })).rejects.toThrow(/run `npx cdk synth -c mode=org` first/);
  });
});
