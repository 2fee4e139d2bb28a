/**
 * The llama.cpp that the tests and the local benchmarks run is the kit's
 * build, whatever CPU builds it: the build dirs that buildLlamaCpp compiles
 * in are configured with the boot's CMake defines (runtime/boot/build/defines.ts,
 * which the boot's build phase compiles with), and what
 * CMake then generates compiles for the kit's target, not for the host.
 *
 * Why: a `-march=native` build follows the host. On an Intel Xeon with AMX it
 * compiled ggml's AMX kernels, and llama-server died with SIGSEGV loading the
 * tiny model (ggml_backend_amx_mul_mat), failing every test that served it,
 * where the kit's own build served on the same machine.
 *
 * Mostly configures (CMakeCache.txt and compile_commands.json say what every
 * compile of the dir does), then reads the native llama-server that the other
 * suites serve back for instructions a host-tuned build would hold.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import {
  cmakeDefineMap, kitCmakeDefines, SERVER_KEEPALIVE_SECONDS, TARGET_SELECTION_DEFINES, X86_BASELINE_CPU_FLAGS,
} from '../../runtime/boot/build/defines';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { buildLlamaCpp, buildMachine, BuildSpec, configureLlamaCpp, missingX86Baseline } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';

const CONFIGURE_TIMEOUT_MS = 20 * 60 * 1000;

/** CMakeCache.txt's `NAME:TYPE=VALUE` lines. */
function cmakeCache(buildDir: string): Map<string, string> {
  const cache = new Map<string, string>();
  for (const line of readFileSync(path.join(buildDir, 'CMakeCache.txt'), 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):[A-Z]+=(.*)$/.exec(line);
    if (m) cache.set(m[1], m[2]);
  }
  return cache;
}

interface CompileCommand {
  readonly file: string;
  readonly args: readonly string[];
}

function compileCommands(buildDir: string): CompileCommand[] {
  const entries = JSON.parse(readFileSync(path.join(buildDir, 'compile_commands.json'), 'utf8')) as {
    file: string; command?: string; arguments?: string[];
  }[];
  return entries.map((e) => ({ file: e.file, args: e.arguments ?? (e.command ?? '').split(/\s+/).filter(Boolean) }));
}

/** The instruction-set choices in a compile: -march/-mcpu/-mtune, and x86 ISA extensions. */
function isaFlags(args: readonly string[]): string[] {
  return args.filter((a) => /^-m(arch|cpu|tune)=/.test(a) || /^-m(sse|avx|fma|f16c|bmi|amx|fp16)/.test(a));
}

/** Where each instruction-set flag of the ggml CPU backend's compiles comes from: every distinct set, with a file for each. */
function ggmlCpuIsaSets(commands: readonly CompileCommand[]): Map<string, string> {
  const sets = new Map<string, string>();
  for (const c of commands.filter((c) => c.file.includes(`${path.sep}ggml-cpu${path.sep}`))) {
    const key = [...new Set(isaFlags(c.args))].sort().join(' ');
    if (!sets.has(key)) sets.set(key, c.file);
  }
  return sets;
}

/** What the kit's defines say, against what the build dir was configured with and what its cache holds. */
function expectKitDefines(spec: BuildSpec, configured: Readonly<Record<string, string>>, cache: Map<string, string>): void {
  const kit = cmakeDefineMap(kitCmakeDefines(buildMachine(spec)));
  // The defines used are the kit's, plus only the ones that pick programs.
  const added = Object.keys(configured).filter((name) => !kit.has(name) || configured[name] !== kit.get(name));
  expect(added.filter((name) => !(TARGET_SELECTION_DEFINES as readonly string[]).includes(name))).toEqual([]);
  for (const [name, value] of kit) {
    if (name in configured && configured[name] !== value) continue;
    expect(`${name}=${cache.get(name)}`).toBe(`${name}=${value}`);
  }
  expect(cache.get('GGML_NATIVE')).toBe('OFF');
}

function expectNothingForTheHost(commands: readonly CompileCommand[]): void {
  expect(commands.length).toBeGreaterThan(100);
  const hostTuned = commands.filter((c) => c.args.some((a) => /^-m(arch|cpu|tune)=native$/.test(a) || /^-mamx/.test(a)));
  expect(hostTuned.map((c) => `${c.file}: ${isaFlags(c.args).join(' ')}`)).toEqual([]);
  // Every C++ unit sees the kit's keep-alive (cpp-httplib is header-only, so any unit may hold a copy).
  const cxx = commands.filter((c) => /\.(cpp|cc)$/.test(c.file));
  expect(cxx.filter((c) => !c.args.includes(`-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=${SERVER_KEEPALIVE_SECONDS}`)).map((c) => c.file)).toEqual([]);
}

describe('the tests and benchmarks build llama.cpp as the boot does, never for the host CPU', () => {
  let source: LlamaCppSource;

  beforeAll(async () => {
    source = await ensureLlamaCppSource();
  }, CONFIGURE_TIMEOUT_MS);

  test('native: the boot\'s defines, GGML_NATIVE off, and ggml compiled for the portable x86 baseline the boot checks', async () => {
    const spec: BuildSpec = { arch: 'native' };
    const { buildDir, defines } = await configureLlamaCpp({ source, spec });
    const cache = cmakeCache(buildDir);
    expectKitDefines(spec, defines, cache);
    const commands = compileCommands(buildDir);
    expectNothingForTheHost(commands);
    const sets = ggmlCpuIsaSets(commands);
    console.log(`native build ${path.basename(buildDir)}: ggml-cpu instruction-set flags ${[...sets.keys()].map((k) => `[${k}]`).join(', ')}`);
    if (buildMachine(spec).machine === 'x86_64') {
      // Exactly the flags the boot's cpu phase requires of an x86_64 CPU (cpuinfo's sse4_2 is gcc's -msse4.2).
      const expected = X86_BASELINE_CPU_FLAGS.map((f) => `-m${f.replace('sse4_2', 'sse4.2')}`).sort().join(' ');
      expect([...sets.keys()]).toEqual([expected]);
    }
  }, CONFIGURE_TIMEOUT_MS);

  test('a native x86_64 build is refused, by flag, on a CPU without the baseline; this CPU has it', () => {
    expect(missingX86Baseline('processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c\n')).toEqual(['bmi2']);
    expect(missingX86Baseline(`flags\t\t: fpu ${X86_BASELINE_CPU_FLAGS.join(' ')} avx512f amx_tile amx_int8 amx_bf16\n`)).toEqual([]);
    if (buildMachine({ arch: 'native' }).machine === 'x86_64') expect(missingX86Baseline(readFileSync('/proc/cpuinfo', 'utf8'))).toEqual([]);
  });

  // What the compile commands promise, read back from the program: the instructions a host-tuned
  // build picks up on an AVX-512 or AMX CPU (AMD EPYC here: 10,555 zmm instructions in a GGML_NATIVE=ON
  // llama-quantize) are not there, whatever CPU built it.
  test('native x86_64 llama-server holds no AVX-512 or AMX instruction', async () => {
    if (buildMachine({ arch: 'native' }).machine !== 'x86_64') {
      console.log('skipped: not an x86_64 host');
      return;
    }
    const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server'] });
    const asm = await new Promise<string>((resolve, reject) => {
      execFile('objdump', ['-d', '--no-show-raw-insn', build.binaries['llama-server']], { maxBuffer: 1024 * 1024 * 1024 }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    const count = (re: RegExp) => asm.split('\n').filter((l) => re.test(l)).length;
    const found = { ymm: count(/%ymm/), zmm: count(/%zmm|%k[1-7]\b/), amx: count(/\b(ldtilecfg|tileloadd|tdpb\w+|tilestored)\b/) };
    console.log(`native llama-server instructions using: ${JSON.stringify(found)}`);
    expect(found.ymm).toBeGreaterThan(0);
    expect({ zmm: found.zmm, amx: found.amx }).toEqual({ zmm: 0, amx: 0 });
  }, CONFIGURE_TIMEOUT_MS * 3);

  const armArches = [...new Set(Object.values(GENERATIONS).map((g) => g.armArch))];
  test.each(armArches)('aarch64 cross build for %s: the boot\'s defines, and ggml compiled for that -march alone', async (armArch) => {
    const spec: BuildSpec = { arch: 'aarch64', armArch };
    const { buildDir, defines } = await configureLlamaCpp({ source, spec });
    const cache = cmakeCache(buildDir);
    expectKitDefines(spec, defines, cache);
    expect(cache.get('GGML_CPU_ARM_ARCH')).toBe(armArch);
    const commands = compileCommands(buildDir);
    expectNothingForTheHost(commands);
    expect([...ggmlCpuIsaSets(commands).keys()]).toEqual([`-march=${armArch}`]);
  }, CONFIGURE_TIMEOUT_MS);
});
