/**
 * The shared libraries a cached build loads: which ones `ldd` says this
 * machine lacks, which of those may be installed, and how.
 *
 * Why: a cached build was compiled on another instance, whose compiler
 * brought the libraries its output loads (OpenMP's libgomp, the C++ library);
 * an instance that takes it from the cache installs no compiler, so it
 * installs what it lacks on its own. A library still missing is that cached
 * version's failed check (discard it, compile here) rather than the end of
 * the boot, which would fail every boot that reads the object (issue 20 §2).
 *
 * The names come from the untrusted binary (its DT_NEEDED entries, through
 * ldd) and reach the package manager, which runs as root: a name such as
 * `--repofrompath=evil,https:` would be read as an option, a path or a
 * pattern as something else. So only names shaped like a shared library's
 * (SONAME_PATTERN) go on, after `--`; any other refuses the version (README,
 * Security: "Build programs never run as root").
 *
 * Pure: the caller runs ldd (as the service user: ldd may
 * run the program it inspects) and the installer.
 */
import { shellQuote } from '../shell-quote';

/** A name the dynamic loader could look up as a shared library, and that dnf or apt-get could not read as an option, a path or a pattern. */
export const SONAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_+-]*([.][A-Za-z0-9_+-]+)*[.]so([.][0-9]+)*$/;

/** The package manager the boot may ask for a library: the one the image has, run as root. */
export type PackageInstaller = 'dnf' | 'apt-get';

/**
 * The packages of the libraries a compiler brings, where the package
 * manager cannot find a package by soname (apt-get). Others are not
 * installed there: the cached version is then discarded.
 */
export const APT_LIBRARY_PACKAGES: Readonly<Record<string, string>> = {
  'libgomp.so.1': 'libgomp1',
  'libstdc++.so.6': 'libstdc++6',
  'libgcc_s.so.1': 'libgcc-s1',
};

/** A command to run, as root, within the boot's deadline. */
export interface InstallCommand {
  readonly argv: readonly string[];
  /** Set in the command's environment besides the boot's own. */
  readonly env: Readonly<Record<string, string>>;
}

/** The whitespace-separated fields of one line, as awk splits them. */
const fields = (line: string) => line.split(/[ \t]+/).filter((f) => f !== '');

/** Sorted (by code point, as `sort` in the C locale), each once. */
const sortedUnique = (names: readonly string[]) => [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The libraries `ldd` lists with `=>` in `outputs` (one per program; "not found" included): what the build needs at run time. */
export function lddNeeded(outputs: readonly string[]): string[] {
  return sortedUnique(outputs.flatMap((out) => out.split('\n').map(fields).filter((f) => f[1] === '=>').map((f) => f[0])));
}

/** The libraries `ldd` says in `outputs` (one per program) it cannot find here. */
export function lddMissing(outputs: readonly string[]): string[] {
  return sortedUnique(outputs.flatMap((out) => out.split('\n').map(fields).filter((f) => f[1] === '=>' && f[2] === 'not').map((f) => f[0])));
}

/** What the boot does about the libraries a cached build lacks here. */
export type MissingLibrariesDecision =
  /** Nothing is missing. */
  | { readonly kind: 'none-missing' }
  /** A name no shared library has: this version fails its check, and no installer is run. */
  | { readonly kind: 'refused'; readonly problem: string }
  /**
   * Run `commands` (none where the installer knows no package for them, or
   * there is none), then look again (stillMissingProblem). `line` is for the
   * log; `packages` names what was asked for where it fails.
   */
  | { readonly kind: 'install'; readonly line: string; readonly packages: readonly string[]; readonly commands: readonly InstallCommand[] };

/**
 * The decision on `missing` (lddMissing's), where `installer` is the
 * package manager the boot may run as root (undefined: none, or the boot is
 * not root).
 */
export function missingLibrariesDecision(missing: readonly string[], installer: PackageInstaller | undefined): MissingLibrariesDecision {
  if (missing.length === 0) return { kind: 'none-missing' };
  const odd = missing.filter((lib) => !SONAME_PATTERN.test(lib));
  if (odd.length > 0) {
    return { kind: 'refused', problem: `it loads ${odd.map(shellQuote).join(' ')}, which is not the name of a shared library` };
  }
  const packages = installer === undefined ? [] : libraryPackages(installer, missing);
  return {
    kind: 'install',
    line: `the build loads shared libraries this machine lacks: ${missing.join(' ')}`,
    packages,
    commands: installer === undefined ? [] : installCommands(installer, packages),
  };
}

/**
 * The packages that bring `libraries` (each a SONAME_PATTERN name): with
 * dnf, the soname itself (an RPM provides each soname by name, so the
 * package that ships it is found from it alone); with apt-get, the known
 * ones of APT_LIBRARY_PACKAGES.
 */
export function libraryPackages(installer: PackageInstaller, libraries: readonly string[]): string[] {
  if (installer === 'dnf') return libraries.map((lib) => `${lib}()(64bit)`);
  return libraries.flatMap((lib) => (Object.prototype.hasOwnProperty.call(APT_LIBRARY_PACKAGES, lib) ? [APT_LIBRARY_PACKAGES[lib]] : []));
}

/** The commands that install `packages`, each after `--` so that none is read as an option; none for no packages. */
export function installCommands(installer: PackageInstaller, packages: readonly string[]): InstallCommand[] {
  if (packages.length === 0) return [];
  if (installer === 'dnf') {
    return [{ argv: ['dnf', 'install', '-y', '--setopt=install_weak_deps=False', '--', ...packages], env: {} }];
  }
  return [
    { argv: ['apt-get', 'update'], env: {} },
    { argv: ['apt-get', 'install', '-y', '--no-install-recommends', '--', ...packages], env: { DEBIAN_FRONTEND: 'noninteractive' } },
  ];
}

/** The log line of an install that failed; `log` is where the installer's output went. */
export function installFailedLine(installer: PackageInstaller, packages: readonly string[], log: string): string {
  return `${installer} could not install ${packages.join(' ')} (see ${log})`;
}

/** After the install, what is wrong with the build where `missing` (lddMissing's, looked at again) is not empty. */
export function stillMissingProblem(missing: readonly string[]): string | undefined {
  if (missing.length === 0) return undefined;
  return `it loads ${missing.join(',')}, which this machine lacks and could not install (the image must carry it, or reach its package repositories)`;
}

/** The log line once nothing is missing any more. */
export const LIBRARIES_INSTALLED_LINE = 'run-time libraries installed';
