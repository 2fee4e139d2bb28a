/**
 * The metadata service's notices, from a stand-in metadata service: IMDSv2
 * (a token, then the read with it), 404 for none, the instance-action
 * document read, anything else unreachable.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ImdsNotices, INSTANCE_ACTION_PATH, parseInstanceAction, REBALANCE_PATH } from '../../../../runtime/boot/adapters/imds-notices';

let server: Server;
let baseUrl: string;
const seen: string[] = [];
/** What the stand-in answers per path (absent: 404). */
let answers: Record<string, { status: number; body: string }> = {};
let tokenStatus = 200;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      res.writeHead(tokenStatus).end('token-1');
    } else if (req.headers['x-aws-ec2-metadata-token'] !== 'token-1') {
      res.writeHead(401).end();
    } else {
      const a = answers[req.url ?? ''] ?? { status: 404, body: '' };
      res.writeHead(a.status).end(a.body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
  answers = {};
  tokenStatus = 200;
});

test('none: both paths 404, each read with a token', async () => {
  await expect(new ImdsNotices(baseUrl).check()).resolves.toEqual({ kind: 'none' });
  expect(seen).toEqual(['PUT /latest/api/token', `GET ${INSTANCE_ACTION_PATH}`, 'PUT /latest/api/token', `GET ${REBALANCE_PATH}`]);
});

test('an interruption notice: its action and time', async () => {
  answers[INSTANCE_ACTION_PATH] = { status: 200, body: '{"action": "terminate", "time": "2026-12-07T08:22:00Z"}' };
  await expect(new ImdsNotices(baseUrl).check()).resolves.toEqual({
    kind: 'notice', notice: { kind: 'interruption', action: 'terminate', atMs: Date.parse('2026-12-07T08:22:00Z') },
  });
});

test('a rebalance recommendation', async () => {
  answers[REBALANCE_PATH] = { status: 200, body: '{"noticeTime": "2026-12-07T08:17:00Z"}' };
  await expect(new ImdsNotices(baseUrl).check()).resolves.toEqual({ kind: 'notice', notice: { kind: 'rebalance' } });
});

test('no token, or a status that is neither 200 nor 404, or no service: unreachable, never none', async () => {
  tokenStatus = 403;
  await expect(new ImdsNotices(baseUrl).check()).resolves.toMatchObject({ kind: 'unreachable', detail: expect.stringContaining('403') });
  tokenStatus = 200;
  answers[INSTANCE_ACTION_PATH] = { status: 500, body: '' };
  await expect(new ImdsNotices(baseUrl).check()).resolves.toMatchObject({ kind: 'unreachable', detail: expect.stringContaining('500') });
  await expect(new ImdsNotices('http://127.0.0.1:1').check()).resolves.toMatchObject({ kind: 'unreachable' });
});

test('an instance-action document that cannot be read is a notice still, its time unknown', () => {
  expect(parseInstanceAction('not json')).toEqual({ action: 'unknown action', atMs: undefined });
  expect(parseInstanceAction('{"action":"stop"}')).toEqual({ action: 'stop', atMs: undefined });
});
