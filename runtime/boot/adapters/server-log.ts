/**
 * What llama-server's own log says about why it stopped, for both
 * supervisors' exit reasons. Only the
 * part written since this boot started the server counts (the log is
 * appended across boots), and error lines come first: by the time the boot
 * sees the exit, systemd may have restarted the server, whose start-up lines
 * would otherwise bury the first run's error.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** Lines that say why a server stopped (matched case-insensitively). */
const ERROR_LINE = /error|fail|exiting|abort|invalid|terminate/i;

/** How many lines the reason quotes. */
const LAST_LINES = 3;

/** The size of `file` in bytes, 0 where it does not exist: where this boot's part of an appended log starts. */
export function logOffset(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The text of `file` from byte `offset` on; empty where it cannot be read. */
function readFrom(file: string, offset: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    let at = 0;
    while (at < buf.length) {
      const n = readSync(fd, buf, at, buf.length - at, offset + at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The last error lines of `file` written since byte `offset`, else its last
 * lines, as one line (joined by spaces); empty where there are none.
 */
export function serverLastWords(file: string, offset: number): string {
  const lines = readFrom(file, offset).split('\n').filter((l) => l !== '');
  const errors = lines.filter((l) => ERROR_LINE.test(l));
  return (errors.length > 0 ? errors : lines).slice(-LAST_LINES).join(' ');
}
