/**
 * Starts a real llama-server on a free loopback port for a test, waits until
 * it is healthy, and guarantees the process dies on stop() (or when the jest
 * worker exits), so a failing test cannot leave a server running or hang jest.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export interface LlamaServerOptions {
  /** Path to the built llama-server executable. */
  readonly binary: string;
  readonly model: string;
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  /** Expose Prometheus metrics on /metrics. */
  readonly metrics?: boolean;
  /** Parallel slots (-np). */
  readonly parallel?: number;
  /** Context size (-c), shared by all slots. */
  readonly ctxSize?: number;
  /** CPU threads (-t). */
  readonly threads?: number;
  readonly extraArgs?: readonly string[];
  /** Bound on the wait for /health to answer 200. */
  readonly startTimeoutMs?: number;
}

export interface RunningLlamaServer {
  /** Base URL, e.g. http://127.0.0.1:43123 (no trailing slash). */
  readonly url: string;
  /** Seconds from spawn to the first healthy /health. */
  readonly startupSeconds: number;
  /** The server's process id (its memory is in /proc/PID/status). */
  readonly pid: number;
  /** Kills the server (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Everything the server printed so far (the most recent 1 MB). */
  logs(): string;
}

const LOG_LIMIT = 1 << 20;

/** Servers still running in this process, killed if the process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Asks the kernel for a free port. Another process could take it before the
 * server binds; startLlamaServer retries on a new port if that happens. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function serverArgs(o: LlamaServerOptions, port: number): string[] {
  const args = ['-m', o.model, '--host', '127.0.0.1', '--port', String(port), '--no-webui'];
  if (o.apiKey !== undefined) args.push('--api-key', o.apiKey);
  if (o.apiKeyFile !== undefined) args.push('--api-key-file', o.apiKeyFile);
  if (o.metrics) args.push('--metrics');
  if (o.parallel !== undefined) args.push('-np', String(o.parallel));
  if (o.ctxSize !== undefined) args.push('-c', String(o.ctxSize));
  if (o.threads !== undefined) args.push('-t', String(o.threads));
  return [...args, ...(o.extraArgs ?? [])];
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, 5000))) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  }
  live.delete(child);
  child.stdout?.destroy();
  child.stderr?.destroy();
}

class StartFailed extends Error {
  constructor(message: string, readonly portTaken: boolean) {
    super(message);
  }
}

async function startOnce(o: LlamaServerOptions): Promise<RunningLlamaServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const child = spawn(o.binary, serverArgs(o, port), { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  killAllOnExit();

  let log = '';
  const append = (b: Buffer) => {
    log += b.toString('utf8');
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));

  const deadline = started + (o.startTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (spawnError) throw new StartFailed(`llama-server failed to spawn: ${spawnError.message}`, false);
      if (child.exitCode !== null || child.signalCode !== null) {
        const portTaken = /bind|address already in use/i.test(log);
        throw new StartFailed(`llama-server exited (${child.signalCode ?? child.exitCode}) before healthy:\n${log.slice(-4000)}`, portTaken);
      }
      if (Date.now() > deadline) throw new StartFailed(`llama-server not healthy within ${o.startTimeoutMs ?? 60_000} ms:\n${log.slice(-4000)}`, false);
      try {
        // /health answers 503 while the model loads and 200 once it can serve.
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await kill(child);
    throw err;
  }

  return {
    url,
    startupSeconds: (Date.now() - started) / 1000,
    pid: child.pid!,
    stop: () => kill(child),
    logs: () => log,
  };
}

/** Starts llama-server and resolves once GET /health returns 200. */
export async function startLlamaServer(o: LlamaServerOptions): Promise<RunningLlamaServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(o);
    } catch (err) {
      if (!(err instanceof StartFailed && err.portTaken && attempt < 3)) throw err;
    }
  }
}
