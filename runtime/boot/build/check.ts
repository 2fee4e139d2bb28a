/**
 * Whether a build directory may be used: an installed build (a re-run), one
 * unpacked from the cache, or one just compiled.
 *
 * Why: a cached build is untrusted until it passes these checks (see
 * tarball.ts for what may be unpacked at all). What tar unpacked is checked on
 * the disk as well, since the listing is only tar's word; the manifest must be
 * this build key's material, so a tarball stored under one key but built for
 * another (another commit, CPU or toolchain) is refused; every program the
 * boot runs must be there; and llama-server must run here (as the service
 * user), which catches a damaged binary or an illegal instruction before the
 * model is fetched. A build that fails is discarded and compiled again, and
 * the rebuild cached: one bad object must not fail every instance that reads
 * it.
 *
 * Pure: the caller walks the directory, reads the manifest and runs
 * the server; the libraries it loads are libraries.ts's.
 */
import { shellQuote } from '../shell-quote';

/** One entry below an unpacked build's directory, as a walk that follows no link finds it. */
export interface UnpackedEntry {
  /** Relative to the build's directory. */
  readonly path: string;
  readonly type: 'file' | 'directory' | 'other';
  /** The permission bits (setuid, setgid and sticky included). */
  readonly mode: number;
}

/** Why a freshly unpacked build is refused, or undefined: the first entry (in walk order) that is not a plain file or directory, or has a setuid, setgid or sticky bit. */
export function unpackedEntriesProblem(entries: readonly UnpackedEntry[]): string | undefined {
  const odd = entries.find((e) => e.type === 'other' || (e.mode & 0o7000) !== 0);
  return odd === undefined
    ? undefined
    : `it unpacked to ${shellQuote(odd.path)}, which is not a plain file or directory, or has the setuid, setgid or sticky bit`;
}

export interface BuildContents {
  /** manifest.txt's text; undefined where the build has none. */
  readonly manifest: string | undefined;
  /** This build key's material (key.ts's buildKeyMaterial). */
  readonly material: string;
  /** The programs the boot runs (key.ts's buildTargets), in order. */
  readonly targets: readonly string[];
  /** Those of bin/'s files that are executable. */
  readonly executables: readonly string[];
}

const withoutTrailingNewlines = (text: string) => text.replace(/\n+$/, '');

/** Why the build is not this key's, or lacks a program; undefined where it is and has them all. */
export function buildContentsProblem(build: BuildContents): string | undefined {
  if (build.manifest === undefined) return 'it has no manifest';
  const manifest = withoutTrailingNewlines(build.manifest);
  if (manifest !== withoutTrailingNewlines(build.material)) {
    return `its manifest is not this build key's (${manifest.split('\n')[0]})`;
  }
  const lacking = build.targets.find((t) => !build.executables.includes(t));
  return lacking === undefined ? undefined : `it lacks ${lacking}`;
}

/** Why a build whose `llama-server --version` exited `status` having printed `output` (stdout and stderr) does not run here; undefined for status 0. */
export function serverVersionProblem(status: number, output: string): string | undefined {
  if (status === 0) return undefined;
  const lines = withoutTrailingNewlines(output).split('\n');
  return `its llama-server --version exits ${status}: ${lines[lines.length - 1]}`;
}
