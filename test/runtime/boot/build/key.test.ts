/**
 * The build key in-process: what it changes with, and what it does not.
 */
import { GENERATIONS } from '../../../../lib/catalogs/graviton-generations';
import { kitCmakeDefines } from '../../../../runtime/boot/build/defines';
import { BUILD_OPTIONS_VERSION, buildKey, type BuildKeyInput, buildKeyMaterial, buildTargets } from '../../../../runtime/boot/build/key';

const INPUT: BuildKeyInput = {
  llamaCppCommit: 'a'.repeat(40), llamaCppRef: 'v0.5.0', machine: { machine: 'aarch64', armArch: GENERATIONS[3].armArch },
  os: 'amzn-2023', toolchain: 'gcc14 from amzn release 2023.6.20250303', targets: buildTargets(''),
};
const key = (overrides: Partial<BuildKeyInput>) => buildKey(buildKeyMaterial({ ...INPUT, ...overrides }));

test('the quantizer is built only where the model is quantized on the instance', () => {
  expect(buildTargets('')).toEqual(['llama-server']);
  expect(buildTargets('Q4_K_M')).toEqual(['llama-server', 'llama-quantize']);
});

test('the material names the commit, the target, the OS, the toolchain, the programs and every define, one line each', () => {
  expect(buildKeyMaterial(INPUT).split('\n')).toEqual([
    `llama.cpp-commit=${'a'.repeat(40)}`,
    `arch=aarch64:${GENERATIONS[3].armArch}`,
    'os=amzn-2023',
    'toolchain=gcc14 from amzn release 2023.6.20250303',
    'targets=llama-server',
    `build-options-version=${BUILD_OPTIONS_VERSION}`,
    `cmake=${kitCmakeDefines(INPUT.machine).join(' ')}`,
    '',
  ]);
  expect(buildKeyMaterial({ ...INPUT, machine: { machine: 'x86_64' } })).toContain('\narch=x86_64:ggml-portable\n');
});

test('the key changes with the Arm flags, the commit, the programs, the OS and the toolchain; not with the tag\'s name', () => {
  const base = key({});
  expect(base).toMatch(/^[0-9a-f]{32}$/);
  for (const change of [
    { machine: { machine: 'aarch64', armArch: GENERATIONS[2].armArch } } as const,
    { machine: { machine: 'x86_64' } } as const,
    { llamaCppCommit: 'c'.repeat(40) },
    { targets: buildTargets('Q4_0') },
    { os: 'amzn-2025' },
    { toolchain: 'gcc14 from amzn release 2023.7.20250401' },
  ]) {
    expect(key(change)).not.toBe(base);
  }
  // The commit is what is built: another name for it builds the same thing.
  expect(key({ llamaCppRef: 'b6500' })).toBe(base);
});

test('a source tree without a commit is keyed on its name', () => {
  expect(buildKeyMaterial({ ...INPUT, llamaCppCommit: '', llamaCppRef: 'my-branch' })).toMatch(/^llama\.cpp-commit=none \(source tree my-branch\)\n/);
  expect(key({ llamaCppCommit: '', llamaCppRef: 'a' })).not.toBe(key({ llamaCppCommit: '', llamaCppRef: 'b' }));
});
