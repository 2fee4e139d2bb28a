/**
 * `npm run local`'s rules that span flags or read files, checked before
 * anything is written: the llama.cpp commit as synth requires it
 * (llamaCppCommitOf, one rule for both), a key file that holds a key, a work
 * directory of the boot's own, and the CPU's generation on aarch64.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { generationFromCpuinfo, parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS, llamaCppCommitOf } from '../../lib/catalogs/llama-cpp-release';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-local-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const BASE = ['--model-url', 'http://127.0.0.1:9/m.gguf', '--sha256', 'a'.repeat(64), '--size-bytes', '100'];
const COMMIT = LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF];
/** A git repository (as far as the check looks: .git), and a source tree without git. */
const gitSrc = path.join(dir, 'git-src');
mkdirSync(path.join(gitSrc, '.git'), { recursive: true });
const tree = path.join(dir, 'tree');
mkdirSync(tree);
writeFileSync(path.join(tree, 'CMakeLists.txt'), 'project(llama.cpp)\n');

function parse(args: string[], env: NodeJS.ProcessEnv = {}, arch = 'x64') {
  const workDir = args.includes('--work-dir') ? [] : ['--work-dir', path.join(dir, 'work')];
  return parseLocalBootArgs([...BASE, ...workDir, ...args], dir, env, arch);
}
const errors = (args: string[], env: NodeJS.ProcessEnv = {}, arch = 'x64'): readonly string[] => {
  const r = parse(args, env, arch);
  return 'errors' in r ? r.errors : [];
};
const options = (args: string[], env: NodeJS.ProcessEnv = {}, arch = 'x64') => {
  const r = parse(args, env, arch);
  if (!('options' in r)) throw new Error(JSON.stringify(r));
  return r.options;
};

describe('the llama.cpp commit: synth\'s rule, in the flags\' names', () => {
  test('the default tag\'s commit is filled in, and another commit for it is refused as synth refuses it', () => {
    expect(options([]).llamaCommit).toBe(COMMIT);
    expect(options(['--llama-commit', COMMIT]).llamaCommit).toBe(COMMIT);
    const wrong = '0'.repeat(40);
    expect(llamaCppCommitOf(LLAMA_CPP_DEFAULT_REF, wrong).problems).toHaveLength(1);
    expect(errors(['--llama-commit', wrong])).toEqual([
      `--llama-commit: got "${wrong}"; expected ${COMMIT}, the commit of --llama-ref ${LLAMA_CPP_DEFAULT_REF}; drop --llama-commit, or set --llama-ref to the release it belongs to`,
    ]);
    // A local source tree does not change what the tag's commit is.
    expect(errors(['--llama-commit', wrong, '--llama-src', gitSrc])).toHaveLength(1);
  });

  test('a ref that is a commit must be the commit given', () => {
    expect(errors(['--llama-ref', COMMIT, '--llama-commit', '1'.repeat(40)])).toEqual([expect.stringMatching(/^--llama-commit: got "1{40}"; expected [0-9a-f]{40}, the commit of --llama-ref /)]);
    expect(options(['--llama-ref', COMMIT]).llamaCommit).toBe(COMMIT);
  });

  test('a tag the kit does not know needs its commit, unless a local tree is built as it is', () => {
    expect(errors(['--llama-ref', 'b9999'])).toEqual([expect.stringMatching(/^--llama-commit: required with --llama-ref b9999, a tag the kit does not know the commit of/)]);
    expect(options(['--llama-ref', 'b9999', '--llama-src', tree]).llamaCommit).toBe('');
    expect(options(['--llama-ref', 'b9999', '--llama-commit', 'b'.repeat(40)]).llamaCommit).toBe('b'.repeat(40));
  });
});

describe('files', () => {
  test('--llama-src: a source tree or git repository, and a git repository where a commit is taken from it', () => {
    expect(options(['--llama-src', gitSrc]).llamaSrc).toBe(gitSrc);
    expect(errors(['--llama-src', tree])).toEqual([
      `--llama-src: ${tree} is not a git repository, so the boot cannot take commit ${COMMIT} (--llama-ref ${LLAMA_CPP_DEFAULT_REF}) from it; expected a git clone of llama.cpp that holds that commit`,
    ]);
    const empty = path.join(dir, 'empty-src');
    mkdirSync(empty);
    expect(errors(['--llama-src', empty, '--llama-ref', 'b9999'])).toEqual([
      `--llama-src: ${empty} holds neither CMakeLists.txt nor .git: expected a llama.cpp source tree or git repository`,
    ]);
  });

  test('--cache-dir: new, empty, or a cache a boot wrote', () => {
    const cache = path.join(dir, 'cache');
    mkdirSync(path.join(cache, 'builds'), { recursive: true });
    mkdirSync(path.join(cache, 'models'));
    expect(options(['--cache-dir', cache]).cacheDir).toBe(cache);
    expect(errors(['--cache-dir', dir])).toEqual([
      expect.stringMatching(/^--cache-dir: .* already holds \d+ entries .*: expected a new or empty directory, or a local boot's cache \(holding only builds, models, quantized\)$/),
    ]);
  });

  test('a key file must hold a key, as the boot reads it', () => {
    const empty = path.join(dir, 'empty-key');
    writeFileSync(empty, ' \n');
    const key = path.join(dir, 'key');
    writeFileSync(key, '\nkey-on-line-2\n');
    expect(errors(['--api-key-file', empty])).toEqual([`--api-key-file: ${empty} is empty: expected the API key`]);
    expect(options(['--api-key-file', key]).apiKeyFile).toBe(key);
  });

  test('$GLLM_API_KEY of white space only is refused; unset or empty generates a key', () => {
    expect(errors([], { GLLM_API_KEY: ' \t' })).toEqual(['$GLLM_API_KEY: got only white space; expected the API key, or leave it unset to generate one']);
    expect(errors([], { GLLM_API_KEY: '' })).toEqual([]);
  });

  test('the work directory: new, empty, or an earlier local boot\'s (its boot.env)', () => {
    const earlier = path.join(dir, 'earlier');
    mkdirSync(earlier);
    writeFileSync(path.join(earlier, 'boot.env'), 'GLLM_MODE=local\n');
    writeFileSync(path.join(earlier, 'api-key'), 'k\n');
    const other = path.join(dir, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'notes.txt'), 'mine\n');
    expect(options(['--work-dir', earlier]).workDir).toBe(earlier);
    expect(errors(['--work-dir', other])).toEqual([
      `--work-dir: ${other} already holds 1 entry (notes.txt): expected a new or empty directory, or an earlier local boot's (with its boot.env)`,
    ]);
    // --stop only reads the pid file: any directory will do.
    expect(parseLocalBootArgs(['--stop', '--work-dir', other], dir)).toEqual({ stop: true, workDir: other });
  });
});

describe('the generation on aarch64, found before anything is written', () => {
  test('from the CPU part; another CPU needs --generation', () => {
    const g3 = path.join(dir, 'cpuinfo-g3');
    writeFileSync(g3, 'processor\t: 0\nCPU part\t: 0xd40\n');
    const other = path.join(dir, 'cpuinfo-other');
    writeFileSync(other, 'processor\t: 0\nCPU part\t: 0xd08\n');
    expect(options(['--cpuinfo', g3], {}, 'arm64').generation).toBe(3);
    expect(errors(['--cpuinfo', other], {}, 'arm64')).toEqual([expect.stringMatching(/^--generation: required here: .*cpuinfo-other names no Graviton core; expected one of 2, 3, 4, 5/)]);
    expect(options(['--cpuinfo', other, '--generation', '4'], {}, 'arm64').generation).toBe(4);
    // Off aarch64 the Arm flags are not used: nothing is read.
    expect(options(['--cpuinfo', other]).generation).toBeUndefined();
  });

  test('every core must be the one generation: a mix is refused, as the boot\'s CPU check refuses it', () => {
    const core = (part: string) => `processor\t: 0\nCPU part\t: ${part}\n`;
    expect(generationFromCpuinfo(`${core('0xd4f')}\n${core('0xD4F')}`)).toBe(4);
    expect(generationFromCpuinfo(`${core('0xd40')}\n${core('0xd0c')}`)).toBeUndefined();
    expect(generationFromCpuinfo('processor\t: 0\nflags\t\t: fpu avx2\n')).toBeUndefined();
  });
});
