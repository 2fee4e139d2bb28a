/**
 * The boot program's bundle that the fleet ships (lib/boot/boot-bundle-file.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { bundleBootProgram } from '../../lib/boot/boot-bundle';
import { bootBundleFile } from '../../lib/boot/boot-bundle-file';

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
