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

import { commandLine } from '../../lib/command-line/commands';
import { readFlags, usageErrors } from '../../lib/command-line/flags';

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

/**
 * The manifest to publish, narrowed to the regions asked for, or every
 * problem with the two: the checks the command makes before it calls AWS,
 * and publishOrgAssets makes again for a caller of the library.
 */
export function checkManifest(manifestFile: string, regions: readonly string[] | undefined): { readonly manifest: AssetManifest; readonly path: string } | { readonly errors: string[] } {
  const manifestPath = path.resolve(manifestFile);
  if (!fs.existsSync(manifestPath)) {
    return { errors: [`--manifest: ${manifestPath} does not exist: run \`npx cdk synth -c mode=org\` first (it writes the org template and this manifest)`] };
  }
  if (!fs.statSync(manifestPath).isFile()) {
    return { errors: [`--manifest: got "${manifestFile}"; expected the org asset manifest file (${DEFAULT_MANIFEST}), and it is not a file`] };
  }
  let manifest: AssetManifest;
  try {
    manifest = AssetManifest.fromPath(manifestPath);
    if (manifest.entries.some((e) => typeof destinationOf(e).region !== 'string')) throw new Error('an entry names no region');
  } catch (e) {
    return { errors: [`--manifest: got "${manifestFile}"; expected an asset manifest as \`npx cdk synth -c mode=org\` writes it (${DEFAULT_MANIFEST}): ${(e as Error).message}`] };
  }
  const regionsInManifest = [...new Set(manifest.entries.map((e) => destinationOf(e).region))].sort();
  if (regions && regions.length > 0) {
    const unknown = regions.filter((r) => !regionsInManifest.includes(r));
    if (unknown.length > 0) {
      return { errors: [`--region: got "${regions.join(',')}"; expected regions of the manifest, and ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a region of the org configuration; the manifest has ${regionsInManifest.join(', ')}`] };
    }
    manifest = manifest.select(regions.map((r) => new DestinationPattern(undefined, r)));
  }
  return { manifest, path: manifestPath };
}

/** Publishes the org template's assets; never throws for a failed upload (see `failed`). */
export async function publishOrgAssets(options: PublishOrgAssetsOptions = {}): Promise<PublishOrgAssetsResult> {
  const checked = checkManifest(options.manifest ?? DEFAULT_MANIFEST, options.regions);
  if ('errors' in checked) throw new UsageError(checked.errors.join('\n'));
  const { manifest, path: manifestPath } = checked;
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

const FLAGS = {
  manifest: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** AWS region names, e.g. eu-west-1 or us-gov-west-1. */
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** AWS profile names as the CLI's config file allows them. */
const PROFILE_NAME = /^[A-Za-z0-9_.@+=,-]+$/;

export const USAGE = `Usage: ${commandLine('publish-org-assets')} [--manifest FILE] [--region REGION[,REGION...]] [--profile PROFILE]

Uploads the org template's assets to the org asset bucket of every region (run \`npx cdk synth -c mode=org\` first).

  --manifest FILE     the asset manifest synth wrote (default ${DEFAULT_MANIFEST})
  --region LIST       only these regions, comma-separated; each must be one of the manifest's (default: all of them)
  --profile PROFILE   AWS profile (default: the default credential chain)
  --help

Every flag and the manifest are checked before AWS is called; a mistake exits 2.
Exit codes: 0 published, 1 an upload failed, 2 bad flags or manifest.`;

export type PublishParse = { readonly options: PublishOrgAssetsOptions } | { readonly errors: readonly string[] } | { readonly help: true };

/**
 * The command line, and the manifest it names, checked before AWS is called:
 * the options to publish with, or every problem.
 */
export function parsePublishArgs(argv: readonly string[]): PublishParse {
  const { values: v, errors } = readFlags(argv, FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  let regions: string[] | undefined;
  let regionsOk = true;
  if (v.region !== undefined) {
    regions = v.region.split(',').map((r) => r.trim()).filter((r) => r !== '');
    const bad = regions.filter((r) => !REGION_NAME.test(r));
    // An empty list would publish to every region: never what a narrowing flag meant.
    if (regions.length === 0) errors.push(`--region: got "${v.region}"; expected one or more region names, comma-separated (leave the flag out for every region)`);
    else if (bad.length > 0) errors.push(`--region: got "${v.region}"; expected AWS region names like eu-west-1 (not ${bad.join(', ')})`);
    regionsOk = regions.length > 0 && bad.length === 0;
  }
  if (v.profile !== undefined && !PROFILE_NAME.test(v.profile)) errors.push(`--profile: got "${v.profile}"; expected an AWS profile name`);
  if (v.manifest !== undefined && v.manifest.trim() === '') errors.push('--manifest: got ""; expected a file (or leave the flag out)');
  else {
    const checked = checkManifest(v.manifest ?? DEFAULT_MANIFEST, regionsOk ? regions : undefined);
    if ('errors' in checked) errors.push(...checked.errors);
  }
  if (errors.length > 0) return { errors };
  return { options: { ...(v.manifest !== undefined ? { manifest: v.manifest } : {}), ...(regions ? { regions } : {}), ...(v.profile !== undefined ? { profile: v.profile } : {}) } };
}

async function main(): Promise<number> {
  const parsed = parsePublishArgs(process.argv.slice(2));
  if ('help' in parsed) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if ('errors' in parsed) {
    process.stderr.write(`${usageErrors('publish-org-assets', parsed.errors)}\n`);
    return 2;
  }
  try {
    const result = await publishOrgAssets(parsed.options);
    if (result.failed.length > 0) {
      process.stderr.write(`\n${result.failed.length} upload(s) failed:\n${result.failed.map((f) => `  - ${f.destination}: ${f.reason}`).join('\n')}\n`);
      return 1;
    }
    process.stdout.write(`Done: ${result.uploaded.length} object(s) uploaded, ${result.alreadyPresent.length} already in place.\n`);
    return 0;
  } catch (e) {
    // The manifest changed between the check and the publishing, or AWS could not be reached at all: one line, not a stack.
    process.stderr.write(`publish-org-assets: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
