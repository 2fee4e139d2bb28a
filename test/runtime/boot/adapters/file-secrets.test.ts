import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSecrets } from "../../../../runtime/boot/adapters/file-secrets";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "gllm-file-secrets-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const secrets = new FileSecrets();

test("copies the named file into a file its owner alone may read", async () => {
  const key = join(dir, "key");
  writeFileSync(key, "gllm-secret\n", { mode: 0o644 });
  const dest = join(dir, "api-key");
  await expect(secrets.readToFile(key, dest)).resolves.toEqual({ kind: "read" });
  expect(readFileSync(dest, "utf8")).toBe("gllm-secret\n");
  expect(statSync(dest).mode & 0o777).toBe(0o600);
  expect(readdirSync(dir).sort()).toEqual(["api-key", "key"]);
});

test("replaces an earlier copy whole, still its owner's alone", async () => {
  const key = join(dir, "key");
  const dest = join(dir, "api-key");
  writeFileSync(dest, "old", { mode: 0o644 });
  writeFileSync(key, "new");
  await secrets.readToFile(key, dest);
  expect(readFileSync(dest, "utf8")).toBe("new");
  expect(statSync(dest).mode & 0o777).toBe(0o600);
});

test("a file that is not there is a refusal; one that cannot be read or written is a failure, leaving nothing", async () => {
  await expect(secrets.readToFile(join(dir, "absent"), join(dir, "api-key"))).resolves.toEqual({ kind: "not-found", detail: `no file ${join(dir, "absent")}` });
  mkdirSync(join(dir, "a-directory"));
  await expect(secrets.readToFile(join(dir, "a-directory"), join(dir, "api-key"))).resolves.toMatchObject({ kind: "failed", detail: expect.stringMatching(/EISDIR/) });
  writeFileSync(join(dir, "key"), "k");
  await expect(secrets.readToFile(join(dir, "key"), join(dir, "missing-dir", "api-key"))).resolves.toMatchObject({ kind: "failed", detail: expect.stringMatching(/ENOENT/) });
  expect(existsSync(join(dir, "api-key"))).toBe(false);
  expect(secrets.describe("/home/dev/key")).toBe("/home/dev/key");
});
