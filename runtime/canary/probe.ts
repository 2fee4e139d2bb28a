/**
 * One streamed chat completion against the endpoint, classified into a
 * measurement or a failure reason. Knows nothing of SSM or Lambda.
 *
 * Sent with node:http(s) rather than fetch: an internal HTTPS endpoint is
 * reached at the load balancer's own DNS name while its certificate covers
 * only the user's domain, so the TLS server name (SNI and the name the
 * certificate is verified against) and the Host header must differ from the
 * URL's host, which fetch does not allow without a dependency.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { FailureReason } from "./emf";
import { type ByteStream, readCompletionStream, StreamError, type StreamMeasurement } from "./sse";

export interface ProbeRequest {
  /** Base URL ending in /v1 (a trailing slash is tolerated). */
  readonly endpointUrl: string;
  readonly apiKey: string;
  readonly maxTokens: number;
  readonly prompt: string;
  /** Aborting it ends the probe as a timeout, whatever stage it is in. */
  readonly signal: AbortSignal;
  /**
   * For an https URL that names the load balancer rather than the endpoint's
   * domain: the name sent as SNI and as the Host header, and the name the
   * certificate must cover. The certificate is verified all the same.
   * @default - the URL's host
   */
  readonly tlsServerName?: string;
  /**
   * Certificate authorities (PEM) to trust instead of Node's bundled public
   * roots. Only tests set it, to trust a throwaway CA; the handler never does
   * (in Lambda, NODE_EXTRA_CA_CERTS adds a private CA to the public roots).
   * @default - Node's public roots, plus any NODE_EXTRA_CA_CERTS
   */
  readonly ca?: string;
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
  // An abort surfaces as whatever error the pending operation throws (an
  // AbortError, a reset of the response), so the signal, not the error,
  // decides whether it was our timeout.
  const transportFailure = (err: unknown) => {
    if (req.signal.aborted) return failed("timeout", "deadline reached");
    if (isTlsError(err)) {
      const name = req.tlsServerName ?? hostOf(req.endpointUrl);
      return failed("tls", `the endpoint's certificate was refused for ${name}: ${describe(err)}`);
    }
    return failed("network", describe(err));
  };

  const url = new URL(`${req.endpointUrl.replace(/\/+$/, "")}/chat/completions`);
  const body = JSON.stringify({
    messages: [{ role: "user", content: req.prompt }],
    max_tokens: req.maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
  });
  const startedAt = now();
  let res: IncomingMessage;
  try {
    res = await post(url, body, req);
  } catch (err) {
    return transportFailure(err);
  }

  // The deadline must also end a response that stalls after its headers.
  const abortBody = () => res.destroy(new Error("aborted at the deadline"));
  req.signal.addEventListener("abort", abortBody, { once: true });
  if (req.signal.aborted) abortBody();
  try {
    if (res.statusCode !== 200) {
      const status = res.statusCode ?? 0;
      // A little of the body (llama-server's JSON error, the load balancer's
      // page) is what makes the log line useful; more is noise. A redirect is
      // reported as its status, not followed: it means the canary is aimed at
      // the wrong place, and following it would turn the POST into a GET.
      const text = await readText(res).catch(() => "");
      if (req.signal.aborted) return failed("timeout", `deadline reached reading the ${status} response`);
      return failed(reasonForStatus(status), `HTTP ${status}: ${text.slice(0, 300)}`);
    }
    return { ok: true, measurement: await readCompletionStream(byteStream(res), startedAt, now) };
  } catch (err) {
    if (err instanceof StreamError) return failed(err.reason, err.message);
    return transportFailure(err);
  } finally {
    req.signal.removeEventListener("abort", abortBody);
    res.destroy();
  }
}

/** Sends the request; resolves with the response once its headers arrive. */
function post(url: URL, body: string, req: ProbeRequest): Promise<IncomingMessage> {
  const secure = url.protocol === "https:";
  if (!secure && url.protocol !== "http:") return Promise.reject(new Error(`not an http(s) URL: ${url.href}`));
  if (req.tlsServerName && !secure) return Promise.reject(new Error(`a TLS server name (${req.tlsServerName}) needs an https URL, got ${url.href}`));
  const headers: OutgoingHttpHeaders = {
    Authorization: `Bearer ${req.apiKey}`,
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    Accept: "text/event-stream",
    // A fresh connection per probe: a pooled one may have been closed by
    // the load balancer (idle timeout) while Lambda was frozen between
    // invocations, and reusing it would report a network failure that no
    // real client sees. It also keeps connection setup in every TTFT
    // sample alike, cold start or warm.
    Connection: "close",
    // What a client that uses the domain sends: the load balancer's rules and
    // llama-server see the same request either way.
    ...(req.tlsServerName ? { Host: url.port ? `${req.tlsServerName}:${url.port}` : req.tlsServerName } : {}),
  };
  return new Promise((resolve, reject) => {
    const options = {
      method: "POST",
      headers,
      signal: req.signal,
      // No agent: nothing is pooled (see Connection above).
      agent: false as const,
      // rejectUnauthorized stays at its default (true): the name and the chain are always checked.
      ...(secure && req.tlsServerName ? { servername: req.tlsServerName } : {}),
      ...(secure && req.ca ? { ca: req.ca } : {}),
    };
    const outgoing = (secure ? httpsRequest : httpRequest)(url, options, resolve);
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/** The response body as the stream reader in sse.ts reads it, each chunk as it arrives. */
function byteStream(res: IncomingMessage): ByteStream {
  return {
    getReader() {
      const chunks = res[Symbol.asyncIterator]();
      return {
        async read() {
          const next = await chunks.next();
          return next.done ? { done: true } : { done: false, value: next.value as Buffer };
        },
        async cancel() {
          res.destroy();
        },
      };
    },
  };
}

async function readText(res: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const part of res) parts.push(part as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/**
 * Whether the error (or one of its causes) is a refused certificate or a
 * failed TLS handshake: OpenSSL's verification codes (CERT_HAS_EXPIRED,
 * SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...) and Node's
 * own (ERR_TLS_CERT_ALTNAME_INVALID for a name the certificate does not
 * cover, ERR_SSL_* for a handshake that failed).
 */
export function isTlsError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === "object" && e !== null && depth < 4; depth++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === "string" && /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED|SELF_SIGNED_|INVALID_CA|HOSTNAME_MISMATCH)/.test(code)) {
      return true;
    }
    e = cause;
  }
  return false;
}

/** The error and its causes in one line: fetch (the bench's client) hides the useful part (ECONNREFUSED...) in `cause`. */
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
