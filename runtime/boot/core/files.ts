import { stat } from 'node:fs/promises';

/** Whether anything is at `file` (a file, a directory, ...); false where it cannot be looked at. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
