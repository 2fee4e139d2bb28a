import { createProgress } from '../../../tools/bench/progress';
import type { RequestResult } from '../../../tools/bench/request';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream, written };
}
const ok: RequestResult = { ok: true, startedAt: 0, endedAt: 1, ttftMs: 1, itlMs: [], e2eMs: 1, outputTokens: 10 };

describe('progress', () => {
  test('a terminal gets a bar redrawn in place', () => {
    const { stream, written } = fakeStream(true);
    const p = createProgress('auto', stream, () => 1000);
    p.startLevel({ kind: 'concurrency', value: 2 }, 4);
    p.result(ok);
    p.endLevel('done');
    const bar = written.find((w) => w.includes('1/4 done'));
    expect(bar?.startsWith('\r')).toBe(true);
    expect(bar).toContain(`[${'#'.repeat(6)}${'.'.repeat(18)}]`);
    expect(written[written.length - 1]).toBe('done\n');
  });

  test('CI (not a TTY) gets plain lines, no carriage returns, at most one status line per 10 s', () => {
    const { stream, written } = fakeStream(false);
    let t = 0;
    const p = createProgress('auto', stream, () => t);
    p.startLevel({ kind: 'rate', value: 1.5 }, 100);
    for (let i = 0; i < 50; i++) {
      t += 1000;
      p.result(i % 10 === 0 ? { ok: false, error: 'timeout', detail: '', startedAt: 0, endedAt: 0 } : ok);
    }
    p.endLevel('rate 1.5/s: finished');
    expect(written.join('')).not.toContain('\r');
    expect(written[0]).toBe('rate 1.5/s: starting, up to 100 requests\n');
    expect(written.filter((w) => w.includes('done,')).length).toBe(5);
    expect(written.join('')).toContain('50/100 done, 5 failed');
  });

  test('off writes nothing', () => {
    const { stream, written } = fakeStream(true);
    const p = createProgress('off', stream);
    p.startLevel({ kind: 'concurrency', value: 1 }, 1);
    p.result(ok);
    p.endLevel('x');
    expect(written).toEqual([]);
  });
});
