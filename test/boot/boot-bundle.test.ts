/**
 * The boot program's bundle (lib/boot/boot-bundle.ts): one file that Node
 * runs with nothing beside it. Built here into a temporary directory, outside
 * the repository, so it cannot find node_modules.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundleBootProgram } from '../../lib/boot/boot-bundle';
import { envText, LOCAL_ENV } from '../runtime/boot/support/environments';

let dir: string;
let bundle: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'boot-bundle-'));
  bundle = path.join(dir, 'boot.js');
  bundleBootProgram(bundle);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [bundle, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });

test('the bundle is one CommonJS file that requires only Node built-ins', () => {
  const text = readFileSync(bundle, 'utf8');
  const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  expect(required.length).toBeGreaterThan(0);
  expect(required.filter((r) => !r.startsWith('node:') && !['child_process', 'fs', 'path', 'os', 'crypto', 'http', 'https', 'url', 'stream', 'events', 'util', 'net'].includes(r))).toEqual([]);
  expect(text).not.toMatch(/^import /m);
});

test('--help prints the usage and succeeds', () => {
  const r = run('--help');
  expect(r.status).toBe(0);
  expect(r.stdout.trim()).toBe('usage: boot ENV_FILE');
});

test('no argument: the usage on stderr, status 2', () => {
  const r = run();
  expect(r.status).toBe(2);
  expect(r.stderr.trim()).toBe('usage: boot ENV_FILE');
});

test('a refused environment file names the file, each key, the value given and what is expected, and starts nothing', () => {
  const env = path.join(dir, 'boot.env');
  writeFileSync(env, 'GLLM_MODE=local\nGLLM_PORT=010\nnot a line\n');
  const r = run(env);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe(`boot: ${env} is not a usable boot configuration:`);
  expect(lines).toContain(`  ${env}:3: line: given "not a line"; expected KEY=value, a blank line or a # comment`);
  expect(lines).toContain(`  ${env}: GLLM_PORT: given "010"; expected a positive integer (no leading zero, at most 15 digits)`);
  expect(lines).toContain(`  ${env}: GLLM_WORK_DIR: not set; expected set in local mode: directory holding the build, model, logs, key copy and pid file (instances use fixed system paths)`);
});

test('an unreadable environment file is named, status 2', () => {
  const r = run(path.join(dir, 'missing.env'));
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(new RegExp(`^boot: cannot read ${path.join(dir, 'missing.env')}: ENOENT`));
});

test('no flock on PATH: one line naming the program and the package to install, status 1, no stack trace', () => {
  const work = path.join(dir, 'work');
  const env = path.join(dir, 'local.env');
  writeFileSync(env, envText({ ...LOCAL_ENV, GLLM_WORK_DIR: work }));
  const r = spawnSync(process.execPath, [bundle, env], { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { PATH: path.join(dir, 'no-programs-here') } });
  expect(r.status).toBe(1);
  expect(r.stderr).toBe(`boot: cannot take the boot lock: the flock program is not installed (it takes the boot lock ${path.join(work, 'state', 'boot.lock')}); install the util-linux package and run the boot again\n`);
});
