/**
 * A build directory's checks in-process.
 */
import { buildContentsProblem, type BuildContents, serverVersionProblem, unpackedEntriesProblem } from '../../../../runtime/boot/build/check';

const MATERIAL = 'llama.cpp-commit=abc\narch=aarch64:armv8.4-a\ntargets=llama-server llama-quantize\n';
const BUILD: BuildContents = { manifest: MATERIAL, material: MATERIAL, targets: ['llama-server', 'llama-quantize'], executables: ['llama-quantize', 'llama-server'] };

test('a build of this key with every program passes', () => {
  expect(buildContentsProblem(BUILD)).toBeUndefined();
  // As written (one newline) or without it.
  expect(buildContentsProblem({ ...BUILD, manifest: MATERIAL.trimEnd() })).toBeUndefined();
});

test('no manifest, another key\'s manifest (named by its first line), a program missing or not executable: refused', () => {
  expect(buildContentsProblem({ ...BUILD, manifest: undefined })).toBe('it has no manifest');
  expect(buildContentsProblem({ ...BUILD, manifest: MATERIAL.replace('abc', 'def') })).toBe('its manifest is not this build key\'s (llama.cpp-commit=def)');
  expect(buildContentsProblem({ ...BUILD, manifest: `${MATERIAL}extra=1\n` })).toBe('its manifest is not this build key\'s (llama.cpp-commit=abc)');
  expect(buildContentsProblem({ ...BUILD, manifest: '' })).toBe('its manifest is not this build key\'s ()');
  expect(buildContentsProblem({ ...BUILD, executables: ['llama-server'] })).toBe('it lacks llama-quantize');
  expect(buildContentsProblem({ ...BUILD, executables: [] })).toBe('it lacks llama-server');
});

test('what tar unpacked: only plain files and directories, no setuid, setgid or sticky bit', () => {
  const plain = [{ path: 'bin', type: 'directory', mode: 0o755 }, { path: 'bin/llama-server', type: 'file', mode: 0o755 }] as const;
  expect(unpackedEntriesProblem(plain)).toBeUndefined();
  expect(unpackedEntriesProblem([...plain, { path: 'bin/l', type: 'other', mode: 0o777 }])).toBe('it unpacked to bin/l, which is not a plain file or directory, or has the setuid, setgid or sticky bit');
  for (const mode of [0o4755, 0o2755, 0o1777]) expect(unpackedEntriesProblem([...plain, { path: 'a b', type: 'file', mode }])).toMatch(/^it unpacked to a\\ b, /);
});

test('a server that does not run here is named by its exit status and last line', () => {
  expect(serverVersionProblem(0, 'version: 1 (abc)\nbuilt with gcc\n')).toBeUndefined();
  expect(serverVersionProblem(132, 'starting\nIllegal instruction (core dumped)\n')).toBe('its llama-server --version exits 132: Illegal instruction (core dumped)');
  expect(serverVersionProblem(127, '')).toBe('its llama-server --version exits 127: ');
});
