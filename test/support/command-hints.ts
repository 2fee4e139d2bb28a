/**
 * Whether a command as a reader would type it exists (test/command-line/
 * hints.test.ts, test/bad-input/commands.test.ts): an `npm run NAME` script
 * of the package the mention is in, or a file run with tsx.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

/** The package a file belongs to: the nearest directory above it with a package.json. */
export function packageDirOf(file: string): string {
  let dir = path.dirname(file);
  while (dir.startsWith(ROOT) && !existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir.startsWith(ROOT) ? dir : ROOT;
}

export function scriptsOf(packageDir: string): Record<string, string> {
  return (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {};
}

/** What is wrong with a command as a reader would type it (`npm run NAME`, `npx tsx FILE.ts`), seen from `file`; undefined when it exists. */
export function missingCommand(command: string, file: string): string | undefined {
  const pkg = packageDirOf(file);
  const script = /^npm run ([\w:.-]+)/.exec(command)?.[1];
  if (script !== undefined) return script in scriptsOf(pkg) ? undefined : `no script "${script}" in ${path.relative(ROOT, path.join(pkg, 'package.json'))}`;
  const tsFile = /\btsx ([\w./-]+\.ts)\b/.exec(command)?.[1];
  if (tsFile !== undefined) return existsSync(path.join(pkg, tsFile)) ? undefined : `no file ${tsFile} in ${path.relative(ROOT, pkg) || '.'}`;
  return `neither an npm script nor a file run with tsx: "${command}"`;
}

