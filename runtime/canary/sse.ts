/**
 * Incremental parsing and timing of an OpenAI-style streamed chat completion
 * (`text/event-stream` of `chat.completion.chunk` objects, ended by `[DONE]`).
 * Pure apart from the clock, which callers inject, so it is unit-testable.
 */

/**
 * Splits a text/event-stream into the `data` of each event, fed in arbitrary
 * pieces. Network reads cut lines (and `\r\n` pairs) anywhere, so nothing is
 * interpreted until its line is complete.
 */
export class SseDecoder {
  private pending = "";
  private data: string[] = [];

  /** Returns the events completed by `text`. */
  push(text: string): string[] {
    let s = this.pending + text;
    // A trailing `\r` may be the first half of `\r\n`; decide once more arrives.
    let held = "";
    if (s.endsWith("\r")) {
      held = "\r";
      s = s.slice(0, -1);
    }
    const lines = s.replace(/\r\n?/g, "\n").split("\n");
    this.pending = lines.pop()! + held;
    return this.lines(lines);
  }

  /**
   * Flushes at end of stream. The spec drops an event that lacks its closing
   * blank line; it is kept here because a canary should judge the content,
   * not the framing of the very last event.
   */
  end(): string[] {
    const lines = this.pending.replace(/\r\n?/g, "\n").split("\n");
    this.pending = "";
    return this.lines([...lines, ""]);
  }

  private lines(lines: string[]): string[] {
    const events: string[] = [];
    for (const line of lines) {
      if (line === "") {
        if (this.data.length > 0) events.push(this.data.join("\n"));
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // comment, e.g. llama-server's keep-alive ping
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      // `event`, `id` and `retry` carry nothing an OpenAI-style stream uses.
      if (field === "data") this.data.push(value);
    }
    return events;
  }
}

/** Why a stream that arrived with HTTP 200 does not count as a good answer. */
export type StreamFailureReason = "bad_stream" | "empty";

export class StreamError extends Error {
  constructor(
    readonly reason: StreamFailureReason,
    message: string,
  ) {
    super(message);
    this.name = "StreamError";
  }
}

export interface StreamMeasurement {
  /** Request start to the first chunk with non-empty content. */
  readonly ttftMs: number;
  /** Mean gap between content chunks after the first; absent with fewer than two. */
  readonly tpotMs?: number;
  /** Request start to `[DONE]`. */
  readonly totalMs: number;
  /** Chunks that carried non-empty content. */
  readonly contentChunks: number;
  /** `usage.completion_tokens` when the server sent it, else `contentChunks`. */
  readonly outputTokens: number;
}

/**
 * Folds the events of one stream into timings. Times are in milliseconds on
 * whatever monotonic clock the caller uses for `startedAt`.
 */
export class CompletionStreamMeter {
  private firstAt?: number;
  private lastAt?: number;
  private contentChunks = 0;
  private usageTokens?: number;
  private usagePromptTokens?: number;
  private doneAt?: number;
  private readonly contentAt: number[] = [];

  constructor(private readonly startedAt: number) {}

  /**
   * When each content chunk arrived (one entry per chunk, in order). The
   * canary needs only the first and last; the load generator (tools/bench)
   * derives inter-token latencies from the gaps.
   */
  get contentTimes(): readonly number[] {
    return this.contentAt;
  }

  /** `usage.prompt_tokens` when the server sent it. */
  get promptTokens(): number | undefined {
    return this.usagePromptTokens;
  }

  /** Records one event's data; returns true at `[DONE]`. Throws StreamError on anything unparseable. */
  onData(data: string, at: number): boolean {
    if (this.doneAt !== undefined) return true;
    if (data.trim() === "[DONE]") {
      this.doneAt = at;
      return true;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new StreamError("bad_stream", `event is not JSON: ${truncate(data)}`);
    }
    if (!isObject(chunk)) throw new StreamError("bad_stream", `event is not a JSON object: ${truncate(data)}`);
    // llama-server reports a failure after the 200 status as `data: {"error": ...}`.
    if ("error" in chunk) throw new StreamError("bad_stream", `error event: ${truncate(JSON.stringify(chunk.error))}`);
    const { choices, usage } = chunk;
    if (choices !== undefined && !Array.isArray(choices)) {
      throw new StreamError("bad_stream", `choices is not an array: ${truncate(data)}`);
    }
    const first: unknown = Array.isArray(choices) ? choices[0] : undefined;
    const delta = isObject(first) ? first.delta : undefined;
    const content = isObject(delta) ? delta.content : undefined;
    // The opening chunk usually carries only the role, and a token that ends
    // mid-UTF-8 character is held back as empty content: neither is output yet.
    if (typeof content === "string" && content.length > 0) {
      this.firstAt ??= at;
      this.lastAt = at;
      this.contentChunks++;
      this.contentAt.push(at);
    }
    if (isObject(usage) && typeof usage.completion_tokens === "number" && Number.isFinite(usage.completion_tokens)) {
      this.usageTokens = usage.completion_tokens;
    }
    if (isObject(usage) && typeof usage.prompt_tokens === "number" && Number.isFinite(usage.prompt_tokens)) {
      this.usagePromptTokens = usage.prompt_tokens;
    }
    return false;
  }

  /** The timings of a finished stream; throws StreamError for a truncated or empty one. */
  finish(): StreamMeasurement {
    if (this.doneAt === undefined) {
      throw new StreamError("bad_stream", `stream ended without [DONE] after ${this.contentChunks} content chunks`);
    }
    if (this.contentChunks === 0 || this.firstAt === undefined || this.lastAt === undefined) {
      throw new StreamError("empty", "stream completed without any content");
    }
    const n = this.contentChunks;
    return {
      ttftMs: this.firstAt - this.startedAt,
      ...(n >= 2 ? { tpotMs: (this.lastAt - this.firstAt) / (n - 1) } : {}),
      totalMs: this.doneAt - this.startedAt,
      contentChunks: n,
      outputTokens: this.usageTokens ?? n,
    };
  }
}

/** The part of a WHATWG ReadableStream this module reads (fetch's `Response.body`). */
export interface ByteStream {
  getReader(): {
    read(): Promise<{ done: boolean; value?: Uint8Array }>;
    cancel(reason?: unknown): Promise<void>;
  };
}

/**
 * Reads a streamed chat completion to `[DONE]`, timestamping each network
 * read as it arrives. Errors of the underlying stream (reset, abort) are
 * rethrown unchanged for the caller to classify. A caller that wants more
 * than the summary (per-chunk times, prompt tokens) passes its own meter and
 * reads it afterwards.
 */
export async function readCompletionStream(
  body: ByteStream,
  startedAt: number,
  now: () => number = () => performance.now(),
  meter: CompletionStreamMeter = new CompletionStreamMeter(startedAt),
): Promise<StreamMeasurement> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const sse = new SseDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const at = now();
      const events = done ? [...sse.push(decoder.decode()), ...sse.end()] : sse.push(decoder.decode(value, { stream: true }));
      for (const data of events) {
        if (meter.onData(data, at)) return meter.finish();
      }
      if (done) return meter.finish();
    }
  } finally {
    // Anything after [DONE] (or a stream abandoned on error) is not worth
    // waiting for; cancelling frees the connection without reading it.
    // Cancelling an already finished stream is a no-op.
    reader.cancel().catch(() => undefined);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function truncate(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
