/**
 * Cross-compiles llama.cpp for each Graviton generation's `-march` string and
 * runs the tiny Q4_0 model under qemu-aarch64, emulating that generation's
 * CPU features. Proves that (1) the compiler accepts each string, (2) the
 * binary runs on the matching core without SIGILL, (3) llama.cpp picks the
 * Q4_0 repack layout we expect for that core, and (4) greedy output matches
 * the native x86 build token for token.
 *
 * llama-simple is the target: the smallest program in this release that loads
 * a model and generates. It links only libllama/ggml and always samples
 * greedily (argmax), so there is no temperature or seed to set.
 */
import { execFile } from 'node:child_process';

import { GENERATIONS, GenerationSpec } from '../../lib/catalogs/graviton-generations';
import { AARCH64_SYSROOT, buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyModel, quantizedPath, quantizeModel } from '../support/tiny-model';

/**
 * QEMU 7.2 has a Neoverse N1 model (Graviton2's core) but none for V1/V2/V3, so
 * those run as `max` with the core's SVE vector length: the width is what
 * decides llama.cpp's repack layout.
 */
function qemuCpuFor(g: GenerationSpec): string {
  return g.sveBits === undefined ? 'neoverse-n1' : `max,sve${g.sveBits}=on`;
}

/** Flags and expected kernels come from the kit's Graviton catalog, the same values instances build with. */
export const ARM_TARGETS = ([2, 3, 4] as const).map((n) => {
  const g = GENERATIONS[n];
  return { name: g.name, armArch: g.armArch, qemuCpu: qemuCpuFor(g), repack: g.q4_0Repack };
});

type ArmTarget = (typeof ARM_TARGETS)[number];

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const CROSS_TIMEOUT_MS = 45 * 60 * 1000;
const RUN_TIMEOUT_MS = 10 * 60 * 1000;
const PROMPT = 'Hello, my name is';
const N_PREDICT = 8;

interface ProgramRun {
  /** llama-simple's stdout: the prompt followed by the generated text. */
  readonly stdout: string;
  /** llama.cpp's log (model load, repack lines, timings). */
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly seconds: number;
}

/** Runs a program to completion; never throws on a non-zero exit, so tests can look at how it died. */
function runProgram(argv: readonly string[]): Promise<ProgramRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { maxBuffer: 64 * 1024 * 1024, timeout: RUN_TIMEOUT_MS }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      resolve({
        stdout,
        stderr: e && typeof e.code === 'string' ? `${stderr}\n${e.message}` : stderr,
        code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
        signal: e?.signal ?? null,
        seconds: (Date.now() - started) / 1000,
      });
    });
  });
}

/** Fails with the full story (exit code or signal, log tail) unless the run succeeded. */
function expectSucceeded(r: ProgramRun, what: string): void {
  if (r.code === 0) return;
  throw new Error(`${what} failed: code=${r.code} signal=${r.signal}\n${r.stderr.slice(-4000)}`);
}

function simpleArgs(model: string): string[] {
  return ['-m', model, '-n', String(N_PREDICT), PROMPT];
}

/**
 * An aarch64 binary under user-mode QEMU with the given CPU model. `ulimit -c
 * 0` because QEMU writes a guest core file into the cwd when the guest crashes.
 */
function underQemu(cpu: string, binary: string, args: readonly string[]): string[] {
  return ['sh', '-c', 'ulimit -c 0; exec "$@"', 'sh', 'qemu-aarch64', '-L', AARCH64_SYSROOT, '-cpu', cpu, binary, ...args];
}

/**
 * Distinct layouts the Q4_0 weights were repacked to, from lines like
 * `repack: repack tensor blk.0.attn_q.weight with q4_0_8x8`. Other types are
 * repacked too (the Q8_0 output matrix becomes q8_0_4x4 or q8_0_4x8 on Arm),
 * but the Q4_0 layout is what distinguishes the generations.
 */
function q4_0RepackLayouts(log: string): string[] {
  const layouts = [...log.matchAll(/repack tensor \S+ with (q4_0_\w+)/g)].map((m) => m[1]);
  return [...new Set(layouts)].sort();
}

/** Every repack layout the log reports, for the test output. */
function allRepackLayouts(log: string): string[] {
  return [...new Set([...log.matchAll(/repack tensor \S+ with (\w+)/g)].map((m) => m[1]))].sort();
}

async function buildFor(source: LlamaCppSource, target: ArmTarget) {
  return buildLlamaCpp({ source, spec: { arch: 'aarch64', armArch: target.armArch }, targets: ['llama-simple'] });
}

describe('aarch64 cross builds under QEMU', () => {
  let source: LlamaCppSource;
  let model: string;
  let native: ProgramRun;

  beforeAll(async () => {
    source = await ensureLlamaCppSource();
    const nativeBuild = await buildLlamaCpp({
      source,
      spec: { arch: 'native' },
      targets: ['llama-quantize', 'llama-simple'],
    });
    const f32 = await ensureTinyModel({ source });
    model = (
      await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', {
        llamaQuantize: nativeBuild.binaries['llama-quantize'],
      })
    ).path;
    native = await runProgram([nativeBuild.binaries['llama-simple'], ...simpleArgs(model)]);
    expectSucceeded(native, 'native llama-simple');
    console.log(
      `native x86_64 build ${nativeBuild.cached ? 'cached' : `${nativeBuild.seconds.toFixed(1)} s`}; ` +
        `native greedy output (${native.seconds.toFixed(1)} s): ${JSON.stringify(native.stdout)}`,
    );
  }, SETUP_TIMEOUT_MS);

  test.each(ARM_TARGETS)(
    '$name ($armArch) under qemu -cpu $qemuCpu repacks Q4_0 as $repack and matches native output',
    async (target) => {
      const build = await buildFor(source, target);
      const out = await runProgram(underQemu(target.qemuCpu, build.binaries['llama-simple'], simpleArgs(model)));
      const layouts = q4_0RepackLayouts(out.stderr);
      console.log(
        `${target.name} ${target.armArch}: build ${build.cached ? 'cached' : `${build.seconds.toFixed(1)} s`}, ` +
          `qemu -cpu ${target.qemuCpu}: exit ${out.code ?? out.signal} in ${out.seconds.toFixed(1)} s, ` +
          `Q4_0 repacked as [${layouts.join(', ')}] (all layouts: ${allRepackLayouts(out.stderr).join(', ')}), ` +
          `output ${JSON.stringify(out.stdout)} (${out.stdout === native.stdout ? 'matches' : 'DIFFERS FROM'} native)`,
      );
      expectSucceeded(out, `${target.name} llama-simple under qemu`);
      expect(layouts).toEqual([target.repack]);
      expect(out.stdout).toBe(native.stdout);
    },
    CROSS_TIMEOUT_MS,
  );

  // Why builds are keyed by flags and the CPU is checked before a build is
  // used: a binary for a newer generation is not merely slower on an older
  // core, it crashes on its first SVE instruction.
  test('a Graviton3 build dies with SIGILL on a Graviton2 core', async () => {
    const g2 = ARM_TARGETS.find((t) => t.name === 'Graviton2')!;
    const g3 = ARM_TARGETS.find((t) => t.name === 'Graviton3')!;
    const build = await buildFor(source, g3);
    const out = await runProgram(underQemu(g2.qemuCpu, build.binaries['llama-simple'], simpleArgs(model)));
    expect(out.signal).toBe('SIGILL');
  }, CROSS_TIMEOUT_MS);
});
