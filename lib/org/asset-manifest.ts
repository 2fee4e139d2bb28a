import * as fs from 'node:fs';
import * as path from 'node:path';

/** The cdk-assets manifest of the org template, with one destination per region; written next to the template. */
export const ORG_ASSETS_MANIFEST = 'org-assets.json';

/** The part of a cloud assembly asset manifest this module reads and writes. */
interface AssetManifestJson {
  version: string;
  files?: Record<string, {
    displayName?: string;
    source: { path?: string; packaging?: string; executable?: string[] };
    destinations: Record<string, { bucketName: string; objectKey: string; region?: string; assumeRoleArn?: string }>;
  }>;
  dockerImages?: Record<string, unknown>;
}

/**
 * Rewrites the org template's asset manifest (as its synthesizer wrote it,
 * with `PREFIX-${AWS::Region}` as the bucket) into one that names every
 * region's bucket, so that `cdk-assets publish` uploads each file asset to
 * every region the StackSet deploys to, with the caller's credentials.
 * Returns the path of the manifest written.
 */
export function writeRegionalAssetManifest(assemblyDir: string, stackArtifactId: string, regions: readonly string[]): string {
  const source = path.join(assemblyDir, `${stackArtifactId}.assets.json`);
  const manifest = JSON.parse(fs.readFileSync(source, 'utf8')) as AssetManifestJson;
  if (manifest.dockerImages && Object.keys(manifest.dockerImages).length > 0) {
    throw new Error(`the org template has container image assets (${Object.keys(manifest.dockerImages).join(', ')}), which the org asset buckets cannot hold`);
  }
  for (const [hash, file] of Object.entries(manifest.files ?? {})) {
    const destinations = Object.values(file.destinations);
    if (destinations.length !== 1 || !destinations[0].bucketName.includes('${AWS::Region}')) {
      throw new Error(`asset ${hash}: expected one destination in the PREFIX-\${AWS::Region} bucket, got ${JSON.stringify(file.destinations)}`);
    }
    const [destination] = destinations;
    file.destinations = Object.fromEntries(regions.map((region) => [region, {
      bucketName: destination.bucketName.replace('${AWS::Region}', region),
      objectKey: destination.objectKey,
      region,
    }]));
  }
  const target = path.join(assemblyDir, ORG_ASSETS_MANIFEST);
  fs.writeFileSync(target, `${JSON.stringify(manifest, undefined, 2)}\n`);
  return target;
}

/** Every upload a regional manifest asks for, as `s3://bucket/key` with the local source, for messages and tests. */
export function listRegionalUploads(manifestPath: string): { source: string; packaging: string; bucket: string; key: string; region: string }[] {
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as AssetManifestJson;
  return Object.values(manifest.files ?? {}).flatMap((file) => Object.values(file.destinations).map((d) => ({
    source: path.resolve(path.dirname(manifestPath), file.source.path ?? ''),
    packaging: file.source.packaging ?? 'file',
    bucket: d.bucketName,
    key: d.objectKey,
    region: d.region ?? '',
  })));
}
