/**
 * How the boot uses its cache, whichever cache it is (ports.ts Cache): which
 * version of an object it takes, and how it writes one. A port of boot.sh's
 * cache_first_good, note_rewrites and the logging of cache_get and cache_put,
 * written once over the port instead of once per mode.
 */
import { rm } from "node:fs/promises";
import type { Cache, CacheVersion, CacheWriteMode } from "./ports";

/**
 * A boot downloads at most this many versions of one object, of different
 * contents, looking for one that passes its checks (boot.sh's
 * CACHE_VERSIONS_TRIED).
 */
export const CACHE_VERSIONS_TRIED = 4;

/** How a phase's cache work is told: lines for people, events for the boot's result. */
export interface CacheUse {
  readonly cache: Cache;
  readonly log: (message: string) => void;
  /** Records an event of the current phase (cache-hit, cache-miss, cache-discard, cache-write ...). */
  readonly record: (event: string, detail: string) => void;
}

/**
 * How to write what the boot makes in place of a missed object: if-absent
 * (no version was there), always (a replacement for versions that failed
 * their checks), or none: nothing, because the versions could not be read,
 * or as many as are tried failed (a later version would never be tried).
 */
export type NextWrite = CacheWriteMode | "none";

export type FirstGoodOutcome =
  /** `taken` says which version, where there were several: ", version ID (written 2 of 3)"; empty for the only one. */
  | { readonly ok: true; readonly taken: string }
  | { readonly ok: false; readonly nextWrite: NextWrite };

export interface FirstGoodRequest {
  /** What the object is, beginning the log lines: "build", "model". */
  readonly what: string;
  /** The object, below the cache's root: builds/KEY.tar.gz. */
  readonly rel: string;
  /** The file the version taken is left in. */
  readonly dest: string;
  /** What the boot does without it, for the log lines: "compiling", "quantizing". */
  readonly instead: string;
  /**
   * What is wrong with the version in `file` (written with `sha256`, where
   * recorded), or undefined if it passes: unpacked and run, or hashed.
   */
  readonly check: (file: string, sha256: string | undefined) => Promise<string | undefined>;
}

/**
 * Puts in `dest` the oldest version of the object that passes its check.
 * For what an instance runs or serves unchecked by the template (builds,
 * models quantized on an instance): the instances add versions and delete
 * none, so a version written later (by a boot that found the object bad, or
 * by anyone holding an instance's credentials) is never used while the first
 * written passes. Nothing marks a version bad (whoever holds an instance's
 * credentials could mark the first bad and have a later one of theirs taken),
 * so every boot tries the versions afresh; the cost is bounded instead: a
 * version of the same contents as one discarded is skipped, and at most
 * CACHE_VERSIONS_TRIED are read.
 */
export async function firstGoodVersion(use: CacheUse, req: FirstGoodRequest): Promise<FirstGoodOutcome> {
  const { what, rel, dest, instead } = req;
  const listed = await use.cache.versions(rel);
  if (!listed.ok) {
    use.log(`cache listing of ${rel} failed; treating it as a miss; ${instead}`);
    use.record("cache-miss", `${rel}: listing failed: ${listed.detail}`);
    return { ok: false, nextWrite: "if-absent" };
  }
  const versions = listed.versions;
  const n = versions.length;
  if (n === 0) {
    use.log(`${what}: cache miss ${rel}; ${instead}`);
    use.record("cache-miss", rel);
    return { ok: false, nextWrite: "if-absent" };
  }
  noteRewrites(use, rel, versions);
  const discarded = new Set<string>();
  let tried = 0;
  for (let i = 0; i < n; i++) {
    const v = versions[i];
    const note = v.id === "local" ? "" : ` version ${v.id}`;
    if (discarded.has(contentsOf(v))) {
      use.log(`${what}: skipping cached ${rel}${note}: the same contents as a version discarded above`);
      continue;
    }
    if (tried === CACHE_VERSIONS_TRIED) {
      use.log(`WARNING: ${what}: none of the ${tried} versions of ${rel} tried passes its checks; not trying its ${n - i} later ones; ${instead}, and not caching the result, which would never be tried either (delete the bad versions to let instances use the cache again)`);
      use.record("cache-miss", `${rel}: ${tried} versions tried, none passes its checks`);
      return { ok: false, nextWrite: "none" };
    }
    tried++;
    const read = await use.cache.readVersion(rel, v, dest);
    if (!read.ok) {
      // Not shown bad: nothing is written in its place.
      use.log(`cache read of ${rel}${note} failed; treating it as a miss; ${instead}`);
      use.record("cache-miss", `${rel}${note}: read failed: ${read.detail}`);
      return { ok: false, nextWrite: "none" };
    }
    const problem = await req.check(dest, read.sha256);
    if (problem === undefined) {
      const taken = n === 1 ? "" : `, version ${v.id} (written ${i + 1} of ${n})`;
      use.record("cache-hit", `${rel}${taken}`);
      return { ok: true, taken };
    }
    discarded.add(contentsOf(v));
    await rm(dest, { force: true });
    use.record("cache-discard", `${rel}${note}: ${problem}`);
    if (i + 1 === n) {
      use.log(`${what}: discarding cached ${rel}${note}: ${problem}; ${instead} a replacement`);
      return { ok: false, nextWrite: "always" };
    }
    use.log(`${what}: discarding cached ${rel}${note}: ${problem}`);
  }
  use.log(`${what}: no version of ${rel} passes its checks; ${instead} a replacement`);
  return { ok: false, nextWrite: "always" };
}

/** Versions of one contents hold the same bytes: the same ETag and size (SSE-S3 objects uploaded the same way). */
function contentsOf(v: CacheVersion): string {
  return `${v.etag} ${v.sizeBytes}`;
}

/**
 * Logs how an object's versions came about. Versions of one contents are
 * instances caching it at the same time; versions that differ mean it was
 * written again, by a boot that found it bad or by someone else.
 */
function noteRewrites(use: CacheUse, rel: string, versions: readonly CacheVersion[]): void {
  const n = versions.length;
  if (n < 2) return;
  const contents = new Set(versions.map(contentsOf)).size;
  if (contents > 1) {
    use.log(`WARNING: ${rel} has ${n} versions: it was written again after it was first cached, with other contents (${contents} different); trying them oldest first (${versions.map((v) => v.id).join(" ")})`);
  } else {
    use.log(`${rel} has ${n} versions of the same contents (instances that cached it at the same time)`);
  }
}

/**
 * The current version of an object, checked by the caller whichever version
 * it is (a source model, against the template's SHA-256); true on a hit. A
 * read that fails is treated as a miss, and said so.
 */
export async function getFromCache(use: CacheUse, rel: string, dest: string): Promise<boolean> {
  const got = await use.cache.get(rel, dest);
  if (got.kind === "hit") return true;
  if (got.kind === "failed") use.log(`cache read of ${rel} failed; treating it as a miss`);
  return false;
}

/**
 * Caches file `src` as `rel`, as `mode` says (see NextWrite), recording the
 * SHA-256 it is to be checked against where given. A write that fails costs
 * the next boot time, not this one: it is logged, and the boot goes on.
 */
export async function putInCache(use: CacheUse, src: string, rel: string, mode: NextWrite, sha256?: string): Promise<void> {
  if (mode === "none") {
    use.log(`not caching ${rel} (see above)`);
    return;
  }
  const put = await use.cache.put(src, rel, mode, sha256);
  if (put.kind === "written") {
    use.log(`cached ${rel}`);
    use.record("cache-write", rel);
  } else if (put.kind === "kept-existing") {
    use.log(`cache already holds ${rel}, written meanwhile by another boot; keeping that one`);
    use.record("cache-kept", rel);
  } else {
    use.log(`WARNING: cache write of ${rel} failed (${put.detail}); the next boot will redo this work`);
    use.record("cache-write-failed", `${rel}: ${put.detail}`);
  }
}
