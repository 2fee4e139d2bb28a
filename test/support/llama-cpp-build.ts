/**
 * Builds llama.cpp targets for tests and the local benchmarks: for this host's
 * architecture (`native`) or cross-compiled for aarch64 with a Graviton
 * generation's `-march` string, to be run under qemu-aarch64. Either way with
 * the kit's CMake defines (runtime/boot/build/defines.ts, which the boot's
 * build phase compiles with), never tuned for the CPU that builds: what the
 * tests run is what the boot builds, on any host.
 *
 * Each configuration (release tag, arch, CMake flags) gets its own build dir
 * under the cache, reused across runs, and ccache makes even a fresh build dir
 * cheap after the first compile. Only the requested targets are built.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BuildMachine, kitCmakeDefinesWith, X86_BASELINE_CPU_FLAGS } from '../../runtime/boot/build/defines';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { cpuFlags } from '../../runtime/boot/cpuinfo';
import { cacheRoot, LlamaCppSource, withLock } from './llama-cpp-source';

export const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';

export type LlamaCppTarget =
  | 'llama-server'
  | 'llama-quantize'
  | 'llama-simple'
  | 'llama-cli'
  | 'llama-completion'
  | (string & {});

export type BuildSpec =
  /** For this host's architecture, as the kit builds for it (nativeBuildMachine): runs here, not tuned to this CPU. */
  | { readonly arch: 'native' }
  | {
      readonly arch: 'aarch64';
      /** Passed to GGML_CPU_ARM_ARCH, i.e. gcc's `-march=` (e.g. `armv8.2-a+dotprod+fp16`). */
      readonly armArch: string;
    };

export interface BuildRequest {
  readonly source: LlamaCppSource;
  readonly spec: BuildSpec;
  readonly targets: readonly LlamaCppTarget[];
}

export interface LlamaCppBuild {
  readonly buildDir: string;
  readonly spec: BuildSpec;
  /** Absolute path of each requested target's executable. */
  readonly binaries: Readonly<Record<string, string>>;
  /** Wall time of this call's configure + build (0 when served from a complete build). */
  readonly seconds: number;
  readonly cached: boolean;
}

/** ccache speeds up a rebuild in a fresh build dir; without it every build compiles from scratch. */
function compilerLauncher(): Record<string, string> {
  return onPath('ccache') ? { CMAKE_C_COMPILER_LAUNCHER: 'ccache', CMAKE_CXX_COMPILER_LAUNCHER: 'ccache' } : {};
}

/**
 * What a `native` build is for. On x86_64 that is the kit's portable x86
 * build (the local boot's), never one tuned for this CPU: a `-march=native`
 * build follows the host (on an Intel Xeon with AMX it took ggml's AMX
 * kernels, and llama-server died loading a model). An arm64 host builds the
 * oldest Graviton generation's flags, which every generation runs.
 */
export function nativeBuildMachine(): BuildMachine {
  switch (os.arch()) {
    case 'x64':
      return { machine: 'x86_64' };
    case 'arm64':
      return { machine: 'aarch64', armArch: GENERATIONS[2].armArch };
    default:
      throw new Error(`no kit build for a ${os.arch()} host: the kit builds llama.cpp for x86_64 and aarch64 only`);
  }
}

/** What a build is for, as the boot names it. */
export function buildMachine(spec: BuildSpec): BuildMachine {
  return spec.arch === 'native' ? nativeBuildMachine() : { machine: 'aarch64', armArch: spec.armArch };
}

/**
 * The CMake defines of a build: the kit's (runtime/boot/build/defines.ts, the
 * boot's own list) for its machine, plus only what selects programs or runs
 * the build (kitCmakeDefinesWith refuses anything else).
 */
export function buildDefines(spec: BuildSpec, toolchainFile?: string): Record<string, string> {
  return Object.fromEntries(kitCmakeDefinesWith(buildMachine(spec), {
    // llama-simple is an example. Examples and tools are only *configured*
    // (cheap); `cmake --build --target` compiles just the requested ones, so
    // llama-server and llama-simple share one build dir and its libllama/ggml.
    LLAMA_BUILD_EXAMPLES: 'ON',
    // compile_commands.json: what each file is compiled with, for the tests that check it.
    CMAKE_EXPORT_COMPILE_COMMANDS: 'ON',
    ...compilerLauncher(),
    // try_run probes of the cross build go through qemu (see aarch64ToolchainFile).
    ...(spec.arch === 'aarch64' && toolchainFile ? { CMAKE_TOOLCHAIN_FILE: toolchainFile } : {}),
  }));
}

/** The kit's x86 baseline flags that a /proc/cpuinfo text lacks (its first `flags` line; none found: nothing to say). */
export function missingX86Baseline(cpuinfo: string): string[] {
  const flags = cpuFlags(cpuinfo);
  if (!flags) return [];
  return X86_BASELINE_CPU_FLAGS.filter((f) => !flags.includes(f));
}

/**
 * A native x86_64 build runs only where the CPU has the portable baseline,
 * as the local boot requires: say so plainly rather than let llama-server
 * die with SIGILL.
 */
async function checkHostRuns(spec: BuildSpec): Promise<void> {
  if (spec.arch !== 'native' || nativeBuildMachine().machine !== 'x86_64') return;
  let cpuinfo: string;
  try {
    cpuinfo = await fs.readFile('/proc/cpuinfo', 'utf8');
  } catch {
    return;
  }
  const missing = missingX86Baseline(cpuinfo);
  if (missing.length > 0) {
    throw new Error(`this x86_64 CPU lacks ${missing.join(', ')}, which the kit's portable x86 build (GGML_NATIVE=OFF, as the boot builds) uses`);
  }
}

/** CMake toolchain for Debian's aarch64 cross compiler; try_run probes go through qemu. */
export function aarch64ToolchainFile(): string {
  return [
    'set(CMAKE_SYSTEM_NAME Linux)',
    'set(CMAKE_SYSTEM_PROCESSOR aarch64)',
    'set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)',
    'set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)',
    `set(CMAKE_FIND_ROOT_PATH ${AARCH64_SYSROOT})`,
    'set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)',
    'set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)',
    'set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)',
    'set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)',
    `set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;${AARCH64_SYSROOT}")`,
    '',
  ].join('\n');
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, bin)));
}

function generator(): string {
  // Ninja if present (faster no-op builds); CI images may only have make.
  return onPath('ninja') ? 'Ninja' : 'Unix Makefiles';
}

function slug(spec: BuildSpec): string {
  const machine = buildMachine(spec);
  const target = machine.machine === 'x86_64' ? 'x86_64-portable' : `aarch64-${machine.armArch.replace(/[^\w.-]+/g, '_')}`;
  return spec.arch === 'native' ? `native-${target}` : target;
}

/**
 * Runs a command with its output going to `logFile` rather than the console
 * (builds are chatty); on failure the error carries the output's tail.
 */
function runLogged(cmd: string, args: readonly string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Paths under the cache root enter ccache's hashes relative to it, so a clone in another
    // folder (a fresh CI checkout, a second worktree) reuses this machine's compiled objects.
    const env = { ...process.env, CCACHE_BASEDIR: cacheRoot(), CCACHE_NOHASHDIR: 'true' };
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const log = createWriteStream(logFile, { flags: 'a' });
    const tail: Buffer[] = [];
    let held = 0;
    const keep = (b: Buffer) => {
      log.write(b);
      tail.push(b);
      held += b.length;
      while (held > 64 * 1024 && tail.length > 1) held -= tail.shift()!.length;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => log.end(() => reject(err)));
    child.on('close', (code, signal) =>
      log.end(() => {
        if (code === 0) return resolve();
        const text = Buffer.concat(tail).toString('utf8').slice(-8000);
        reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? code}); log ${logFile}\n${text}`));
      }),
    );
  });
}

function exeName(target: string): string {
  return process.platform === 'win32' ? `${target}.exe` : target;
}

interface BuildPlan {
  readonly buildDir: string;
  readonly generator: string;
  /** The toolchain file's text (aarch64), empty for a native build. */
  readonly toolchain: string;
  readonly toolchainFile: string;
  readonly defines: Readonly<Record<string, string>>;
}

/** Where a configuration is built and with what: the key covers everything that changes the compiled output. */
function planBuild(source: LlamaCppSource, spec: BuildSpec): BuildPlan {
  const buildsRoot = path.join(cacheRoot(), 'llama.cpp', 'builds');
  const toolchain = spec.arch === 'aarch64' ? aarch64ToolchainFile() : '';
  const generatorName = generator();
  // The key covers everything that changes the compiled output, so a build
  // made for one CPU generation is never served for another (the toolchain
  // file's path is inside the build dir; its text is in the key).
  const config = { tag: source.tag, spec, generator: generatorName, toolchain, defines: buildDefines(spec) };
  const key = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
  const buildDir = path.join(buildsRoot, `${source.tag}-${slug(spec)}-${key}`);
  const toolchainFile = path.join(buildDir, 'aarch64-toolchain.cmake');
  return {
    buildDir,
    generator: generatorName,
    toolchain,
    toolchainFile,
    defines: buildDefines(spec, toolchainFile),
  };
}

/** Runs CMake's configure step in the plan's build dir unless it was run with these defines; the caller holds the lock. */
async function ensureConfigured(source: LlamaCppSource, plan: BuildPlan): Promise<void> {
  const { buildDir } = plan;
  await fs.mkdir(path.join(buildDir, 'stamps'), { recursive: true });
  const logFile = path.join(buildDir, 'build.log');
  if (plan.toolchain) await fs.writeFile(plan.toolchainFile, plan.toolchain);
  const configStamp = path.join(buildDir, 'stamps', 'configure.json');
  const wanted = JSON.stringify(plan.defines);
  const configured =
    existsSync(path.join(buildDir, 'CMakeCache.txt')) &&
    existsSync(configStamp) &&
    (await fs.readFile(configStamp, 'utf8')) === wanted;
  if (configured) return;
  await runLogged(
    'cmake',
    ['-S', source.dir, '-B', buildDir, '-G', plan.generator, ...Object.entries(plan.defines).map(([k, v]) => `-D${k}=${v}`)],
    logFile,
  );
  await fs.writeFile(configStamp, wanted);
}

export interface ConfiguredBuild {
  readonly buildDir: string;
  /** The CMake defines the build dir was configured with, by name. */
  readonly defines: Readonly<Record<string, string>>;
}

/**
 * Configures the build dir that buildLlamaCpp would use for `spec`, without
 * compiling: its CMakeCache.txt and compile_commands.json say what every
 * build of that configuration compiles, and with which flags.
 */
export async function configureLlamaCpp(req: { readonly source: LlamaCppSource; readonly spec: BuildSpec }): Promise<ConfiguredBuild> {
  const plan = planBuild(req.source, req.spec);
  return withLock(`${plan.buildDir}.lock`, async () => {
    await ensureConfigured(req.source, plan);
    return { buildDir: plan.buildDir, defines: plan.defines };
  });
}

/**
 * Configures (when needed) and builds the requested targets; returns their
 * paths. Safe to call from several jest workers at once: one builds, the
 * others wait on the lock and then find the binaries ready.
 */
export async function buildLlamaCpp(req: BuildRequest): Promise<LlamaCppBuild> {
  const { source, spec } = req;
  const targets = [...new Set(req.targets)].sort();
  if (targets.length === 0) throw new Error('no targets requested');

  // Also for a build found in the cache: CI restores its cache on whatever machine it gets.
  await checkHostRuns(spec);
  const plan = planBuild(source, spec);
  const { buildDir } = plan;
  const binDir = path.join(buildDir, 'bin');
  const binaries = Object.fromEntries(targets.map((t) => [t, path.join(binDir, exeName(t))]));
  const doneStamp = (t: string) => path.join(buildDir, 'stamps', `${t}.built`);

  return withLock(`${buildDir}.lock`, async () => {
    // A stamp is written only after a successful build of that target, and
    // the source tree for a tag never changes, so stamped targets are done.
    if (targets.every((t) => existsSync(doneStamp(t)) && existsSync(binaries[t]))) {
      return { buildDir, spec, binaries, seconds: 0, cached: true };
    }

    const started = Date.now();
    await ensureConfigured(source, plan);
    const logFile = path.join(buildDir, 'build.log');
    const jobs = String(os.availableParallelism?.() ?? os.cpus().length);
    await runLogged('cmake', ['--build', buildDir, '--config', 'Release', '-j', jobs, '--target', ...targets], logFile);
    for (const t of targets) {
      if (!existsSync(binaries[t])) throw new Error(`build finished but ${binaries[t]} is missing`);
      await fs.writeFile(doneStamp(t), new Date().toISOString());
    }

    const seconds = (Date.now() - started) / 1000;
    console.log(`llama.cpp ${source.tag} ${slug(spec)}: built ${targets.join(', ')} in ${seconds.toFixed(1)} s`);
    return { buildDir, spec, binaries, seconds, cached: false };
  });
}
