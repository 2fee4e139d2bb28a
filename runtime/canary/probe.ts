/**
 * One streamed chat completion against the endpoint, classified into a
 * measurement or a failure reason. Knows nothing of SSM or Lambda.
 */
import type { FailureReason } from "./emf";
import { readCompletionStream, StreamError, type StreamMeasurement } from "./sse";

export interface ProbeRequest {
  /** Base URL ending in /v1 (a trailing slash is tolerated). */
  readonly endpointUrl: string;
  readonly apiKey: string;
  readonly maxTokens: number;
  readonly prompt: string;
  /** Aborting it ends the probe as a timeout, whatever stage it is in. */
  readonly signal: AbortSignal;
  readonly now?: () => number;
}

export type ProbeOutcome =
  | { readonly ok: true; readonly measurement: StreamMeasurement }
  | { readonly ok: false; readonly reason: FailureReason; readonly detail: string };

export function reasonForStatus(status: number): FailureReason {
  if (status === 401) return "http_401";
  if (status >= 500 && status <= 599) return "http_5xx";
  return `http_status_${status}`;
}

export async function probeOnce(req: ProbeRequest): Promise<ProbeOutcome> {
  const now = req.now ?? (() => performance.now());
  const failed = (reason: FailureReason, detail: string): ProbeOutcome => ({ ok: false, reason, detail });
  // An abort surfaces as whatever error the pending operation throws (a
  // DOMException from fetch, a TypeError from a body read), so the signal,
  // not the error, decides whether it was our timeout.
  const transportFailure = (err: unknown) => (req.signal.aborted ? failed("timeout", "deadline reached") : failed("network", describe(err)));

  const startedAt = now();
  let res: Response;
  try {
    res = await fetch(`${req.endpointUrl.replace(/\/+$/, "")}/chat/completions`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${req.apiKey}`,
        "Content-Type": "application/json",
        Accept: "text/event-stream",
        // A fresh connection per probe: a pooled one may have been closed by
        // the load balancer (idle timeout) while Lambda was frozen between
        // invocations, and reusing it would report a network failure that
        // no real client sees. It also keeps connection setup in every TTFT
        // sample alike, cold start or warm.
        Connection: "close",
      },
      body: JSON.stringify({
        messages: [{ role: "user", content: req.prompt }],
        max_tokens: req.maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      }),
      // A redirect means the canary is aimed at the wrong place; following it
      // would turn the POST into a GET and hide that.
      redirect: "manual",
      signal: req.signal,
    });
  } catch (err) {
    return transportFailure(err);
  }

  if (res.status !== 200) {
    // A little of the body (llama-server's JSON error, the load balancer's
    // page) is what makes the log line useful; more is noise.
    const text = await res.text().catch(() => "");
    if (req.signal.aborted) return failed("timeout", `deadline reached reading the ${res.status} response`);
    return failed(reasonForStatus(res.status), `HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.body) return failed("bad_stream", "HTTP 200 without a body");

  try {
    return { ok: true, measurement: await readCompletionStream(res.body, startedAt, now) };
  } catch (err) {
    if (err instanceof StreamError) return failed(err.reason, err.message);
    return transportFailure(err);
  }
}

/** The error and its causes in one line: fetch hides the useful part (ECONNREFUSED...) in `cause`. */
export function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    // Duck-typed, not instanceof Error: errors from another realm (Node's
    // internals seen from a jest sandbox) fail instanceof.
    if (typeof e === "object" && "message" in e) {
      const { name, message, code, cause } = e as { name?: unknown; message: unknown; code?: unknown; cause?: unknown };
      parts.push(`${String(name ?? "Error")}: ${String(message)}${code ? ` (${String(code)})` : ""}`);
      e = cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  return parts.join(" <- ") || "unknown error";
}
