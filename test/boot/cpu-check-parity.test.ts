/**
 * The cpu phase (runtime/boot/phases/cpu.ts) is a port of boot.sh's
 * check_cpu_part and check_x86_baseline: side by side on the same CPU
 * descriptions, they pass and fail alike, with the same words.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { X86_BASELINE_CPU_FLAGS } from '../../runtime/boot/build/defines';
import { GENERATIONS, type GravitonGeneration } from '../../lib/catalogs/graviton-generations';
import { PhaseFailure } from '../../runtime/boot/core/phase';
import { cpuPhase } from '../../runtime/boot/phases/cpu';
import { REPO_ROOT } from '../support/synth';
import { cpuinfoOf, GRAVITON2, GRAVITON3, GRAVITON4, X86_64, X86_64_WITHOUT_AVX2 } from '../runtime/boot/support/cpuinfo-samples';

const SCRIPT = path.join(REPO_ROOT, 'lib', 'boot', 'boot.sh');
let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-cpu-parity-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome { readonly ok: boolean; readonly lines: readonly string[] }

/** boot.sh's check on `machine`: its log lines (ERROR: ... for a failure, the prefix removed). */
function bash(machine: 'aarch64' | 'x86_64', g: GravitonGeneration, file: string): Outcome {
  const spec = GENERATIONS[g];
  const check = machine === 'aarch64' ? 'check_cpu_part' : 'check_x86_baseline';
  const r = spawnSync('bash', ['-c', `source "$0"; exec 3>&1; LOG_FILE=/dev/null
    CFG=([GLLM_MODE]=local [GLLM_CPUINFO_PATH]="$1" [GLLM_INSTANCE_TYPE]=c7g.xlarge [GLLM_GENERATION]=${g} [GLLM_CPU_PART]=${spec.cpuPart} [GLLM_ARM_ARCH]=${spec.armArch})
    ${check}`, SCRIPT, file], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n').map((l) => l.replace(/^\S+ \[init\] /, '').replace(/^ERROR: /, ''));
  return { ok: r.status === 0, lines };
}

/** The phase on the same description. */
async function typescript(machine: 'aarch64' | 'x86_64', g: GravitonGeneration, file: string, text: string): Promise<Outcome> {
  const spec = GENERATIONS[g];
  const lines: string[] = [];
  try {
    await cpuPhase.run({
      instanceType: 'c7g.xlarge', generation: g, cpuPart: spec.cpuPart, armArch: spec.armArch, x86: 'allowed',
      x86BaselineFlags: X86_BASELINE_CPU_FLAGS, platform: { machine: () => machine, cpuinfo: async () => ({ source: file, text }) }, log: (m) => lines.push(m),
    });
    return { ok: true, lines };
  } catch (e) {
    if (!(e instanceof PhaseFailure)) throw e;
    return { ok: false, lines: [...lines, e.reason] };
  }
}

const CASES: readonly (readonly [string, 'aarch64' | 'x86_64', GravitonGeneration, string])[] = [
  ['Graviton2 as Graviton2', 'aarch64', 2, GRAVITON2],
  ['Graviton3 as Graviton3', 'aarch64', 3, GRAVITON3],
  ['Graviton4 as Graviton4', 'aarch64', 4, GRAVITON4],
  ['Graviton2 as Graviton3', 'aarch64', 3, GRAVITON2],
  ['Graviton4 as Graviton3', 'aarch64', 3, GRAVITON4],
  ['a mix of cores as Graviton3', 'aarch64', 3, cpuinfoOf(['0xd40', '0xD0C'])],
  ['x86 as Graviton3', 'aarch64', 3, X86_64],
  ['x86 with the baseline', 'x86_64', 4, X86_64],
  ['x86 without AVX2', 'x86_64', 4, X86_64_WITHOUT_AVX2],
];

test.each(CASES)('%s: the same outcome and words', async (name, machine, g, text) => {
  const file = path.join(dir, name.replace(/\W+/g, '-'));
  writeFileSync(file, text);
  const ts = await typescript(machine, g, file, text);
  expect(ts).toEqual(bash(machine, g, file));
});
