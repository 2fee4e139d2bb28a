/**
 * The deps phase: the programs every boot runs are there, installed if they
 * are missing and the boot may install. The build phase asks for its own
 * tools (ensureBuildTools) on a cache miss only, so
 * a scale-out instance that finds its build in the cache installs no compiler.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { COMPILER_COMMANDS, compilerFits, type Compiler, pickCompiler } from '../build/toolchain';
import { type Phase, PhaseFailure } from '../core/phase';
import type { Packages, Platform } from '../ports';

export const DEPS_PHASE = 'deps';

/** The packages that bring the run-time tools, in each manager's names. */
export const RUNTIME_PACKAGES = {
  'dnf': ['tar', 'gzip', 'util-linux', 'shadow-utils'],
  'apt-get': ['tar', 'gzip', 'curl', 'ca-certificates', 'coreutils', 'util-linux'],
} as const;

/** The packages that bring the build tools; ccache (dnf) is installed apart, as it is only nice to have. */
export const BUILD_TOOL_PACKAGES = {
  'dnf': ['gcc14', 'gcc14-c++', 'cmake', 'git', 'make'],
  'apt-get': ['build-essential', 'cmake', 'git', 'make'],
} as const;

/** What a compile needs besides a compiler. */
export const BUILD_TOOLS = ['cmake', 'git', 'make'] as const;

/** A package that is only nice to have: installed (dnf only) where its program is not there. */
export interface OptionalPackage {
  readonly package: string;
  /** The program it brings; the package is skipped where this is executable. */
  readonly program: string;
}

export interface DepsPhaseInput {
  /**
   * The commands every boot runs: unpacking, the download, the lock (an
   * instance adds the AWS CLI, systemd, useradd and setpriv).
   */
  readonly requiredTools: readonly string[];
  /** Installed one at a time with dnf where missing, each failure logged only (an instance's cfn-signal and CloudWatch agent). */
  readonly optionalPackages: readonly OptionalPackage[];
  readonly packages: Packages;
  readonly platform: Pick<Platform, 'isRoot'>;
  readonly log: (message: string) => void;
}

const isExecutable = (file: string) => access(file, constants.X_OK).then(() => true, () => false);

function fail(phase: string, reason: string): never {
  throw new PhaseFailure(phase, reason);
}

/** Installs `packages` with the manager or fails the phase, naming the manager's log. */
async function installOrFail(phase: string, packages: Packages, names: readonly string[], what: string): Promise<void> {
  const got = await packages.install(names);
  if (!got.ok) fail(phase, `${packages.manager} install${what} failed; see ${got.detail}`);
}

/** Installs each of `names` on its own (dnf refuses a whole list for one package the repositories lack); a failure is logged. */
async function installOptional(packages: Packages, names: readonly string[], log: (m: string) => void): Promise<void> {
  for (const name of names) {
    if (!(await packages.install([name])).ok) log(`optional package ${name} not installed; continuing`);
  }
}

export const depsPhase: Phase<DepsPhaseInput> = {
  name: DEPS_PHASE,
  async run(input) {
    const { packages, log } = input;
    let missing = await packages.missingTools(input.requiredTools);
    const optional: string[] = [];
    if (packages.manager === 'dnf') {
      for (const o of input.optionalPackages) if (!(await isExecutable(o.program))) optional.push(o.package);
    }
    if (missing.length === 0 && optional.length === 0) {
      log('run-time tools already present; nothing to install');
      return;
    }
    if (missing.length > 0) {
      if (!input.platform.isRoot()) fail(DEPS_PHASE, `missing tools: ${missing.join(' ')} (local mode installs nothing without root: install them and re-run)`);
      const manager = packages.manager;
      if (manager === undefined) fail(DEPS_PHASE, `no dnf or apt-get to install: ${missing.join(' ')}`);
      log(`installing run-time tools with ${manager}: ${missing.join(' ')}`);
      await installOrFail(DEPS_PHASE, packages, RUNTIME_PACKAGES[manager], '');
      missing = await packages.missingTools(input.requiredTools);
      if (missing.length > 0) fail(DEPS_PHASE, `still missing after install: ${missing.join(' ')}`);
    }
    await installOptional(packages, optional, log);
  },
};

export interface BuildToolsInput {
  /** The phase that asks (its failures are named after it). */
  readonly phase: string;
  /** /etc/os-release's ID: on amzn the compiler must be gcc14. */
  readonly osId: string;
  readonly packages: Packages;
  readonly platform: Pick<Platform, 'isRoot'>;
  readonly log: (message: string) => void;
}

/**
 * What a compile needs (CMake, git, make and a C/C++ compiler), installed if
 * missing; returns the compiler to build with. Fails the asking phase where
 * they cannot be had.
 */
export async function ensureBuildTools(input: BuildToolsInput): Promise<Compiler> {
  const { packages, log, phase } = input;
  const lookFor = async () => {
    const found = await packages.missingTools([...BUILD_TOOLS, ...COMPILER_COMMANDS]);
    return { tools: found.filter((t) => (BUILD_TOOLS as readonly string[]).includes(t)), compilers: found.filter((t) => COMPILER_COMMANDS.includes(t)) };
  };
  let missing = await lookFor();
  if (missing.tools.length === 0 && compilerFits(input.osId, missing.compilers)) {
    log('build tools already present; nothing to install');
    return pickCompiler(missing.compilers)!;
  }
  if (!input.platform.isRoot()) {
    const compiler = compilerFits(input.osId, missing.compilers) ? '' : ' C/C++ compiler';
    fail(phase, `missing build tools: ${missing.tools.join(' ')}${compiler} (local mode installs nothing without root: install them and re-run)`);
  }
  const manager = packages.manager;
  if (manager === undefined) fail(phase, `no dnf or apt-get to install the build tools: ${missing.tools.join(' ')}`);
  log(`installing build tools with ${manager}`);
  await installOrFail(phase, packages, BUILD_TOOL_PACKAGES[manager], ' of the build tools');
  // ccache speeds a rebuild; not every repository has it.
  if (manager === 'dnf') await installOptional(packages, ['ccache'], log);
  missing = await lookFor();
  if (missing.tools.length > 0) fail(phase, `still missing after install: ${missing.tools.join(' ')}`);
  const compiler = pickCompiler(missing.compilers);
  if (compiler === undefined) fail(phase, 'no C/C++ compiler after install');
  return compiler;
}
