/**
 * How the boot uses its cache, whichever cache it is (ports.ts Cache): which
 * version of an object it takes, how it writes one, and what it logs of
 * both, written once over the port instead of once per mode.
 */
import { rm } from "node:fs/promises";
import type { BootEventData } from "../core/log";
import type { Cache } from "../ports";
import { type CacheWrite, firstGoodStep, LOCAL_VERSION_ID, type VersionTry } from "./versions";

/** How a phase's cache work is told: lines for people, events for the boot's result. */
export interface CacheUse {
  readonly cache: Cache;
  readonly log: (message: string) => void;
  /** Records an event of the current phase (cache-hit, cache-miss, cache-discard, cache-write ...), with what the boot's result needs of it. */
  readonly record: (event: string, detail: string, data?: BootEventData) => void;
}

/**
 * How to write what the boot makes in place of a missed object: if-absent
 * (no version was there), always (a replacement for versions that failed
 * their checks), or none: nothing, because the versions could not be read,
 * or as many as are tried failed (a later version would never be tried).
 */
export type NextWrite = CacheWrite;

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
  const versions = listed.ok ? listed.versions : undefined;
  const tried: VersionTry[] = [];
  let logged = 0;
  // Why the last step was a miss, for the result; the log's words are firstGoodStep's.
  let missDetail = listed.ok ? rel : `${rel}: listing failed: ${listed.detail}`;
  for (;;) {
    // firstGoodStep decides from the outcomes so far; its lines grow with them, so only the new ones are logged.
    const step = firstGoodStep({ what, rel, instead, versions, tried });
    step.lines.slice(logged).forEach((line) => use.log(line));
    logged = step.lines.length;
    if (step.kind === "take") {
      const position = versions!.indexOf(step.version) + 1;
      use.record("cache-hit", `${rel}${step.taken}`, { kind: "cache-take", object: rel, version: { id: step.version.id, position, of: versions!.length } });
      return { ok: true, taken: step.taken };
    }
    if (step.kind === "miss") {
      // A miss after discarding every version is told by the discards.
      if (step.write !== "always") use.record("cache-miss", tried.length > 0 && tried[tried.length - 1].outcome === "failed" ? `${rel}: ${tried.length} versions tried, none passes its checks` : missDetail);
      return { ok: false, nextWrite: step.write };
    }
    const note = step.version.id === LOCAL_VERSION_ID ? "" : ` version ${step.version.id}`;
    const read = await use.cache.readVersion(rel, step.version, dest);
    if (!read.ok) {
      // Not shown bad: nothing is written in its place.
      missDetail = `${rel}${note}: read failed: ${read.detail}`;
      tried.push({ outcome: "unread" });
      continue;
    }
    const problem = await req.check(dest, read.sha256);
    if (problem === undefined) {
      tried.push({ outcome: "passed" });
      continue;
    }
    await rm(dest, { force: true });
    use.record("cache-discard", `${rel}${note}: ${problem}`, { kind: "cache-discard", object: rel, version: step.version.id, problem: problem || "it fails its checks" });
    tried.push({ outcome: "failed", problem });
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
    use.record("cache-write-skipped", rel, { kind: "cache-write", object: rel, outcome: "skipped" });
    return;
  }
  const put = await use.cache.put(src, rel, mode, sha256);
  if (put.kind === "written") {
    use.log(`cached ${rel}`);
    use.record("cache-write", rel, { kind: "cache-write", object: rel, outcome: "written" });
  } else if (put.kind === "kept-existing") {
    use.log(`cache already holds ${rel}, written meanwhile by another boot; keeping that one`);
    use.record("cache-kept", rel, { kind: "cache-write", object: rel, outcome: "kept-existing" });
  } else {
    use.log(`WARNING: cache write of ${rel} failed (${put.detail}); the next boot will redo this work`);
    use.record("cache-write-failed", `${rel}: ${put.detail}`, { kind: "cache-write", object: rel, outcome: "failed" });
  }
}
