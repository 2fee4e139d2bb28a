import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logOffset, serverLastWords } from '../../../../runtime/boot/adapters/server-log';

let dir: string;
let log: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gllm-server-log-'));
  log = join(dir, 'server.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a log that does not exist starts at 0 and says nothing', () => {
  expect(logOffset(log)).toBe(0);
  expect(serverLastWords(log, 0)).toBe('');
});

test('only what was written since the offset counts', () => {
  writeFileSync(log, 'error: earlier boot\n');
  const start = logOffset(log);
  writeFileSync(log, 'loading\nready\n', { flag: 'a' });
  expect(serverLastWords(log, start)).toBe('loading ready');
});

test('error lines come first, the last three of them, even when start-up lines of a restart follow', () => {
  writeFileSync(log, ['a', 'error one', 'Failed two', 'b', 'ABORT three', 'invalid four', 'restarted', 'loading', 'listening', 'idle', ''].join('\n'));
  expect(serverLastWords(log, 0)).toBe('Failed two ABORT three invalid four');
});

test('without error lines, the last three lines', () => {
  writeFileSync(log, 'one\ntwo\nthree\nfour');
  expect(serverLastWords(log, 0)).toBe('two three four');
});

test('an offset past the end (a log truncated by the rotation) reads nothing rather than failing', () => {
  writeFileSync(log, 'short\n');
  expect(serverLastWords(log, 1000)).toBe('');
});
