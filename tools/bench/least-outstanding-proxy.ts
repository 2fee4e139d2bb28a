/**
 * A local stand-in for the load balancer's routing, for the fleet benchmark
 * (tools/bench/fleet-prefix.ts): an HTTP proxy that sends each request to the
 * backend with the fewest requests in progress, as the kit's target group does
 * (`load_balancing.algorithm.type = least_outstanding_requests`). Ties go to a
 * backend picked at random (seeded), since the load balancer does not route
 * by content: nothing here knows which server has which prompt cached.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Response header naming the backend (its index) that answered. */
export const BACKEND_HEADER = 'x-bench-backend';

/** Index of the backend to use: fewest in progress, ties broken by `rand`. */
export function pickLeastOutstanding(inProgress: readonly number[], rand: () => number): number {
  const least = Math.min(...inProgress);
  const tied = inProgress.flatMap((n, i) => (n === least ? [i] : []));
  return tied[Math.floor(rand() * tied.length)];
}

export interface RunningProxy {
  /** Base URL, e.g. http://127.0.0.1:43123 (no trailing slash). */
  readonly url: string;
  /** Requests each backend was sent, by index. */
  readonly sent: readonly number[];
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port in front of `backends` (base URLs). */
export async function startLeastOutstandingProxy(backends: readonly string[], rand: () => number): Promise<RunningProxy> {
  if (backends.length === 0) throw new Error('expected at least one backend');
  const inProgress = backends.map(() => 0);
  const sent = backends.map(() => 0);
  const server = http.createServer((req, res) => {
    const i = pickLeastOutstanding(inProgress, rand);
    inProgress[i]++;
    sent[i]++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        inProgress[i]--;
      }
    };
    const target = new URL(req.url ?? '/', backends[i]);
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      // Says which backend answered, for a benchmark counting per server.
      res.writeHead(up.statusCode ?? 502, { ...up.headers, [BACKEND_HEADER]: String(i) });
      up.pipe(res);
      up.on('end', finish);
      up.on('error', finish);
    });
    upstream.on('error', (err) => {
      finish();
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`proxy: backend ${backends[i]} failed: ${err.message}`);
    });
    res.on('close', finish);
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
