/**
 * Checks of the paths a command will write or read, made before it starts
 * (and before it writes anything), so a bad path is a usage error naming its
 * flag rather than a failure after the work is done.
 *
 * What a command writes its results into must be its own: a results
 * directory (`--out`) is new or empty, so a run neither overwrites other
 * files (`--out README.md`, `--out .`) nor mixes its results with an earlier
 * run's; a results file (`--json-out`) is new or an earlier result of the
 * same command, which it replaces.
 */
import { accessSync, constants, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
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

/**
 * Why dir cannot be the directory of one run's results, or undefined when it
 * can: it must not exist yet (and be creatable), or be an empty writable
 * directory; `isOwn`, when given, also admits a directory it recognises
 * from its entries (an earlier local boot's work directory). Creates nothing.
 */
export function unusableResultsDirectory(dir: string, isOwn?: (entries: readonly string[]) => boolean): string | undefined {
  const stat = statOrUndefined(dir);
  if (!stat) return unwritableDirectory(dir);
  if (!stat.isDirectory()) return 'is a file, not a directory';
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 'is not readable';
  }
  if (entries.length > 0 && !isOwn?.(entries)) {
    const shown = entries.sort().slice(0, 3).join(', ');
    return `already holds ${entries.length === 1 ? '1 entry' : `${entries.length} entries`} (${shown}${entries.length > 3 ? ', ...' : ''})`;
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    return 'is not writable';
  }
  return undefined;
}

/**
 * Why file cannot receive a command's result, or undefined when it can: a
 * new file in a directory that exists or can be created, or an existing
 * regular file that `isEarlierResult` recognises from its text (an earlier
 * result of the same command, which is replaced). Creates nothing.
 */
export function unusableResultsFile(file: string, isEarlierResult: (text: string) => boolean): string | undefined {
  const stat = statOrUndefined(file);
  if (!stat) {
    const dir = path.dirname(path.resolve(file));
    const dirProblem = unwritableDirectory(dir);
    if (!dirProblem) return undefined;
    return dirProblem.startsWith('cannot be created') ? dirProblem : `cannot be created: ${dir} ${dirProblem}`;
  }
  if (stat.isDirectory()) return 'is a directory';
  if (!stat.isFile()) return 'is not a regular file';
  let text: string;
  try {
    // An earlier result is small; a large file is not one, and is not read whole.
    text = stat.size <= 1024 * 1024 ? readFileSync(file, 'utf8') : '';
  } catch {
    return 'is not readable';
  }
  if (!isEarlierResult(text)) return 'exists and is not an earlier result of this command';
  try {
    accessSync(file, constants.W_OK);
  } catch {
    return 'is not writable';
  }
  return undefined;
}
