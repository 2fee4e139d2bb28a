/**
 * A streaming chat completion sent from the box's namespace (as the load
 * balancer would reach the instance): curl -N in the namespace, each
 * server-sent event's data timed as it arrives, so a test can act while the
 * stream runs and say afterwards what arrived when.
 */
import { spawn } from 'node:child_process';

/** One `data:` line of the stream. */
export interface StreamEvent {
  readonly atMs: number;
  readonly data: string;
}

export interface StreamEnd {
  /** curl's exit status: 0 when the response ended as HTTP says it ends (a cut stream is 18). */
  readonly exitCode: number | null;
  readonly httpStatus: number;
  readonly endedAtMs: number;
}

export interface BoxStream {
  /** The events so far, in order. */
  readonly events: StreamEvent[];
  /** Whether curl has exited. */
  ended(): boolean;
  /** Resolves when curl exits. */
  readonly end: Promise<StreamEnd>;
}

/** POSTs `body` (JSON) to `url` with `headers` from inside the namespace `netns`, streaming the answer. */
export function streamFromNamespace(netns: string, url: string, headers: Record<string, string>, body: string): BoxStream {
  const args = ['netns', 'exec', netns, 'curl', '-sS', '-N', '--max-time', '600', '-w', '\nHTTP_STATUS %{http_code}\n',
    '-H', 'Content-Type: application/json', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    '--data-binary', body, url];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: StreamEvent[] = [];
  let pending = '';
  let httpStatus = 0;
  let exited = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const atMs = Date.now();
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('data: ')) events.push({ atMs, data: line.slice('data: '.length) });
      const status = /^HTTP_STATUS (\d+)$/.exec(line);
      if (status) httpStatus = Number(status[1]);
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => { stderr += c; });
  const end = new Promise<StreamEnd>((resolve) => {
    child.on('close', (code) => {
      exited = true;
      if (code !== 0) console.log(`stream from ${url}: curl exited ${code}: ${stderr.trim()}`);
      resolve({ exitCode: code, httpStatus, endedAtMs: Date.now() });
    });
  });
  return { events, ended: () => exited, end };
}
