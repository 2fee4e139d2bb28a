import { writeFile } from "node:fs/promises";
import type {
  Cache, CacheGetOutcome, CachePutOutcome, CacheReadOutcome, CacheVersion, CacheVersionsOutcome, CacheWriteMode,
} from "../../../../runtime/boot/ports";

/** One stored version of an object. */
export interface FakeVersion {
  readonly id: string;
  readonly content: string;
  readonly sha256?: string;
  /** Its reads fail (a transient error that outlasted the retries). */
  readonly unreadable?: boolean;
}

/**
 * A versioned cache in memory, as S3 keeps one (oldest version first), whose
 * reads write the version's content to the destination file. Records every
 * read and write.
 */
export class FakeCache implements Cache {
  readonly location = "s3://fake-bucket/cache";
  readonly reads: string[] = [];
  readonly puts: { rel: string; mode: CacheWriteMode; sha256?: string }[] = [];
  listingFails = false;

  constructor(private readonly objects: Record<string, FakeVersion[]> = {}) {}

  async get(rel: string, dest: string): Promise<CacheGetOutcome> {
    const versions = this.objects[rel] ?? [];
    const current = versions[versions.length - 1];
    if (!current) return { kind: "miss" };
    if (current.unreadable) return { kind: "failed", detail: "connection reset" };
    await writeFile(dest, current.content);
    return { kind: "hit" };
  }

  async versions(rel: string): Promise<CacheVersionsOutcome> {
    if (this.listingFails) return { ok: false, detail: "AccessDenied" };
    return { ok: true, versions: (this.objects[rel] ?? []).map((v) => ({ id: v.id, etag: `etag-of-${v.content}`, size: v.content.length })) };
  }

  async readVersion(rel: string, version: CacheVersion, dest: string): Promise<CacheReadOutcome> {
    this.reads.push(version.id);
    const v = (this.objects[rel] ?? []).find((x) => x.id === version.id);
    if (!v || v.unreadable) return { ok: false, detail: "connection reset" };
    await writeFile(dest, v.content);
    return { ok: true, sha256: v.sha256 };
  }

  async put(_src: string, rel: string, mode: CacheWriteMode, sha256?: string): Promise<CachePutOutcome> {
    this.puts.push({ rel, mode, ...(sha256 !== undefined ? { sha256 } : {}) });
    if (rel.includes("unwritable")) return { kind: "failed", detail: "AccessDenied" };
    if (mode === "if-absent" && (this.objects[rel] ?? []).length > 0) return { kind: "kept-existing" };
    return { kind: "written" };
  }
}
