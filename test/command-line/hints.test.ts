/**
 * Every command the repository tells a reader to run exists: each command of
 * lib/command-line/commands.ts (whose `run` every usage line and "See ...
 * --help" hint is made from) is a package.json script that runs its file, or
 * its file run with tsx; and every `npm run NAME`, `tsx FILE.ts` and
 * "See ... --help" in the docs, the sources and the tests names a script of
 * the package it is in, or a file that is there.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { COMMANDS, helpHint, type CommandName } from '../../lib/command-line/commands';
import { usageErrors } from '../../lib/command-line/flags';
import { missingCommand as missing, scriptsOf } from '../support/command-hints';

const ROOT = path.join(__dirname, '..', '..');

/** Text files the repository ships or documents itself with. */
function repositoryFiles(): string[] {
  const out: string[] = [];
  const skip = new Set(['node_modules', '.git', 'dist', 'cdk.out', '.cache', 'bench-results', 'coverage']);
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|js|md|sh|ya?ml|json|py)$/.test(e.name) && e.name !== 'package-lock.json' && statSync(p).size < 2_000_000) out.push(p);
    }
  };
  walk(ROOT);
  return out;
}

test('every command of the registry is a package.json script that runs its file, or its file run with tsx', () => {
  const scripts = scriptsOf(ROOT);
  for (const [name, { file, run }] of Object.entries(COMMANDS)) {
    expect({ name, exists: existsSync(path.join(ROOT, file)) }).toEqual({ name, exists: true });
    const script = /^npm run ([\w:-]+) --$/.exec(run)?.[1];
    if (script !== undefined) expect({ name, script: scripts[script] }).toEqual({ name, script: `tsx ${file}` });
    else expect({ name, run }).toEqual({ name, run: `npx tsx ${file}` });
  }
});

test('every package.json script that runs a tool is in the registry, so its errors point at its own help', () => {
  const files = Object.values(COMMANDS).map((c) => c.file);
  const tools = Object.entries(scriptsOf(ROOT)).filter(([, s]) => /^tsx (tools|lib)\//.test(s));
  expect(tools.length).toBeGreaterThanOrEqual(5);
  for (const [name, s] of tools) expect({ name, file: files.find((f) => s === `tsx ${f}`) }).toEqual({ name, file: s.slice('tsx '.length) });
});

test.each(Object.keys(COMMANDS) as CommandName[])('%s: a usage error ends with a hint naming the command as it is run', (name) => {
  const text = usageErrors(name, ['--x: got "y"; expected z']);
  expect(text.split('\n').pop()).toBe(helpHint(name));
  expect(missing(helpHint(name).replace(/^See /, ''), path.join(ROOT, COMMANDS[name].file))).toBeUndefined();
});

test('every "See ... --help", `npm run NAME` and `tsx FILE.ts` in the repository names a command that exists', () => {
  const problems: string[] = [];
  let checked = 0;
  // This file names missing commands on purpose.
  for (const file of repositoryFiles().filter((f) => f !== __filename)) {
    const text = readFileSync(file, 'utf8');
    const where = path.relative(ROOT, file);
    // A command in a template literal is made from the registry (or a test's table), not written out;
    // a pattern or a placeholder (`npm run NAME`) names none.
    const mentions = [
      ...[...text.matchAll(/See ([^\n`'"]*?) --help/g)].map((m) => m[1].trim()),
      ...[...text.matchAll(/npm run [\w:.-]+/g)].map((m) => m[0].replace(/[.:]+$/, '')),
      ...[...text.matchAll(/\btsx [\w./-]+\.ts\b/g)].map((m) => m[0]),
    ].filter((m) => !m.includes('${') && m !== '...' && !/[()*]/.test(m) && !/^(npm run [A-Z]+|tsx [A-Z]+\.ts)$/.test(m));
    for (const m of mentions) {
      checked++;
      const problem = missing(m, file);
      if (problem) problems.push(`${where}: "${m}": ${problem}`);
    }
  }
  expect(checked).toBeGreaterThan(50);
  expect(problems).toEqual([]);
});

test('a hint that names a script that does not exist is caught', () => {
  expect(missing('npm run compare-local --', path.join(ROOT, 'README.md'))).toMatch(/no script "compare-local"/);
  expect(missing('npx tsx tools/bench/compare.ts', path.join(ROOT, 'README.md'))).toMatch(/no file tools\/bench\/compare\.ts/);
});
