/**
 * Progress on stderr (stdout stays clean for the summary): a redrawn bar on
 * a terminal, plain lines elsewhere, since a CI log keeps every carriage
 * return and a bar there becomes hundreds of lines.
 */
import type { RequestResult } from './request';
import type { LoadLevel } from './stats';

export interface Progress {
  startLevel(level: LoadLevel, planned: number): void;
  result(r: RequestResult): void;
  endLevel(line: string): void;
  note(line: string): void;
}

export function levelName(l: LoadLevel): string {
  return l.kind === 'concurrency' ? `concurrency ${l.value}` : `rate ${l.value}/s`;
}

export function createProgress(
  mode: 'auto' | 'bar' | 'lines' | 'off',
  stream: NodeJS.WriteStream = process.stderr,
  clock: () => number = () => Date.now(),
): Progress {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  let level: LoadLevel | undefined;
  let planned = 0;
  let done = 0;
  let failed = 0;
  let tokens = 0;
  let started = 0;
  let lastLine = 0;

  const status = () => {
    const s = (clock() - started) / 1000;
    return `${done}/${planned} done, ${failed} failed, ${s > 0 ? (tokens / s).toFixed(1) : '0.0'} output tok/s, ${s.toFixed(0)} s`;
  };
  const draw = () => {
    const width = 24;
    const filled = planned > 0 ? Math.min(width, Math.round((done / planned) * width)) : 0;
    stream.write(`\r\x1b[2K${levelName(level!).padEnd(16)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${status()}`);
  };

  return {
    startLevel(l, n) {
      level = l;
      planned = n;
      done = failed = tokens = 0;
      started = lastLine = clock();
      if (resolved === 'lines') stream.write(`${levelName(l)}: starting, up to ${n} requests\n`);
      if (resolved === 'bar') draw();
    },
    result(r) {
      done++;
      if (r.ok) tokens += r.outputTokens;
      else failed++;
      if (resolved === 'bar') draw();
      // A line every 10 s at most keeps long runs visibly alive without flooding the log.
      if (resolved === 'lines' && clock() - lastLine >= 10_000) {
        lastLine = clock();
        stream.write(`${levelName(level!)}: ${status()}\n`);
      }
    },
    endLevel(line) {
      if (resolved === 'bar') stream.write('\r\x1b[2K');
      if (resolved !== 'off') stream.write(`${line}\n`);
    },
    note(line) {
      if (resolved !== 'off') stream.write(`${line}\n`);
    },
  };
}
