/**
 * The removed boot program switch (lib/boot/removed-boot-switch.ts): a stack
 * that still asks for the bash boot is stopped; the kit's app says so as a
 * configuration error. The construct's own refusal is in
 * test/constructs/inference-fleet.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';

import { runKitApp } from '../../lib/app/run-kit-app';
import { REMOVED_BOOT_PROGRAM_KEY, removedBootProgramProblems } from '../../lib/boot/removed-boot-switch';

test('only bash is a problem: the program it named is gone; typescript, unset and anything else pass', () => {
  expect(removedBootProgramProblems('bash')).toEqual([expect.objectContaining({ field: REMOVED_BOOT_PROGRAM_KEY, given: 'bash' })]);
  for (const given of [undefined, 'typescript', 'node', '']) expect(removedBootProgramProblems(given)).toEqual([]);
});

test('the kit\'s app stops on bash before building, as a configuration error (no stack trace)', () => {
  const run = runKitApp({ appProps: { context: { [REMOVED_BOOT_PROGRAM_KEY]: 'bash' }, outdir: mkdtempSync(path.join(os.tmpdir(), 'boot-switch-')) } });
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({
    exitCode: 1,
    stderr: `Invalid graviton-llm configuration:\n  - ${REMOVED_BOOT_PROGRAM_KEY}: got "bash"; the bash boot script was removed: instances run the TypeScript boot program (runtime/boot/); `
      + 'remove the key from cdk.json and -c options\n',
  });
});

test('the kit\'s app takes typescript (what every stack runs) as a CDK-style key, no unknown-key error, and ships the bundle', () => {
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'boot-switch-'));
  const run = runKitApp({ appProps: { context: { [REMOVED_BOOT_PROGRAM_KEY]: 'typescript', 'aws:cdk:bundling-stacks': [] }, outdir } });
  expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
  const assets = readFileSync(path.join(outdir, `${run.app.node.children.map((c) => (c as Stack).artifactId).find(Boolean)}.assets.json`), 'utf8');
  expect(assets).toMatch(/"packaging": "file"[\s\S]*\.js"/);
  rmSync(outdir, { recursive: true, force: true });
}, 120_000);
