import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { isHit, renderFleetTable, summarize, usageOf } from '../../../tools/bench/fleet-prefix-report';
import { parseFleetPrefixArgs } from '../../../tools/bench/fleet-prefix';
import { postJson } from '../../../tools/bench/post-json';
import { BACKEND_HEADER, pickLeastOutstanding, startLeastOutstandingProxy } from '../../../tools/bench/least-outstanding-proxy';

/** A backend that answers each request after `release()` is called, naming itself. */
async function slowBackend(name: string) {
  const waiting: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => waiting.push(() => res.end(name)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pending: () => waiting.length,
    release: () => waiting.splice(0).forEach((f) => f()),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function until(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}

describe('the least-outstanding-requests proxy', () => {
  test('picks the backend with fewest in progress; ties by the random draw', () => {
    expect(pickLeastOutstanding([2, 0, 1], () => 0.99)).toBe(1);
    expect(pickLeastOutstanding([1, 1, 3], () => 0)).toBe(0);
    expect(pickLeastOutstanding([1, 1, 3], () => 0.99)).toBe(1);
  });

  test('a real request stream: a busy backend gets nothing until the other is as busy', async () => {
    const a = await slowBackend('a');
    const b = await slowBackend('b');
    // The draw always prefers the first of a tie.
    const proxy = await startLeastOutstandingProxy([a.url, b.url], () => 0);
    try {
      const first = fetch(`${proxy.url}/x`, { method: 'POST', body: '1' });
      await until(() => a.pending() === 1);
      const second = fetch(`${proxy.url}/x`, { method: 'POST', body: '2' });
      await until(() => b.pending() === 1);
      a.release();
      const r1 = await first;
      expect([await r1.text(), r1.headers.get(BACKEND_HEADER)]).toEqual(['a', '0']);
      // a is free again, b still busy: the third goes to a.
      const third = fetch(`${proxy.url}/x`, { method: 'POST', body: '3' });
      await until(() => a.pending() === 1);
      a.release();
      b.release();
      expect(await (await third).text()).toBe('a');
      expect(await (await second).text()).toBe('b');
      expect(proxy.sent).toEqual([2, 1]);
    } finally {
      await proxy.close();
      await a.close();
      await b.close();
    }
  });
});

describe('the fleet prefix report', () => {
  test('usage as llama-server and OpenAI report it; cached tokens absent means none', () => {
    expect(usageOf({ usage: { prompt_tokens: 1040, prompt_tokens_details: { cached_tokens: 1008 } } })).toEqual({ promptTokens: 1040, cachedTokens: 1008 });
    expect(usageOf({ usage: { prompt_tokens: 1040 } })).toEqual({ promptTokens: 1040, cachedTokens: 0 });
    expect(usageOf({ choices: [] })).toBeUndefined();
  });

  test('a hit reused at least the system prompt; the summary counts first sights per server and prompt', () => {
    const r = (backend: number, prefix: number, cachedTokens: number) => ({ backend, prefix, promptTokens: 1040, cachedTokens });
    expect(isHit(r(0, 0, 1000), 1000)).toBe(true);
    expect(isHit(r(0, 0, 999), 1000)).toBe(false);
    const s = summarize(2, 1, [r(0, 0, 0), r(1, 0, 0), r(0, 0, 1008), r(1, 0, 1008)], 1000);
    expect(s).toEqual({ servers: 2, prefixes: 1, requests: 4, hits: 2, misses: 2, unavoidableMisses: 2, reusedTokenShare: 2016 / 4160, perServer: [2, 2] });
    expect(renderFleetTable([s], 1000).split('\n').at(-1)).toBe('| 2 | 1 | 4 | 2 | 50% | 2 (2) | 48% | 2 / 2 |');
  });

  test('flags: defaults and lists checked', () => {
    const ok = parseFleetPrefixArgs([]);
    expect('options' in ok && ok.options).toEqual({
      servers: [1, 2], prefixes: [1, 4], prefixTokens: 1000, requests: 48, concurrency: 4, outDir: expect.stringMatching(/^bench-results\/fleet-prefix-\d{4}-/),
    });
    const bad = parseFleetPrefixArgs(['--servers', '1,x']);
    expect('errors' in bad && bad.errors[0]).toBe('--servers: got "1,x"; expected a comma-separated list, each a whole number from 1 to 8');
    expect(parseFleetPrefixArgs(['--servers', '0x2,1e0', '--concurrency', '9', '--requests', '8'])).toEqual({
      errors: ['--servers: got "0x2,1e0"; expected a comma-separated list, each a whole number from 1 to 8', '--concurrency: got 9; expected at most --requests (8)'],
    });
  });
});

describe('postJson', () => {
  test('sends JSON, returns status, headers and body; a silent server past the timeout is an error naming the URL', async () => {
    let received = '';
    const server = http.createServer((req, res) => {
      req.on('data', (c) => (received += c));
      req.on('end', () => {
        if (req.url === '/silent') return; // never answers
        res.writeHead(201, { 'x-test': 'yes' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const r = await postJson(`${base}/x`, { a: 1 }, 5000);
      expect([r.status, r.headers['x-test'], r.body, received]).toEqual([201, 'yes', '{"ok":true}', '{"a":1}']);
      await expect(postJson(`${base}/silent`, {}, 200)).rejects.toThrow(`no answer from ${base}/silent within 200 ms`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
