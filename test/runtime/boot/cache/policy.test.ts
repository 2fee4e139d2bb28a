import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DirCache } from "../../../../runtime/boot/adapters/dir-cache";
import { type CacheUse, firstGoodVersion, getFromCache, putInCache } from "../../../../runtime/boot/cache/policy";
import { CACHE_VERSIONS_TRIED } from "../../../../runtime/boot/cache/versions";
import type { Cache } from "../../../../runtime/boot/ports";
import { FakeCache, type FakeVersion } from "../support/fake-cache";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "gllm-cache-policy-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const REL = "builds/key.tar.gz";

function use(cache: Cache) {
  const lines: string[] = [];
  const events: string[] = [];
  const u: CacheUse = { cache, log: (m) => lines.push(m), record: (e, d) => events.push(`${e} ${d}`) };
  return { u, lines, events };
}

/** A check that passes the contents "good" and says what is wrong with any other. */
const check = async (file: string) => {
  const text = await readFile(file, "utf8");
  return text.startsWith("good") ? undefined : `it holds ${text}`;
};

function request(dest = join(dir, "dest")) {
  return { what: "build", rel: REL, dest, instead: "compiling", check };
}

const versions = (...contents: string[]): FakeVersion[] => contents.map((content, i) => ({ id: `v${i + 1}`, content }));

describe("the facts recorded for the boot's result (core/log.ts BootEventData)", () => {
  function recording(cache: Cache) {
    const data: unknown[] = [];
    const u: CacheUse = { cache, log: () => undefined, record: (_e, _d, d) => data.push(d) };
    return { u, data };
  }

  test("the version taken, with its place among the versions; each discarded one with its problem", async () => {
    const { u, data } = recording(new FakeCache({ [REL]: versions("bad one", "good first", "good later") }));
    await firstGoodVersion(u, request());
    expect(data).toEqual([
      { kind: "cache-discard", object: REL, version: "v1", problem: "it holds bad one" },
      { kind: "cache-take", object: REL, version: { id: "v2", position: 2, of: 3 } },
    ]);
  });

  test("a local cache's one version is recorded as version local, 1 of 1", async () => {
    mkdirSync(join(dir, "cache", "builds"), { recursive: true });
    writeFileSync(join(dir, "cache", REL), "good build");
    const { u, data } = recording(new DirCache(join(dir, "cache")));
    await firstGoodVersion(u, request());
    expect(data).toEqual([{ kind: "cache-take", object: REL, version: { id: "local", position: 1, of: 1 } }]);
  });

  test("each write's outcome: written, kept-existing, failed, skipped", async () => {
    const cache = new FakeCache({ [REL]: versions("there") });
    const { u, data } = recording(cache);
    const src = join(dir, "src");
    writeFileSync(src, "x");
    await putInCache(u, src, "builds/new.tar.gz", "if-absent");
    await putInCache(u, src, REL, "if-absent");
    await putInCache(u, src, "builds/skipped.tar.gz", "none");
    expect(data).toEqual([
      { kind: "cache-write", object: "builds/new.tar.gz", outcome: "written" },
      { kind: "cache-write", object: REL, outcome: "kept-existing" },
      { kind: "cache-write", object: "builds/skipped.tar.gz", outcome: "skipped" },
    ]);
  });
});

describe("the first good version", () => {
  test("a miss: no version, so the boot compiles and writes its build only if absent", async () => {
    const { u, lines, events } = use(new FakeCache());
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "if-absent" });
    expect(lines).toEqual([`build: cache miss ${REL}; compiling`]);
    expect(events).toEqual([`cache-miss ${REL}`]);
  });

  test("the only version, when it passes, is taken without a word about versions", async () => {
    const cache = new FakeCache({ [REL]: versions("good build") });
    const { u, lines, events } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: true, taken: "" });
    expect(readFileSync(join(dir, "dest"), "utf8")).toBe("good build");
    expect(lines).toEqual([]);
    expect(events).toEqual([`cache-hit ${REL}`]);
  });

  test("the oldest version that passes is taken, though later ones pass too", async () => {
    const cache = new FakeCache({ [REL]: versions("bad one", "good first", "good planted later") });
    const { u, lines } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: true, taken: ", version v2 (written 2 of 3)" });
    expect(readFileSync(join(dir, "dest"), "utf8")).toBe("good first");
    expect(cache.reads).toEqual(["v1", "v2"]);
    expect(lines).toEqual([
      `WARNING: ${REL} has 3 versions: it was written again after it was first cached, with other contents (3 different); trying them oldest first (v1 v2 v3)`,
      `build: discarding cached ${REL} version v1: it holds bad one`,
    ]);
  });

  test("versions of one contents are instances that cached it together: said plainly, and one bad copy is read once", async () => {
    const same = new FakeCache({ [REL]: versions("good", "good") });
    const a = use(same);
    await firstGoodVersion(a.u, request());
    expect(a.lines).toEqual([`${REL} has 2 versions of the same contents (instances that cached it at the same time)`]);

    const bad = new FakeCache({ [REL]: versions("bad", "bad", "good") });
    const b = use(bad);
    await expect(firstGoodVersion(b.u, request())).resolves.toEqual({ ok: true, taken: ", version v3 (written 3 of 3)" });
    expect(bad.reads).toEqual(["v1", "v3"]);
    expect(b.lines).toContain(`build: skipping cached ${REL} version v2: the same contents as a version discarded above`);
  });

  test("when the last version fails too, the boot compiles a replacement and writes it always", async () => {
    const { u, lines, events } = use(new FakeCache({ [REL]: versions("bad 1", "bad 2") }));
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "always" });
    expect(lines[lines.length - 1]).toBe(`build: discarding cached ${REL} version v2: it holds bad 2; compiling a replacement`);
    expect(events).toEqual([`cache-discard ${REL} version v1: it holds bad 1`, `cache-discard ${REL} version v2: it holds bad 2`]);
    // A discarded version is not left where the boot would take it.
    expect(existsSync(join(dir, "dest"))).toBe(false);
  });

  test("when the last versions are copies of a discarded one, the boot compiles a replacement", async () => {
    const { u, lines } = use(new FakeCache({ [REL]: versions("bad 1", "bad 2", "bad 2") }));
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "always" });
    expect(lines[lines.length - 1]).toBe(`build: no version of ${REL} passes its checks; compiling a replacement`);
  });

  test(`at most ${CACHE_VERSIONS_TRIED} versions are read; then nothing is written, as a later version would never be tried`, async () => {
    const cache = new FakeCache({ [REL]: versions("bad 1", "bad 2", "bad 3", "bad 4", "good 5", "good 6") });
    const { u, lines } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "none" });
    expect(cache.reads).toEqual(["v1", "v2", "v3", "v4"]);
    expect(lines[lines.length - 1]).toBe(`WARNING: build: none of the 4 versions of ${REL} tried passes its checks; not trying its 2 later ones; compiling, and not caching the result, which would never be tried either (delete the bad versions to let instances use the cache again)`);
  });

  test("a version that cannot be read is a miss, not shown bad: nothing is written in its place", async () => {
    const cache = new FakeCache({ [REL]: [{ id: "v1", content: "bad" }, { id: "v2", content: "good", unreadable: true }] });
    const { u, lines } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "none" });
    expect(lines[lines.length - 1]).toBe(`cache read of ${REL} version v2 failed; treating it as a miss; compiling`);
  });

  test("a listing that fails is a miss, and the result is written only if absent", async () => {
    const cache = new FakeCache({ [REL]: versions("good") });
    cache.listingFails = true;
    const { u, lines } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "if-absent" });
    expect(lines).toEqual([`cache listing of ${REL} failed; treating it as a miss; compiling`]);
  });

  test("the check gets the SHA-256 the version was written with", async () => {
    const cache = new FakeCache({ [REL]: [{ id: "v1", content: "good", sha256: "a".repeat(64) }, { id: "v2", content: "good too" }] });
    const { u } = use(cache);
    const seen: (string | undefined)[] = [];
    const recordingCheck = async (_file: string, sha: string | undefined) => (seen.push(sha), sha ? undefined : "it records no SHA-256");
    await expect(firstGoodVersion(u, { ...request(), check: recordingCheck })).resolves.toMatchObject({ ok: true });
    expect(seen).toEqual(["a".repeat(64)]);
  });

  test("over a directory cache: its one version, taken or discarded without version ids", async () => {
    const root = join(dir, "cache");
    const cache = new DirCache(root);
    writeFileSync(join(dir, "bad"), "bad build");
    await cache.put(join(dir, "bad"), REL, "always");
    const { u, lines } = use(cache);
    await expect(firstGoodVersion(u, request())).resolves.toEqual({ ok: false, nextWrite: "always" });
    expect(lines).toEqual([`build: discarding cached ${REL}: it holds bad build; compiling a replacement`]);
  });
});

describe("reading and writing", () => {
  test("a current version read, a miss, and a failed read treated as a miss", async () => {
    const cache = new FakeCache({ "models/a.gguf": versions("a"), "models/b.gguf": [{ id: "v1", content: "b", unreadable: true }] });
    const { u, lines } = use(cache);
    await expect(getFromCache(u, "models/a.gguf", join(dir, "a"))).resolves.toBe(true);
    await expect(getFromCache(u, "models/none.gguf", join(dir, "n"))).resolves.toBe(false);
    await expect(getFromCache(u, "models/b.gguf", join(dir, "b"))).resolves.toBe(false);
    expect(lines).toEqual(["cache read of models/b.gguf failed; treating it as a miss"]);
  });

  test("a write as the first good version says, its outcome logged and recorded; none writes nothing", async () => {
    const cache = new FakeCache({ [REL]: versions("there") });
    const { u, lines, events } = use(cache);
    await putInCache(u, "/src", "builds/new.tar.gz", "if-absent", "b".repeat(64));
    await putInCache(u, "/src", REL, "if-absent");
    await putInCache(u, "/src", "builds/unwritable.tar.gz", "always");
    await putInCache(u, "/src", "builds/skipped.tar.gz", "none");
    expect(cache.puts).toEqual([
      { rel: "builds/new.tar.gz", mode: "if-absent", sha256: "b".repeat(64) },
      { rel: REL, mode: "if-absent" },
      { rel: "builds/unwritable.tar.gz", mode: "always" },
    ]);
    expect(lines).toEqual([
      "cached builds/new.tar.gz",
      `cache already holds ${REL}, written meanwhile by another boot; keeping that one`,
      "WARNING: cache write of builds/unwritable.tar.gz failed (AccessDenied); the next boot will redo this work",
      "not caching builds/skipped.tar.gz (see above)",
    ]);
    expect(events).toEqual(["cache-write builds/new.tar.gz", `cache-kept ${REL}`, "cache-write-failed builds/unwritable.tar.gz: AccessDenied", "cache-write-skipped builds/skipped.tar.gz"]);
  });
});
