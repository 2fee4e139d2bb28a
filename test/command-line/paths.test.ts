/**
 * The rules for where a command writes its results: a results directory is
 * new or empty (or recognised as the command's own), a results file new or an
 * earlier result of the same command. Nothing is created by the checks.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { unusableResultsDirectory, unusableResultsFile } from '../../lib/command-line/paths';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'README.md');
writeFileSync(file, '# keep\n');
const full = path.join(dir, 'full');
mkdirSync(full);
for (const n of ['a', 'b', 'c', 'd']) writeFileSync(path.join(full, n), n);
const empty = path.join(dir, 'empty');
mkdirSync(empty);

describe('unusableResultsDirectory', () => {
  test('a new directory (creatable) or an empty one is fine; nothing is created', () => {
    expect(unusableResultsDirectory(path.join(dir, 'new', 'deeper'))).toBeUndefined();
    expect(unusableResultsDirectory(empty)).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['README.md', 'empty', 'full']);
  });

  test('a file, a directory holding anything, and a path under a file are refused, saying why', () => {
    expect(unusableResultsDirectory(file)).toBe('is a file, not a directory');
    expect(unusableResultsDirectory(full)).toBe('already holds 4 entries (a, b, c, ...)');
    expect(unusableResultsDirectory(path.join(file, 'x'))).toBe(`cannot be created: ${file} is not a directory`);
  });

  test('a directory the command recognises as its own may be used again', () => {
    expect(unusableResultsDirectory(full, (entries) => entries.includes('a'))).toBeUndefined();
    expect(unusableResultsDirectory(full, (entries) => entries.includes('boot.env'))).toMatch(/^already holds/);
  });
});

describe('unusableResultsFile', () => {
  const isOwn = (text: string) => text.includes('"tool": "mine"');
  test('a new file, or an earlier result of the same command, is fine', () => {
    expect(unusableResultsFile(path.join(dir, 'new', 'verdict.json'), isOwn)).toBeUndefined();
    const earlier = path.join(dir, 'earlier.json');
    writeFileSync(earlier, '{"tool": "mine"}');
    expect(unusableResultsFile(earlier, isOwn)).toBeUndefined();
  });

  test('any other file, a directory, or a path under a file is refused', () => {
    expect(unusableResultsFile(file, isOwn)).toBe('exists and is not an earlier result of this command');
    expect(unusableResultsFile(empty, isOwn)).toBe('is a directory');
    expect(unusableResultsFile(path.join(file, 'v.json'), isOwn)).toBe(`cannot be created: ${file} is not a directory`);
  });
});
