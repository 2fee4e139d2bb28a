/**
 * The local-mode Secrets: a secret is a file the developer names (the API key
 * file GLLM_API_KEY_FILE), copied as boot.sh's local install_api_key copies it.
 */
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { SecretReadOutcome, Secrets } from "../ports";

export class FileSecrets implements Secrets {
  describe(name: string): string {
    return name;
  }

  async readToFile(name: string, dest: string): Promise<SecretReadOutcome> {
    let value: Buffer;
    try {
      value = await readFile(name);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return err.code === "ENOENT" ? { kind: "not-found", detail: `no file ${name}` } : { kind: "failed", detail: err.message };
    }
    // Readable by its owner only from its first byte, and whole under its name or not there at all.
    const tmp = `${dest}.tmp.${process.pid}`;
    try {
      await writeFile(tmp, value, { mode: 0o600 });
      await rename(tmp, dest);
      return { kind: "read" };
    } catch (e) {
      await rm(tmp, { force: true });
      return { kind: "failed", detail: (e as Error).message };
    }
  }
}
