/**
 * Builds llama.cpp targets for tests: natively (x86_64 host) or cross-compiled
 * for aarch64 with a given `-march` string, to be run under qemu-aarch64.
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

/** CMake cache entries shared by every configuration. */
function commonDefines(): Record<string, string> {
  return {
    CMAKE_BUILD_TYPE: 'Release',
    ...compilerLauncher(),
    // Self-contained executables: nothing to put on LD_LIBRARY_PATH, natively
    // or under qemu.
    BUILD_SHARED_LIBS: 'OFF',
    LLAMA_BUILD_TESTS: 'OFF',
    // Examples and tools are only *configured* (cheap); `cmake --build
    // --target` compiles just the requested ones. Keeping these ON for every
    // build lets llama-server and llama-simple share one build dir and its
    // compiled libllama/ggml.
    LLAMA_BUILD_EXAMPLES: 'ON',
    LLAMA_BUILD_TOOLS: 'ON',
    LLAMA_BUILD_SERVER: 'ON',
    // No network at build time: no HTTPS model downloads (LLAMA_CURL is
    // deprecated in this release, OpenSSL replaced it), no prebuilt web UI
    // fetched from Hugging Face, no npm build of the UI, no KleidiAI fetch.
    LLAMA_OPENSSL: 'OFF',
    LLAMA_USE_PREBUILT_UI: 'OFF',
    LLAMA_BUILD_UI: 'OFF',
    GGML_CPU_KLEIDIAI: 'OFF',
  };
}

function specDefines(spec: BuildSpec, toolchainFile: string): Record<string, string> {
  if (spec.arch === 'native') return {};
  return {
    CMAKE_TOOLCHAIN_FILE: toolchainFile,
    // Native detection would probe the x86 build host, not the target.
    GGML_NATIVE: 'OFF',
    GGML_CPU_ARM_ARCH: spec.armArch,
  };
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
  return spec.arch === 'native' ? `native-${os.arch()}` : `aarch64-${spec.armArch.replace(/[^\w.-]+/g, '_')}`;
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

/**
 * Configures (when needed) and builds the requested targets; returns their
 * paths. Safe to call from several jest workers at once: one builds, the
 * others wait on the lock and then find the binaries ready.
 */
export async function buildLlamaCpp(req: BuildRequest): Promise<LlamaCppBuild> {
  const { source, spec } = req;
  const targets = [...new Set(req.targets)].sort();
  if (targets.length === 0) throw new Error('no targets requested');

  const buildsRoot = path.join(cacheRoot(), 'llama.cpp', 'builds');
  const toolchain = spec.arch === 'aarch64' ? aarch64ToolchainFile() : '';
  const gen = generator();
  // The key covers everything that changes the compiled output, so a build
  // made for one CPU generation is never served for another.
  const config = { tag: source.tag, spec, generator: gen, toolchain, defines: commonDefines() };
  const key = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
  const buildDir = path.join(buildsRoot, `${source.tag}-${slug(spec)}-${key}`);
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
    await fs.mkdir(path.join(buildDir, 'stamps'), { recursive: true });
    const logFile = path.join(buildDir, 'build.log');
    const toolchainFile = path.join(buildDir, 'aarch64-toolchain.cmake');
    if (toolchain) await fs.writeFile(toolchainFile, toolchain);

    const defines = { ...commonDefines(), ...specDefines(spec, toolchainFile) };
    const configStamp = path.join(buildDir, 'stamps', 'configure.json');
    const wanted = JSON.stringify(defines);
    const configured =
      existsSync(path.join(buildDir, 'CMakeCache.txt')) &&
      existsSync(configStamp) &&
      (await fs.readFile(configStamp, 'utf8')) === wanted;
    if (!configured) {
      await runLogged(
        'cmake',
        ['-S', source.dir, '-B', buildDir, '-G', gen, ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)],
        logFile,
      );
      await fs.writeFile(configStamp, wanted);
    }

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
