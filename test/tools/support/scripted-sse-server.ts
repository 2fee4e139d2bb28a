/**
 * A local stand-in for an OpenAI-compatible endpoint whose every answer is
 * scripted: a stream with known delays (so TTFT and TPOT have known lower
 * bounds), HTTP errors, malformed and empty streams, a stall and a reset.
 * The path before /v1 picks the script: /ok, /unauthorized, /busy, /limited,
 * /garbage, /empty, /stall, /reset, /closes-after-stream. With `tls`, it
 * speaks HTTPS and records the name each client asked for (SNI, Host).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface Script {
  /** Delay before the first content token. */
  readonly ttftMs: number;
  /** Delay between content tokens. */
  readonly gapMs: number;
  readonly tokens: number;
  readonly promptTokens: number;
}

export const DEFAULT_SCRIPT: Script = { ttftMs: 120, gapMs: 30, tokens: 5, promptTokens: 7 };

export interface ScriptedServerOptions {
  /** Serve HTTPS with this key and certificate (PEM). @default - plain HTTP */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface ScriptedServer {
  /** Base URL of a script, e.g. base('ok') = http://127.0.0.1:PORT/ok/v1 (https:// with `tls`) */
  base(script: string): string;
  readonly port: number;
  /** Bodies of the requests received so far, parsed. */
  readonly bodies: Record<string, unknown>[];
  /** The Host header and, over TLS, the SNI server name of each request so far. */
  readonly names: { readonly host?: string; readonly serverName?: string }[];
  /** Most requests that were being answered at the same time. */
  readonly peakInFlight: () => number;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const chunk = (delta: Record<string, unknown>) =>
  `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;

export async function startScriptedServer(script: Script = DEFAULT_SCRIPT, options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const bodies: Record<string, unknown>[] = [];
  const names: { host?: string; serverName?: string }[] = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let peak = 0;

  // Connections that llama-server would be closing: their next request is dropped unanswered.
  const closing = new WeakSet<Socket>();

  const stream = async (res: ServerResponse, body: Record<string, unknown>) => {
    const n = typeof body.max_tokens === 'number' ? Math.min(body.max_tokens, script.tokens) : script.tokens;
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(chunk({ role: 'assistant' }));
    await sleep(script.ttftMs);
    for (let i = 0; i < n; i++) {
      if (i > 0) await sleep(script.gapMs);
      res.write(chunk({ content: `t${i} ` }));
    }
    res.write(`data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: script.promptTokens, completion_tokens: n } })}\n\n`);
    res.end('data: [DONE]\n\n');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (closing.has(req.socket)) return req.socket.destroy();
    let text = '';
    for await (const piece of req) text += piece;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    bodies.push(body);
    const serverName = (req.socket as TLSSocket).servername;
    names.push({ host: req.headers.host, ...(typeof serverName === 'string' ? { serverName } : {}) });
    const name = (req.url ?? '').split('/')[1];
    inFlight++;
    peak = Math.max(peak, inFlight);
    try {
      switch (name) {
        case 'ok':
          return await stream(res, body);
        case 'closes-after-stream':
          // What llama-server does: the headers promise keep-alive, and the
          // connection is closed after the stream anyway. Here the close
          // comes 200 ms late and drops any request that arrives before it,
          // so a client that reuses the connection fails every time rather
          // than now and then.
          await stream(res, body);
          closing.add(req.socket);
          setTimeout(() => req.socket.destroy(), 200).unref();
          return;
        case 'unauthorized':
          res.writeHead(401, { 'Content-Type': 'application/json' });
          return res.end('{"error":{"message":"Invalid API Key"}}');
        case 'busy':
          res.writeHead(503);
          return res.end('busy');
        case 'limited':
          res.writeHead(429);
          return res.end('slow down');
        case 'garbage':
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          return res.end('data: <html>not json</html>\n\n');
        case 'empty':
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          return res.end(`${chunk({ role: 'assistant' })}data: [DONE]\n\n`);
        case 'stall':
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.write(chunk({ role: 'assistant' }));
          return; // never finishes; the client's deadline must end it
        case 'reset':
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          res.write(chunk({ content: 'partial' }));
          await sleep(20);
          res.socket?.destroy();
          return;
        default:
          res.writeHead(404);
          return res.end();
      }
    } finally {
      inFlight--;
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.destroy());
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createServer(listener);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    base: (name) => `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/${name}/v1`,
    port,
    bodies,
    names,
    peakInFlight: () => peak,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
