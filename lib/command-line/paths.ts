/**
 * Checks of the paths a command will write or read, made before it starts
 * (and before it writes anything), so a bad path is a usage error naming its
 * flag rather than a failure after the work is done.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import * as path from 'node:path';

function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Why a directory cannot be created or written at dir (it need not exist yet:
 * its nearest existing ancestor must be a writable directory), or undefined
 * when it can. Creates nothing.
 */
export function unwritableDirectory(dir: string): string | undefined {
  const target = path.resolve(dir);
  let probe = target;
  let stat = statOrUndefined(probe);
  while (!stat) {
    const parent = path.dirname(probe);
    if (parent === probe) return 'cannot be created';
    probe = parent;
    stat = statOrUndefined(probe);
  }
  if (!stat.isDirectory()) return probe === target ? 'is not a directory' : `cannot be created: ${probe} is not a directory`;
  try {
    accessSync(probe, constants.W_OK | constants.X_OK);
  } catch {
    return probe === target ? 'is not writable' : `cannot be created: ${probe} is not writable`;
  }
  return undefined;
}

/** Why file cannot be read as a regular file, or undefined when it can. */
export function unreadableFile(file: string): string | undefined {
  const stat = statOrUndefined(file);
  if (!stat) return 'does not exist';
  if (!stat.isFile()) return 'is not a regular file';
  try {
    accessSync(file, constants.R_OK);
  } catch {
    return 'is not readable';
  }
  return undefined;
}

/** Why dir is not an existing readable directory, or undefined when it is. */
export function unreadableDirectory(dir: string): string | undefined {
  const stat = statOrUndefined(dir);
  if (!stat) return 'does not exist';
  if (!stat.isDirectory()) return 'is not a directory';
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    return 'is not readable';
  }
  return undefined;
}
