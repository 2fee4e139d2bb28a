import { rename, rm, stat, writeFile } from 'node:fs/promises';

/** Whether anything is at `file` (a file, a directory, ...); false where it cannot be looked at. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `value` to file `dest` with `mode` from its first byte, and whole
 * under its name or not there at all: through a temporary name created afresh
 * (a stale one, whatever its mode, is removed first), then renamed into
 * place. Rejects where it could not, leaving no temporary file.
 */
export async function replaceFile(dest: string, value: string | Buffer, mode: number): Promise<void> {
  const tmp = `${dest}.tmp.${process.pid}`;
  try {
    await rm(tmp, { force: true });
    await writeFile(tmp, value, { mode, flag: 'wx' });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
