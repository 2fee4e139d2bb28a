/**
 * The compiler a build gets, and how the build key names it.
 *
 * Why: a cache hit has no compiler to ask, so the key names the compiler the
 * boot would install, from the repositories of this exact OS release, without
 * running it. Amazon Linux 2023 locks its repositories to the image's release
 * version (deterministic upgrades), so one release means one gcc14; the AMI
 * is pinned by the stack. Pure: the caller reads the files and PATH.
 */

/** What the machine says about its release. */
export interface ReleaseFacts {
  /** /etc/os-release's ID ('unknown' where absent). */
  readonly id: string;
  /** /etc/os-release's VERSION_ID ('unknown' where absent). */
  readonly versionId: string;
  /** /etc/debian_version's text, trimmed; undefined where unreadable. */
  readonly debianVersion: string | undefined;
  /**
   * Amazon Linux's release version (/etc/dnf/vars/releasever, else rpm's
   * system-release version, else VERSION_ID); read on amzn only.
   */
  readonly amznRelease: string | undefined;
}

/** The toolchain line of the build key material (key.ts's `toolchain`). */
export function toolchainIdentity(facts: ReleaseFacts): string {
  if (facts.id === 'amzn') return `gcc14 from amzn release ${facts.amznRelease ?? facts.versionId}`;
  if (facts.id === 'debian') return `default g++ from debian ${facts.debianVersion ?? facts.versionId}`;
  return `default compiler from ${facts.id} ${facts.versionId}`;
}

/** A C and a C++ compiler that go together. */
export interface Compiler {
  readonly cc: string;
  readonly cxx: string;
}

/**
 * The pairs, best first: GCC 14 where the distribution offers it next to an
 * older default (AL2023's gcc is 11, and Graviton4's armv9-a flags need 12 or
 * later), then the system compiler.
 */
export const COMPILER_CANDIDATES: readonly Compiler[] = [
  { cc: 'gcc14-gcc', cxx: 'gcc14-g++' },
  { cc: 'gcc', cxx: 'g++' },
  { cc: 'cc', cxx: 'c++' },
];

/** Every command a compiler choice looks for on PATH. */
export const COMPILER_COMMANDS: readonly string[] = COMPILER_CANDIDATES.flatMap((c) => [c.cc, c.cxx]);

/** The first pair both of whose commands are on PATH (`missing`: those of COMPILER_COMMANDS that are not); undefined for none. */
export function pickCompiler(missing: readonly string[]): Compiler | undefined {
  return COMPILER_CANDIDATES.find((c) => !missing.includes(c.cc) && !missing.includes(c.cxx));
}

/**
 * Whether the compiler found is the one a build here must use: on Amazon
 * Linux that is gcc14 (its default GCC 11 rejects Graviton4's flags), which
 * the build tools' install brings.
 */
export function compilerFits(osId: string, missing: readonly string[]): boolean {
  if (pickCompiler(missing) === undefined) return false;
  return osId !== 'amzn' || !missing.includes('gcc14-g++');
}
