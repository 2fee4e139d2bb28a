/**
 * `npm run publish-org-assets`: uploads every file asset of the org template
 * (the Lambda bundles, the boot script, the template itself) to the org asset
 * bucket of every configured region, with the caller's AWS credentials (the
 * administrator account's, which owns the buckets).
 *
 * It publishes the manifest that `npx cdk synth -c mode=org` writes next to
 * the template (cdk.out/org-template/org-assets.json): one destination per
 * region, `PREFIX-REGION`. Publishing is the cdk-assets library's
 * (@aws-cdk/cdk-assets-lib, what the `cdk-assets` command runs): it zips
 * directories as CDK does, skips objects already in a bucket, and honours
 * AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL. (The `cdk-assets` command
 * itself, 4.7.3, rejects the cloud assembly schema aws-cdk-lib 2.276 writes.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AssetManifest, AssetPublishing, DefaultAwsClient, DestinationPattern, EventType, IManifestEntry, IPublishProgress } from '@aws-cdk/cdk-assets-lib';

export const DEFAULT_MANIFEST = path.join('cdk.out', 'org-template', 'org-assets.json');

export interface PublishOrgAssetsOptions {
  /** The regional manifest. @default cdk.out/org-template/org-assets.json */
  readonly manifest?: string;
  /** Publish to these regions only. @default - every region of the manifest */
  readonly regions?: readonly string[];
  /** AWS profile. @default - the default credential chain (AWS_PROFILE, environment, ...) */
  readonly profile?: string;
  /** Where progress lines go. @default - stdout */
  readonly log?: (line: string) => void;
}

export interface PublishOrgAssetsResult {
  /** Objects uploaded now, as `s3://bucket/key (region)`. */
  readonly uploaded: string[];
  /** Objects that were in place already (same content-hash key). */
  readonly alreadyPresent: string[];
  /** Uploads that failed, with the reason. */
  readonly failed: { readonly destination: string; readonly reason: string }[];
}

/** Publishes the org template's assets; never throws for a failed upload (see `failed`). */
export async function publishOrgAssets(options: PublishOrgAssetsOptions = {}): Promise<PublishOrgAssetsResult> {
  const manifestPath = path.resolve(options.manifest ?? DEFAULT_MANIFEST);
  if (!fs.existsSync(manifestPath)) {
    throw new UsageError(`${manifestPath} does not exist: run \`npx cdk synth -c mode=org\` first (it writes the org template and this manifest)`);
  }
  let manifest = AssetManifest.fromPath(manifestPath);
  const regionsInManifest = [...new Set(manifest.entries.map((e) => destinationOf(e).region))].sort();
  if (options.regions && options.regions.length > 0) {
    const unknown = options.regions.filter((r) => !regionsInManifest.includes(r));
    if (unknown.length > 0) {
      throw new UsageError(`--region ${unknown.join(', ')}: not a region of the org configuration; the manifest has ${regionsInManifest.join(', ')}`);
    }
    manifest = manifest.select(options.regions.map((r) => new DestinationPattern(undefined, r)));
  }
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const publishing = new AssetPublishing(manifest, {
    aws: new DefaultAwsClient(options.profile),
    throwOnError: false,
    publishInParallel: true,
    progressListener: {
      onPublishEvent(type: EventType, event: IPublishProgress) {
        // Found objects are counted in the summary; the pre-check and publish() would each report them.
        if (type === EventType.UPLOAD || type === EventType.FAIL) {
          log(`  ${type === EventType.FAIL ? 'FAILED: ' : ''}${event.message}`);
        }
      },
    },
  });
  const entries = manifest.entries;
  log(`Publishing ${new Set(entries.map((e) => e.id.assetId)).size} assets to ${new Set(entries.map((e) => destinationOf(e).region)).size} region(s) (${manifestPath})`);
  // What is in place already (objects are keyed by content hash, so in place means current).
  // Entries are compared by id: the manifest hands out new entry objects on every read.
  const idOf = (e: IManifestEntry) => `${e.id.assetId}|${e.id.destinationId}`;
  const present = new Set<string>();
  await Promise.all(entries.map(async (entry) => {
    try {
      if (await publishing.isEntryPublished(entry)) {
        present.add(idOf(entry));
      }
    } catch {
      // A missing bucket or a denied read: publish() reports it.
    }
  }));
  await publishing.publish();
  const failedIds = new Set(publishing.failures.map((f) => idOf(f.asset)));
  const uploaded = entries.filter((e) => !present.has(idOf(e)) && !failedIds.has(idOf(e))).map(s3Url);
  const alreadyPresent = entries.filter((e) => present.has(idOf(e)) && !failedIds.has(idOf(e))).map(s3Url);
  const failed = publishing.failures.map((f) => ({
    destination: s3Url(f.asset),
    reason: explain(f.error, destinationOf(f.asset).bucketName, destinationOf(f.asset).region),
  }));
  return { uploaded, alreadyPresent, failed };
}

/** A mistake in how the command was called: printed without a stack trace. */
export class UsageError extends Error {}

function destinationOf(entry: IManifestEntry): { bucketName: string; objectKey: string; region: string } {
  return entry.genericDestination as { bucketName: string; objectKey: string; region: string };
}

function s3Url(entry: IManifestEntry): string {
  const d = destinationOf(entry);
  return `s3://${d.bucketName}/${d.objectKey} (${d.region})`;
}

/** The failure, with what to do about the usual one. */
function explain(error: Error, bucket: string, region: string): string {
  const message = error.message;
  if (/NoSuchBucket|No bucket named|does not exist|404|Not ?Found/i.test(message)) {
    return `${message} — the bucket ${bucket} does not exist yet: deploy its stack first (npx cdk deploy -c mode=org GravitonLlmOrgAssets-${region})`;
  }
  return message;
}

function parseArgs(argv: string[]): PublishOrgAssetsOptions {
  const options: { manifest?: string; regions: string[]; profile?: string } = { regions: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) {
        throw new UsageError(`${arg} needs a value`);
      }
      return v;
    };
    if (arg === '--manifest') {
      options.manifest = value();
    } else if (arg === '--region') {
      options.regions.push(...value().split(',').map((r) => r.trim()).filter((r) => r.length > 0));
    } else if (arg === '--profile') {
      options.profile = value();
    } else if (arg === '--help' || arg === '-h') {
      throw new UsageError(USAGE);
    } else {
      throw new UsageError(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return options;
}

const USAGE = `Usage: npm run publish-org-assets -- [--manifest ${DEFAULT_MANIFEST}] [--region REGION[,REGION]] [--profile PROFILE]
Uploads the org template's assets to the org asset bucket of every region (run \`npx cdk synth -c mode=org\` first).`;

async function main(): Promise<void> {
  try {
    const result = await publishOrgAssets(parseArgs(process.argv.slice(2)));
    if (result.failed.length > 0) {
      process.stderr.write(`\n${result.failed.length} upload(s) failed:\n${result.failed.map((f) => `  - ${f.destination}: ${f.reason}`).join('\n')}\n`);
      process.exit(1);
    }
    process.stdout.write(`Done: ${result.uploaded.length} object(s) uploaded, ${result.alreadyPresent.length} already in place.\n`);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}

if (require.main === module) {
  void main();
}
