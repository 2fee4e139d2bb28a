/**
 * One streamed chat completion, measured: TTFT, TPOT, inter-token gaps,
 * end-to-end time and token counts, or the kind of failure. The stream is
 * parsed and timed by the canary's parser (runtime/canary/sse.ts), and
 * failures use the canary's names, so a bench report and an alarm speak the
 * same language.
 */
import { describe, isTlsError, reasonForStatus } from '../../runtime/canary/probe';
import { CompletionStreamMeter, readCompletionStream, StreamError } from '../../runtime/canary/sse';

export interface CompletionRequest {
  /** The full chat completions URL (see chatCompletionsUrl). */
  readonly url: string;
  readonly apiKey?: string;
  readonly model?: string;
  readonly prompt: string;
  readonly maxTokens: number;
  /**
   * Ask the server to generate exactly maxTokens (llama.cpp and vLLM honour
   * `ignore_eos`), so every request has the output length the run asked for.
   */
  readonly ignoreEos: boolean;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

interface Timed {
  /** Milliseconds on the caller's monotonic clock. */
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface RequestSuccess extends Timed {
  readonly ok: true;
  readonly ttftMs: number;
  /** (end-to-end - TTFT) / (output tokens - 1); absent with a single output token. */
  readonly tpotMs?: number;
  /** Gaps between consecutive content chunks. */
  readonly itlMs: readonly number[];
  readonly e2eMs: number;
  /** `usage.prompt_tokens`, when the server reports it. */
  readonly inputTokens?: number;
  /** `usage.completion_tokens`, else the number of content chunks. */
  readonly outputTokens: number;
}

export interface RequestFailure extends Timed {
  readonly ok: false;
  /** timeout, network, tls, http_401, http_5xx, http_status_N, bad_stream or empty. */
  readonly error: string;
  readonly detail: string;
}

export type RequestResult = RequestSuccess | RequestFailure;

/**
 * Accepts the endpoint as the kit prints it (`.../v1`), a bare host, or the
 * full path, so users can paste whichever they have.
 */
export function chatCompletionsUrl(base: string): string {
  const u = new URL(base);
  const p = u.pathname.replace(/\/+$/, '');
  if (p.endsWith('/chat/completions')) u.pathname = p;
  else if (p.endsWith('/v1')) u.pathname = `${p}/chat/completions`;
  else u.pathname = `${p}/v1/chat/completions`;
  return u.toString();
}

/**
 * Longest deadline a request can have: Node runs a timer set beyond 2^31-1 ms
 * (about 24.8 days) after 1 ms instead, so every request would time out at once.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export async function sendCompletion(req: CompletionRequest): Promise<RequestResult> {
  if (!(Number.isInteger(req.timeoutMs) && req.timeoutMs >= 1 && req.timeoutMs <= MAX_TIMEOUT_MS)) {
    // The commands bound their timeout flags well below this; reaching it is a caller's bug.
    throw new RangeError(`timeoutMs: got ${req.timeoutMs}; expected a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  }
  const now = req.now ?? (() => performance.now());
  const signal = AbortSignal.timeout(req.timeoutMs);
  const startedAt = now();
  const failed = (error: string, detail: string): RequestFailure => ({ ok: false, error, detail, startedAt, endedAt: now() });
  // An abort surfaces as whatever the pending operation throws, so the
  // signal, not the error, says whether it was our deadline.
  // A refused certificate gets its own kind: "network" would send the reader looking at routes and security groups.
  const transport = (err: unknown) => {
    if (signal.aborted) return failed('timeout', `no answer within ${req.timeoutMs} ms`);
    return isTlsError(err) ? failed('tls', `certificate refused: ${describe(err)}`) : failed('network', describe(err));
  };

  let res: Response;
  try {
    res = await fetch(req.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'text/event-stream',
        ...(req.apiKey ? { Authorization: `Bearer ${req.apiKey}` } : {}),
        // A connection per request, as the canary does. llama-server closes
        // the connection after every streamed response while its headers
        // promise keep-alive, so a pooled connection can be handed to the
        // next request just as the server closes it: "other side closed",
        // a failure no request caused. Directly against llama-server this
        // costs nothing (it never reuses the connection); through the load
        // balancer it puts connection setup into every TTFT sample alike.
        Connection: 'close',
      },
      body: JSON.stringify({
        ...(req.model ? { model: req.model } : {}),
        messages: [{ role: 'user', content: req.prompt }],
        max_tokens: req.maxTokens,
        stream: true,
        stream_options: { include_usage: true },
        ...(req.ignoreEos ? { ignore_eos: true } : {}),
      }),
      redirect: 'manual',
      signal,
    });
  } catch (err) {
    return transport(err);
  }
  if (res.status !== 200) {
    const text = await res.text().catch(() => '');
    if (signal.aborted) return failed('timeout', `deadline reached reading the ${res.status} response`);
    return failed(reasonForStatus(res.status), `HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.body) return failed('bad_stream', 'HTTP 200 without a body');

  const meter = new CompletionStreamMeter(startedAt);
  try {
    const m = await readCompletionStream(res.body, startedAt, now, meter);
    const times = meter.contentTimes;
    const itlMs = times.slice(1).map((t, i) => t - times[i]);
    // TPOT from the token count, not the chunk count: a server may pack
    // several tokens into one chunk, and the token count is what is billed.
    const tpotMs = m.outputTokens >= 2 ? (m.totalMs - m.ttftMs) / (m.outputTokens - 1) : undefined;
    return {
      ok: true,
      startedAt,
      endedAt: startedAt + m.totalMs,
      ttftMs: m.ttftMs,
      ...(tpotMs === undefined ? {} : { tpotMs }),
      itlMs,
      e2eMs: m.totalMs,
      ...(meter.promptTokens === undefined ? {} : { inputTokens: meter.promptTokens }),
      outputTokens: m.outputTokens,
    };
  } catch (err) {
    if (err instanceof StreamError) return failed(err.reason, err.message);
    return transport(err);
  }
}
