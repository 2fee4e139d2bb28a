/**
 * The builder's signal against a local HTTP server standing in for the wait
 * condition handle's presigned URL: what is PUT, how the answers are taken,
 * and that the Data reads back, through the template's wrapping, as the pins.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WaitConditionReporter } from '../../../../runtime/boot/adapters/wait-condition-reporter';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { parsePins, type Pins } from '../../../../runtime/boot/pins';
import { FakeClock } from '../support/fake-clock';

const PINS: Pins = {
  version: 1,
  buildKey: '0123456789abcdef0123456789abcdef',
  build: { object: 'builds/0123456789abcdef0123456789abcdef.tar.gz', versionId: 'v-build', sha256: 'b'.repeat(64) },
  model: { object: `models/${'a'.repeat(64)}.gguf`, versionId: 'v-model', sha256: 'a'.repeat(64) },
};
const QUERY = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Signature=abc';

interface Received { readonly method: string; readonly url: string; readonly headers: IncomingHttpHeaders; readonly body: string }

let server: Server;
let received: Received[];
/** The status each request is answered with, in order; 200 once they run out. */
let answers: number[];
let base: string;

beforeEach(async () => {
  received = [];
  answers = [];
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const status = answers.shift() ?? 200;
      res.writeHead(status);
      res.end(status === 403 ? '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/arn%3Aaws%3Acloudformation%3Aeu-west-1%3A1%3Astack/S/x/Handle`;
});
afterEach(() => new Promise<void>((r) => server.close(() => r())));

function reporter(pins: Pins | undefined, instance: { ok: true; instanceId: string } | { ok: false; detail: string } = { ok: true, instanceId: 'i-0abc' }) {
  const clock = new FakeClock();
  const deadline = new Deadline(clock.now(), 600, clock);
  const lines: string[] = [];
  const r = new WaitConditionReporter({
    url: `${base}${QUERY}`, platform: { instanceId: async () => instance }, pins: () => pins, clock, random: () => 0.5, deadline: () => deadline, log: (m) => lines.push(m),
  });
  return { r, lines, clock };
}

test('success PUTs the signal JSON to the URL, signature and all, with no content type; its Data reads back as the pins', async () => {
  const { r } = reporter(PINS);
  await expect(r.signal('SUCCESS', 'llama-server healthy')).resolves.toEqual({ kind: 'done' });
  expect(received).toHaveLength(1);
  const [got] = received;
  expect(got.method).toBe('PUT');
  expect(got.url).toBe(`${new URL(base).pathname}${QUERY}`);
  expect(got.headers['content-type']).toBeUndefined();
  const signal = JSON.parse(got.body);
  expect(signal).toEqual({ Status: 'SUCCESS', Reason: 'build and model published', UniqueId: 'i-0abc', Data: expect.any(String) });
  // What Fn::GetAtt [WaitCondition, Data] gives: UniqueId -> Data; the fleet's pins file holds it under the builder's generation.
  expect(parsePins('/etc/graviton-llm/pins.json', JSON.stringify({ graviton3: { [signal.UniqueId]: signal.Data } }))).toEqual({ ok: true, pins: new Map([[3, PINS]]) });
});

test('failure sends the reason, cut to what a signal carries, and no data', async () => {
  const { r } = reporter(undefined);
  await expect(r.signal('FAILURE', `compile failed: ${'x'.repeat(400)}`)).resolves.toEqual({ kind: 'done' });
  const signal = JSON.parse(received[0].body);
  expect(signal).toMatchObject({ Status: 'FAILURE', UniqueId: 'i-0abc', Data: '' });
  expect(signal.Reason).toHaveLength(250);
  expect(signal.Reason.startsWith('compile failed: ')).toBe(true);
});

test('a server error is retried with the same body; S3\'s 403 (an expired URL) is final, and its reason leaves the signature out', async () => {
  answers = [500, 503];
  const { r, clock } = reporter(PINS);
  await expect(r.signal('SUCCESS', '')).resolves.toEqual({ kind: 'done' });
  expect(received).toHaveLength(3);
  expect(new Set(received.map((x) => x.body)).size).toBe(1);
  expect(clock.sleeps).toHaveLength(2);
  received = [];
  answers = [403];
  const refused = await r.signal('SUCCESS', '');
  expect(refused).toEqual({ kind: 'refused', detail: `HTTP 403 (AccessDenied) from ${base}` });
  expect(received).toHaveLength(1);
});

test('a handle that cannot be reached fails after the tries', async () => {
  const { r } = reporter(PINS);
  await new Promise<void>((res) => server.close(() => res()));
  const out = await r.signal('SUCCESS', '');
  expect(out).toMatchObject({ kind: 'failed', detail: expect.stringContaining('ECONNREFUSED') });
  server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
});

test('a success without a report sends nothing; without an instance id the signal still goes, under a fixed id', async () => {
  await expect(reporter(undefined).r.signal('SUCCESS', '')).resolves.toMatchObject({ kind: 'failed' });
  expect(received).toEqual([]);
  await expect(reporter(PINS, { ok: false, detail: 'no IMDS' }).r.signal('SUCCESS', '')).resolves.toEqual({ kind: 'done' });
  expect(JSON.parse(received[0].body).UniqueId).toBe('builder');
});

test('the builder completes no lifecycle action and counts no fleet failure', async () => {
  const { r } = reporter(PINS);
  await expect(r.completeLifecycleAction()).resolves.toEqual({ kind: 'skipped' });
  await expect(r.countFailure()).resolves.toEqual({ kind: 'skipped' });
  expect(received).toEqual([]);
});
