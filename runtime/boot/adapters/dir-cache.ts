/**
 * The local-mode Cache: a directory (GLLM_CACHE_URI, an absolute path). One
 * version per object (id "local"); the SHA-256 an object is to be checked against sits beside it in REL.sha256.
 */
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, sep } from "node:path";
import { LOCAL_VERSION_ID } from "../cache/versions";
import type {
  Cache, CacheGetOutcome, CachePutOutcome, CacheReadOutcome, CacheVersion, CacheVersionsOutcome, CacheWriteMode,
} from "../ports";
import { fileExists } from "../core/files";

/** The one version of an object in a directory cache. */

export class DirCache implements Cache {
  readonly location: string;

  constructor(private readonly root: string) {
    if (!isAbsolute(root)) throw new Error(`a directory cache needs an absolute path, got ${JSON.stringify(root)}`);
    this.location = root;
  }

  async get(rel: string, dest: string): Promise<CacheGetOutcome> {
    const file = this.path(rel);
    if (!(await isFile(file))) return { kind: "miss" };
    const copied = await copyThrough(file, dest, `${dest}.cache-get.${process.pid}`);
    return copied === undefined ? { kind: "hit" } : { kind: "failed", detail: copied };
  }

  async versions(rel: string): Promise<CacheVersionsOutcome> {
    const file = this.path(rel);
    try {
      const s = await stat(file);
      return { ok: true, versions: s.isFile() ? [{ id: LOCAL_VERSION_ID, etag: "-", size: s.size }] : [] };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, versions: [] };
      return { ok: false, detail: (e as Error).message };
    }
  }

  async readVersion(rel: string, version: CacheVersion, dest: string): Promise<CacheReadOutcome> {
    if (version.id !== LOCAL_VERSION_ID) return { ok: false, detail: `a directory cache keeps one version of ${rel}, not ${version.id}` };
    const file = this.path(rel);
    const copied = await copyThrough(file, dest, `${dest}.cache-read.${process.pid}`);
    if (copied !== undefined) return { ok: false, detail: copied };
    let sha256: string | undefined;
    try {
      sha256 = (await readFile(`${file}.sha256`, "utf8")).replace(/\n+$/, "") || undefined;
    } catch {
      // None recorded: the check that needs one says so.
    }
    return { ok: true, sha256 };
  }

  async put(src: string, rel: string, mode: CacheWriteMode, sha256?: string): Promise<CachePutOutcome> {
    const dest = this.path(rel);
    if (mode === "if-absent" && (await fileExists(dest))) return { kind: "kept-existing" };
    // A hidden name beside the object, renamed into place: a reader sees the old object or the new, whole.
    const tmp = join(dirname(dest), `.${basename(dest)}.put.${process.pid}`);
    try {
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(src, tmp);
      await rename(tmp, dest);
      // The record of what to check it against goes with the object: a stale one would fail a good object.
      if (sha256 !== undefined && sha256 !== "") await writeFile(`${dest}.sha256`, `${sha256}\n`);
      else await rm(`${dest}.sha256`, { force: true });
      return { kind: "written" };
    } catch (e) {
      await rm(tmp, { force: true });
      return { kind: "failed", detail: (e as Error).message };
    }
  }

  /** The file of object `rel`, which must be a plain relative path inside the cache. */
  private path(rel: string): string {
    const clean = normalize(rel);
    if (rel === "" || isAbsolute(rel) || clean === ".." || clean.startsWith(`..${sep}`)) {
      throw new Error(`not a cache object's path: ${JSON.stringify(rel)}`);
    }
    return join(this.root, clean);
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}


/** Copies `from` to `to` through `tmp`; undefined on success, else why not (and no temporary file is left). */
async function copyThrough(from: string, to: string, tmp: string): Promise<string | undefined> {
  try {
    await copyFile(from, tmp);
    await rename(tmp, to);
    return undefined;
  } catch (e) {
    await rm(tmp, { force: true });
    return (e as Error).message;
  }
}
