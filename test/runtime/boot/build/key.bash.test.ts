/**
 * Side by side: boot.sh's build_targets, cmake_defines, build_key_material
 * and the key ensure_build hashes from it, against runtime/boot/build/ on
 * the same inputs, byte for byte. The OS and toolchain bash reads from the
 * machine are stood in for by functions defined after boot.sh is sourced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GENERATIONS } from '../../../../lib/catalogs/graviton-generations';
import { type BuildMachine, kitCmakeDefines } from '../../../../runtime/boot/build/defines';
import { buildKey, buildKeyMaterial, buildTargets } from '../../../../runtime/boot/build/key';
import { type BootMode } from '../../../../runtime/boot/contract';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { AWS_ENV, envFileIn } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-build-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const envFile = (mode: BootMode, overrides: Record<string, string> = {}) => envFileIn(dir, mode, overrides);

const ARM_ARCHES = Object.values(GENERATIONS).map((g) => g.armArch);
const machineOf = (name: 'x86_64' | 'aarch64', armArch: string): BuildMachine => (name === 'aarch64' ? { machine: name, armArch } : { machine: name });

describe('cmake_defines and kitCmakeDefines are the same vector', () => {
  const bashDefines = (machine: string, armArch: string) => {
    const r = inBootShell('parse_env "$1"; MACHINE=$2; cmake_defines; printf -- "--\\0"; printf "%s\\0" "${CMAKE_DEFINES[@]}"', [envFile('aws', { GLLM_ARM_ARCH: armArch }), machine]);
    return wordsAfterMarker(r.stdout);
  };
  test('on x86_64 (the Arm flags of the file ignored)', () => {
    expect(kitCmakeDefines({ machine: 'x86_64' })).toEqual(bashDefines('x86_64', AWS_ENV.GLLM_ARM_ARCH));
  });
  test.each(Object.values(GENERATIONS).map((g) => [g.name, g.armArch]))('on aarch64 for %s (%s)', (_name, armArch) => {
    expect(kitCmakeDefines({ machine: 'aarch64', armArch })).toEqual(bashDefines('aarch64', armArch));
  });
});

interface Row {
  readonly mode: BootMode;
  readonly machine: 'x86_64' | 'aarch64';
  readonly armArch: string;
  readonly commit: string;
  readonly ref: string;
  readonly quantizeTo: string;
  readonly osId: string;
  readonly osVersion: string;
  readonly toolchain: string;
}

const BASE: Row = {
  mode: 'aws', machine: 'aarch64', armArch: ARM_ARCHES[1], commit: AWS_ENV.GLLM_LLAMA_CPP_COMMIT, ref: 'v0.5.0', quantizeTo: '',
  osId: 'amzn', osVersion: '2023', toolchain: 'gcc14 from amzn release 2023.6.20250303',
};

const ROWS: readonly Row[] = [
  BASE,
  ...ARM_ARCHES.map((armArch) => ({ ...BASE, armArch })),
  { ...BASE, machine: 'x86_64' },
  { ...BASE, quantizeTo: 'Q4_K_M' },
  { ...BASE, ref: 'b6500' },
  { ...BASE, commit: 'c'.repeat(40) },
  { ...BASE, mode: 'local', commit: '', ref: 'my-branch/feature' },
  { ...BASE, mode: 'local', commit: '', ref: 'v0.5.0', machine: 'x86_64', quantizeTo: 'Q8_0' },
  { ...BASE, osId: 'debian', osVersion: '12', toolchain: 'default g++ from debian 12.9' },
  { ...BASE, osId: 'unknown', osVersion: 'unknown', toolchain: 'default compiler from unknown unknown' },
];

describe('build_key_material and buildKeyMaterial give the same material and key', () => {
  test.each(ROWS.map((row) => [JSON.stringify(row), row] as const))('%s', (_name, row) => {
    const file = envFile(row.mode, { GLLM_ARM_ARCH: row.armArch, GLLM_LLAMA_CPP_COMMIT: row.commit, GLLM_LLAMA_CPP_REF: row.ref, GLLM_QUANTIZE_TO: row.quantizeTo });
    const r = inBootShell(
      'parse_env "$1"; MACHINE=$2 OS_ID=$3 OS_VERSION=$4 TOOLCHAIN=$5; '
        + 'os_field() { case $1 in ID) echo "$OS_ID" ;; VERSION_ID) echo "$OS_VERSION" ;; esac; }; toolchain_identity() { printf "%s\\n" "$TOOLCHAIN"; }; '
        // As ensure_build does: the material captured, then hashed with one newline.
        + 'build_targets; cmake_defines; material=$(build_key_material); '
        + 'printf -- "--\\0%s\\0%s\\n\\0" "${BUILD_TARGETS[*]}" "$material"; printf "%s\\n" "$material" | sha256sum | cut -c1-32',
      [file, row.machine, row.osId, row.osVersion, row.toolchain],
    );
    expect(r.stderr).toBe('');
    const [, targets, material, key] = r.stdout.split('\0');
    const tsTargets = buildTargets(row.quantizeTo);
    const tsMaterial = buildKeyMaterial({
      llamaCppCommit: row.commit, llamaCppRef: row.ref, machine: machineOf(row.machine, row.armArch), os: `${row.osId}-${row.osVersion}`, toolchain: row.toolchain, targets: tsTargets,
    });
    expect(tsTargets.join(' ')).toBe(targets);
    expect(tsMaterial).toBe(material);
    expect(`${buildKey(tsMaterial)}\n`).toBe(key);
  });
});
