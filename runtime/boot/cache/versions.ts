/**
 * Which version of a cache object a boot uses: for what an instance runs or
 * serves unchecked by the template, the builds and the models quantized on an
 * instance.
 *
 * Why: every instance may write the cache, so whoever holds an instance's
 * credentials may write such an object again. The bucket keeps every version
 * of these objects (versioning, no expiry under builds/ and quantized/) and
 * the instances may add versions but delete none; the boot tries the versions
 * oldest first and uses the first that passes its checks. A version written
 * later, by a boot that found the object bad or by anyone else, is never used
 * while the version first written passes (README, Security: "A cached build,
 * and a model quantized on an instance, is used only as it was first
 * written").
 *
 * Nothing the fleet writes marks a version bad: whoever holds an instance's
 * credentials could then mark the first version bad and have a later one of
 * theirs taken. So every boot tries the versions afresh, and the cost is
 * bounded instead: a version of the same contents (ETag and size) as one
 * discarded in this boot is skipped, and at most CACHE_VERSIONS_TRIED are
 * downloaded, after which the boot works without the cache and adds no
 * version (one after those would never be tried). Versions of one content are
 * instances caching it at the same time; versions that differ mean it was
 * written again, which the log warns of.
 *
 * Pure: the caller lists, downloads and checks the versions (firstGoodStep says which next).
 */

/** A boot downloads at most this many versions of one cache object, of different contents, looking for one that passes its checks. */
export const CACHE_VERSIONS_TRIED = 4;

/** The id of a local cache's one version (a directory keeps no others). */
export const LOCAL_VERSION_ID = 'local';

/** One version of a cache object. */
export interface CacheVersion {
  /** S3's version id (`null` for one written before versioning), or LOCAL_VERSION_ID. */
  readonly id: string;
  /** S3's ETag without its quotes (`-` locally): with the size, what tells contents apart. */
  readonly etag: string;
  readonly size: number;
}

/** One entry of S3's ListObjectVersions `Versions`, as the SDK or `aws s3api list-object-versions` gives it. */
export interface S3ObjectVersion {
  readonly Key: string;
  /** Absent where S3 gives none. */
  readonly VersionId?: string | null;
  /** Quoted, as S3 sends it. */
  readonly ETag: string;
  readonly Size: number;
}

/**
 * The versions of object `key`, oldest first, from the `Versions` S3 lists
 * under it as a prefix (every page, in the order S3 lists them: by key, each
 * key's newest first). Other keys that share the prefix, and entries without
 * a version id, are left out.
 */
export function s3CacheVersions(key: string, listed: readonly S3ObjectVersion[]): CacheVersion[] {
  return listed
    .filter((v) => v.Key === key && typeof v.VersionId === 'string' && v.VersionId !== '')
    .map((v) => ({ id: v.VersionId as string, etag: v.ETag.replace(/"/g, ''), size: v.Size }))
    .reverse();
}

/** The versions of a local cache's object: its one file, of `size` bytes, or none where there is no file (undefined). */
export function localCacheVersions(size: number | undefined): CacheVersion[] {
  return size === undefined ? [] : [{ id: LOCAL_VERSION_ID, etag: '-', size }];
}

const contentsOf = (v: CacheVersion) => `${v.etag} ${v.size}`;

/**
 * What the log says of how object `rel`'s versions came about: nothing for
 * one; a warning where their contents differ (it was written again after it
 * was first cached); a note where they are the same (instances that cached
 * it at the same time).
 */
export function rewriteNote(rel: string, versions: readonly CacheVersion[]): string | undefined {
  const n = versions.length;
  if (n <= 1) return undefined;
  const contents = new Set(versions.map(contentsOf)).size;
  if (contents > 1) {
    return `WARNING: ${rel} has ${n} versions: it was written again after it was first cached, with other contents (${contents} different); `
      + `trying them oldest first (${versions.map((v) => v.id).join(' ')})`;
  }
  return `${rel} has ${n} versions of the same contents (instances that cached it at the same time)`;
}

/**
 * How a replacement of the object may be written (a cache put's mode):
 * `if-absent` where the boot found no version (only if no other instance
 * wrote one meanwhile), `always` where every version tried failed its checks,
 * `none` where writing would not help (a read failed, or versions were left
 * untried: a version after those would never be tried).
 */
export type CacheWrite = 'if-absent' | 'always' | 'none';

/** How one version tried came out. */
export type VersionTry =
  | { readonly outcome: 'passed' }
  /** Its checks failed; `problem` says why, for the log. */
  | { readonly outcome: 'failed'; readonly problem: string }
  /** It could not be downloaded: not shown bad, so nothing is written in its place. */
  | { readonly outcome: 'unread' };

export interface FirstGoodInput {
  /** What the object is (`build`, `model`): begins the log lines. */
  readonly what: string;
  /** The object's name in the cache (keys.ts). */
  readonly rel: string;
  /** What the boot does without it (`compiling`, `quantizing`). */
  readonly instead: string;
  /** The object's versions oldest first (s3CacheVersions, localCacheVersions); undefined where the listing failed. */
  readonly versions: readonly CacheVersion[] | undefined;
  /** How each version tried so far came out, in the order firstGoodStep named them. */
  readonly tried: readonly VersionTry[];
  /** Defaults to CACHE_VERSIONS_TRIED. */
  readonly limit?: number;
}

/** What to do next; `lines` are the log lines of the choice so far, in order. */
export type FirstGoodStep =
  /** Download `version` and check it; then ask again with its outcome added to `tried`. */
  | { readonly kind: 'read'; readonly version: CacheVersion; readonly lines: readonly string[] }
  /** Use `version`. `taken` is the log's note of it (empty where the object has one version). */
  | { readonly kind: 'take'; readonly version: CacheVersion; readonly taken: string; readonly lines: readonly string[] }
  /** Work without the cache, and write the result as `write` says. */
  | { readonly kind: 'miss'; readonly write: CacheWrite; readonly lines: readonly string[] };

/**
 * The next step of the search for the oldest version of an object that
 * passes its checks, given the outcomes of the versions tried so far.
 */
export function firstGoodStep(input: FirstGoodInput): FirstGoodStep {
  const { what, rel, instead, versions, tried } = input;
  const limit = input.limit ?? CACHE_VERSIONS_TRIED;
  if (versions === undefined) {
    return { kind: 'miss', write: 'if-absent', lines: [`cache listing of ${rel} failed; treating it as a miss; ${instead}`] };
  }
  const n = versions.length;
  if (n === 0) return { kind: 'miss', write: 'if-absent', lines: [`${what}: cache miss ${rel}; ${instead}`] };
  const note = rewriteNote(rel, versions);
  const lines: string[] = note === undefined ? [] : [note];
  const discarded = new Set<string>();
  let count = 0;
  for (let i = 0; i < n; i++) {
    const version = versions[i];
    const versionNote = version.id === LOCAL_VERSION_ID ? '' : ` version ${version.id}`;
    if (discarded.has(contentsOf(version))) {
      lines.push(`${what}: skipping cached ${rel}${versionNote}: the same contents as a version discarded above`);
      continue;
    }
    if (count === limit) {
      lines.push(`WARNING: ${what}: none of the ${count} versions of ${rel} tried passes its checks; not trying its ${n - i} later ones; `
        + `${instead}, and not caching the result, which would never be tried either (delete the bad versions to let instances use the cache again)`);
      return { kind: 'miss', write: 'none', lines };
    }
    const outcome = tried[count];
    count++;
    if (outcome === undefined) return { kind: 'read', version, lines };
    if (outcome.outcome === 'unread') {
      lines.push(`cache read of ${rel}${versionNote} failed; treating it as a miss; ${instead}`);
      return { kind: 'miss', write: 'none', lines };
    }
    if (outcome.outcome === 'passed') {
      return { kind: 'take', version, taken: n === 1 ? '' : `, version ${version.id} (written ${i + 1} of ${n})`, lines };
    }
    discarded.add(contentsOf(version));
    if (i + 1 === n) {
      lines.push(`${what}: discarding cached ${rel}${versionNote}: ${outcome.problem}; ${instead} a replacement`);
      return { kind: 'miss', write: 'always', lines };
    }
    lines.push(`${what}: discarding cached ${rel}${versionNote}: ${outcome.problem}`);
  }
  lines.push(`${what}: no version of ${rel} passes its checks; ${instead} a replacement`);
  return { kind: 'miss', write: 'always', lines };
}
