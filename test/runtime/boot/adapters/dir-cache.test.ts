import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirCache } from "../../../../runtime/boot/adapters/dir-cache";
import { LOCAL_VERSION_ID } from "../../../../runtime/boot/cache/versions";

let dir: string;
let root: string;
let work: string;
let cache: DirCache;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gllm-dir-cache-"));
  root = join(dir, "cache");
  work = join(dir, "work");
  mkdirSync(work);
  cache = new DirCache(root);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const SHA = "b".repeat(64);
function source(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}
/** Files left in a directory besides the expected ones: a temporary name must never stay behind. */
const hidden = (d: string) => readdirSync(d).filter((f) => f.startsWith(".") || f.includes(".cache-get.") || f.includes(".cache-read."));

describe("a directory cache", () => {
  test("misses an object it does not hold, and lists no version of it", async () => {
    expect(cache.location).toBe(root);
    await expect(cache.get("models/x.gguf", join(work, "x"))).resolves.toEqual({ kind: "miss" });
    await expect(cache.versions("models/x.gguf")).resolves.toEqual({ ok: true, versions: [] });
    expect(existsSync(join(work, "x"))).toBe(false);
  });

  test("writes an object, with the directories it needs, and reads it back whole", async () => {
    await expect(cache.put(source("m", "model bytes"), "models/abc.gguf", "always")).resolves.toEqual({ kind: "written" });
    expect(readFileSync(join(root, "models", "abc.gguf"), "utf8")).toBe("model bytes");
    await expect(cache.get("models/abc.gguf", join(work, "got"))).resolves.toEqual({ kind: "hit" });
    expect(readFileSync(join(work, "got"), "utf8")).toBe("model bytes");
    expect(hidden(join(root, "models"))).toEqual([]);
    expect(hidden(work)).toEqual([]);
  });

  test("holds one version of an object, with its size, and reads it with the SHA-256 it was written with", async () => {
    await cache.put(source("b", "tarball"), "builds/key.tar.gz", "if-absent", SHA);
    const listed = await cache.versions("builds/key.tar.gz");
    expect(listed).toEqual({ ok: true, versions: [{ id: LOCAL_VERSION_ID, etag: "-", size: 7 }] });
    const version = (listed as { versions: readonly { id: string; etag: string; size: number }[] }).versions[0];
    await expect(cache.readVersion("builds/key.tar.gz", version, join(work, "t"))).resolves.toEqual({ ok: true, sha256: SHA });
    expect(readFileSync(join(work, "t"), "utf8")).toBe("tarball");
    expect(readFileSync(join(root, "builds", "key.tar.gz.sha256"), "utf8")).toBe(`${SHA}\n`);
  });

  test("if-absent keeps an object that is there already; always replaces it", async () => {
    await cache.put(source("first", "first"), "quantized/q.gguf", "if-absent", SHA);
    await expect(cache.put(source("second", "second"), "quantized/q.gguf", "if-absent", "c".repeat(64))).resolves.toEqual({ kind: "kept-existing" });
    expect(readFileSync(join(root, "quantized", "q.gguf"), "utf8")).toBe("first");
    expect(readFileSync(join(root, "quantized", "q.gguf.sha256"), "utf8")).toBe(`${SHA}\n`);
    await expect(cache.put(source("third", "third"), "quantized/q.gguf", "always", "d".repeat(64))).resolves.toEqual({ kind: "written" });
    expect(readFileSync(join(root, "quantized", "q.gguf"), "utf8")).toBe("third");
    expect(readFileSync(join(root, "quantized", "q.gguf.sha256"), "utf8")).toBe(`${"d".repeat(64)}\n`);
  });

  test("a replacement written without a SHA-256 drops the old one's, which would fail it", async () => {
    await cache.put(source("a", "a"), "models/m.gguf", "always", SHA);
    await cache.put(source("b", "b"), "models/m.gguf", "always");
    expect(existsSync(join(root, "models", "m.gguf.sha256"))).toBe(false);
    const version = { id: LOCAL_VERSION_ID, etag: "-", size: 1 };
    await expect(cache.readVersion("models/m.gguf", version, join(work, "m"))).resolves.toEqual({ ok: true, sha256: undefined });
  });

  test("a directory where an object should be is no version of it", async () => {
    mkdirSync(join(root, "builds", "key.tar.gz"), { recursive: true });
    await expect(cache.versions("builds/key.tar.gz")).resolves.toEqual({ ok: true, versions: [] });
    await expect(cache.get("builds/key.tar.gz", join(work, "k"))).resolves.toEqual({ kind: "miss" });
  });

  test("a write that fails says why, leaves no temporary file, and changes nothing", async () => {
    // A directory in the object's place: no file can be renamed over it, whoever the boot runs as.
    mkdirSync(join(root, "models", "m.gguf", "inside"), { recursive: true });
    const out = await cache.put(source("b", "b"), "models/m.gguf", "always", SHA);
    expect(out).toMatchObject({ kind: "failed", detail: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(readdirSync(join(root, "models"))).toEqual(["m.gguf"]);
    expect(readdirSync(join(root, "models", "m.gguf"))).toEqual(["inside"]);
  });

  test("a read that fails says why and leaves no temporary file", async () => {
    await cache.put(source("a", "a"), "models/m.gguf", "always");
    const out = await cache.get("models/m.gguf", join(work, "no-such-dir", "m"));
    expect(out).toMatchObject({ kind: "failed", detail: expect.stringMatching(/ENOENT/) });
    const read = await cache.readVersion("models/m.gguf", { id: LOCAL_VERSION_ID, etag: "-", size: 1 }, join(work, "no-such-dir", "m"));
    expect(read).toMatchObject({ ok: false, detail: expect.stringMatching(/ENOENT/) });
    expect(hidden(work)).toEqual([]);
  });

  test("has no version but its one", async () => {
    await cache.put(source("a", "a"), "models/m.gguf", "always");
    await expect(cache.readVersion("models/m.gguf", { id: "3HL4kqtJlcpXroDTDmJ", etag: "e", size: 1 }, join(work, "m")))
      .resolves.toEqual({ ok: false, detail: "a directory cache keeps one version of models/m.gguf, not 3HL4kqtJlcpXroDTDmJ" });
  });

  test("takes only paths inside itself, and an absolute root", async () => {
    await expect(cache.get("../outside", join(work, "x"))).rejects.toThrow(/not a cache object's path: "\.\.\/outside"/);
    await expect(cache.put(source("a", "a"), "/etc/passwd", "always")).rejects.toThrow(/not a cache object's path/);
    await expect(cache.versions("")).rejects.toThrow(/not a cache object's path/);
    expect(() => new DirCache("cache")).toThrow(/absolute path, got "cache"/);
  });
});
