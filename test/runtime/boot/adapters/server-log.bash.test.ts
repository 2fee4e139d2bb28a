/**
 * Side by side: boot.sh's server_last_words (as server_exit_reason quotes
 * it, on one line) against adapters/server-log.ts, on the same logs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverLastWords } from '../../../../runtime/boot/adapters/server-log';
import { inBootShell } from '../support/boot-shell';

const dir = mkdtempSync(join(tmpdir(), 'gllm-server-log-bash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROWS: readonly (readonly [string, string, number])[] = [
  ['no error lines: the last three', 'one\ntwo\nthree\nfour\n', 0],
  ['fewer than three lines', 'only\n', 0],
  ['no trailing newline', 'a\nb\nerror: c', 0],
  ['error lines first, the last three of them', 'a\nerror one\nFailed two\nb\nABORT three\ninvalid four\nloading\nidle\n', 0],
  ['every word that marks an error', 'x terminate called\ny\nmain: exiting\nz\n', 0],
  ['only since the offset', 'error: earlier boot\nloading\nready\n', 'error: earlier boot\n'.length],
  ['an offset mid-line', 'error: earlier boot\n', 7],
  ['nothing since the offset', 'error: earlier\n', 'error: earlier\n'.length],
];

let n = 0;
test.each(ROWS)('%s', (_name, text, offset) => {
  const log = join(dir, `server-${n++}.log`);
  writeFileSync(log, text);
  const bash = inBootShell(`SERVER_LOG=$1 SERVER_LOG_START=$2; server_last_words | tr '\\n' ' '`, [log, String(offset)]);
  expect(bash.status).toBe(0);
  expect(serverLastWords(log, offset)).toBe(bash.stdout.trim());
});

test('a log that does not exist: nothing, in both', () => {
  const bash = inBootShell(`SERVER_LOG=$1 SERVER_LOG_START=0; server_last_words | tr '\\n' ' '`, [join(dir, 'none.log')]);
  expect(bash.stdout.trim()).toBe('');
  expect(serverLastWords(join(dir, 'none.log'), 0)).toBe('');
});
