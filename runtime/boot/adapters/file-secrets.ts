/**
 * The local-mode Secrets: a secret is a file the developer names (the API key
 * file GLLM_API_KEY_FILE), copied to the file the boot names.
 */
import { readFile } from "node:fs/promises";
import { replaceFile } from "../core/files";
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
    return writeSecretFile(dest, value);
  }
}

/**
 * Writes a secret's value to file `dest`, readable by its owner only from its
 * first byte, whole or not at all (core/files.ts replaceFile). For both
 * modes' Secrets.
 */
export async function writeSecretFile(dest: string, value: string | Buffer): Promise<SecretReadOutcome> {
  try {
    await replaceFile(dest, value, 0o600);
    return { kind: "read" };
  } catch (e) {
    return { kind: "failed", detail: (e as Error).message };
  }
}
