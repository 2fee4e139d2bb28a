/**
 * The boot program switch and the bundle the fleet ships (lib/boot/boot-program.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';

import { bundleBootProgram } from '../../lib/boot/boot-bundle';
import { BOOT_PROGRAM_KEY, bootBundleFile, bootProgramOf } from '../../lib/boot/boot-program';
import { runKitApp } from '../../lib/app/run-kit-app';
import { constructTestApp } from '../support/synth';

const programOf = (context: Record<string, unknown>) => bootProgramOf(new Stack(constructTestApp(context), 'S'));

test('the context key picks the program; without it, bash', () => {
  expect(programOf({})).toBe('bash');
  expect(programOf({ [BOOT_PROGRAM_KEY]: 'bash' })).toBe('bash');
  expect(programOf({ [BOOT_PROGRAM_KEY]: 'typescript' })).toBe('typescript');
});

test('anything else is refused, naming the key, the value and the choices', () => {
  for (const given of ['TypeScript', '', true]) {
    expect(() => programOf({ [BOOT_PROGRAM_KEY]: given }))
      .toThrow(`${BOOT_PROGRAM_KEY}: got ${JSON.stringify(given)}; expected one of "bash", "typescript" (default "bash")`);
  }
});

test('the kit\'s app stops on a bad value before building, as a configuration error (no stack trace)', () => {
  const run = runKitApp({ appProps: { context: { [BOOT_PROGRAM_KEY]: 'node' }, outdir: mkdtempSync(path.join(os.tmpdir(), 'boot-program-')) } });
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
    exitCode: 1,
    stderr: `Invalid graviton-llm configuration:\n  - ${BOOT_PROGRAM_KEY}: got "node"; expected one of "bash", "typescript" (default "bash"): the program instances boot with\n`,
  });
});

test('the kit\'s app takes the key as a context key of its own (no unknown-key error) and synthesizes the typescript program', () => {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'boot-program-'));
  const run = runKitApp({ appProps: { context: { [BOOT_PROGRAM_KEY]: 'typescript', 'aws:cdk:bundling-stacks': [] }, outdir } });
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
  const assets = readFileSync(path.join(outdir, `${run.app.node.children.map((c) => (c as Stack).artifactId).find(Boolean)}.assets.json`), 'utf8');
  expect(assets).toMatch(/"packaging": "file"[\s\S]*\.js"/);
  rmSync(outdir, { recursive: true, force: true });
}, 120_000);

test('from the sources the bundle is made under .cache/boot, leaving no temporary file', () => {
  const file = bootBundleFile();
  expect(file).toBe(path.join(__dirname, '..', '..', '.cache', 'boot', 'boot.js'));
  expect(readFileSync(file, 'utf8')).toMatch(/^"use strict";/);
  expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
});

test('the same sources give the same bytes, whatever the file is named and wherever the bundler was started', () => {
  const dir = mkdtempSync(path.join(path.dirname(bootBundleFile()), 'same-'));
  const cwd = process.cwd();
  try {
    bundleBootProgram(path.join(dir, 'boot.js.tmp'));
    process.chdir(os.tmpdir());
    bundleBootProgram(path.join(dir, 'boot.js'));
  } finally {
    process.chdir(cwd);
  }
  const [a, b] = [path.join(dir, 'boot.js.tmp'), path.join(dir, 'boot.js')].map((f) => readFileSync(f));
  rmSync(dir, { recursive: true, force: true });
  expect(a.equals(b)).toBe(true);
});
