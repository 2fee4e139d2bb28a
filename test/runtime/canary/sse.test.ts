import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CompletionStreamMeter,
  readCompletionStream,
  SseDecoder,
  StreamError,
  type ByteStream,
} from "../../../runtime/canary/sse";

const chunk = (content: string | undefined, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: content === undefined ? { role: "assistant" } : { content }, finish_reason: null }],
    ...extra,
  });
const usage = (completion: number) =>
  JSON.stringify({
    object: "chat.completion.chunk",
    choices: [],
    usage: { prompt_tokens: 12, completion_tokens: completion, total_tokens: 12 + completion },
  });
const event = (data: string) => `data: ${data}\n\n`;

/** A stream of the given pieces, each read stamped with the matching time. */
function scripted(pieces: { text: string; at: number }[]): { body: ByteStream; now: () => number } {
  let i = 0;
  let t = 0;
  const enc = new TextEncoder();
  return {
    body: {
      getReader: () => ({
        read: async () => {
          if (i >= pieces.length) return { done: true };
          t = pieces[i].at;
          return { done: false, value: enc.encode(pieces[i++].text) };
        },
        cancel: async () => undefined,
      }),
    },
    now: () => t,
  };
}

describe("SseDecoder", () => {
  test("yields the data of each event, whatever the read boundaries", () => {
    const text = `: ping\n\n${event('{"a":1}')}event: message\nid: 7\ndata: {"b":2}\r\n\r\n${event("[DONE]")}`;
    for (let size = 1; size <= text.length; size++) {
      const d = new SseDecoder();
      const out: string[] = [];
      for (let i = 0; i < text.length; i += size) out.push(...d.push(text.slice(i, i + size)));
      out.push(...d.end());
      expect(out).toEqual(['{"a":1}', '{"b":2}', "[DONE]"]);
    }
  });

  test("handles CR-only line ends split across reads", () => {
    const d = new SseDecoder();
    expect(d.push("data: x\r")).toEqual([]);
    // Still unknown whether this \r is a blank line or half of "\r\n".
    expect(d.push("\r")).toEqual([]);
    expect(d.push("data:y\r")).toEqual(["x"]);
    expect(d.push("\ndata: z\r\n\r\n")).toEqual(["y\nz"]);
  });

  test("joins multi-line data and strips exactly one leading space", () => {
    const d = new SseDecoder();
    expect(d.push("data:  two spaces\ndata\ndata:x\n\n")).toEqual([" two spaces\n\nx"]);
  });

  test("flushes a final event that lacks its blank line", () => {
    const d = new SseDecoder();
    expect(d.push("data: [DONE]")).toEqual([]);
    expect(d.end()).toEqual(["[DONE]"]);
  });
});

describe("CompletionStreamMeter", () => {
  test("measures TTFT from the first non-empty content, TPOT over later chunks, total at [DONE]", () => {
    const m = new CompletionStreamMeter(1000);
    expect(m.onData(chunk(undefined), 1050)).toBe(false); // role only
    expect(m.onData(chunk(""), 1100)).toBe(false); // held-back partial character
    m.onData(chunk("Hel"), 1200);
    m.onData(chunk("lo"), 1250);
    m.onData(chunk(""), 1260);
    m.onData(chunk(" world"), 1300);
    m.onData(chunk("!", { timings: {} }), 1350);
    m.onData(usage(5), 1351);
    expect(m.onData("[DONE]", 1360)).toBe(true);
    expect(m.finish()).toEqual({ ttftMs: 200, tpotMs: 50, totalMs: 360, contentChunks: 4, outputTokens: 5 });
  });

  test("falls back to counting content chunks without usage, and omits TPOT for a single chunk", () => {
    const m = new CompletionStreamMeter(0);
    m.onData(chunk("only"), 30);
    m.onData("[DONE]", 40);
    const r = m.finish();
    expect(r).toEqual({ ttftMs: 30, totalMs: 40, contentChunks: 1, outputTokens: 1 });
    expect("tpotMs" in r).toBe(false);
  });

  test.each([
    ["not JSON", "{oops"],
    ["not an object", "[1,2]"],
    ["an error event", JSON.stringify({ error: { code: 500, message: "slot died" } })],
    ["choices not an array", JSON.stringify({ choices: { delta: {} } })],
  ])("rejects %s as bad_stream", (_name, data) => {
    const m = new CompletionStreamMeter(0);
    expect(() => m.onData(data, 1)).toThrow(StreamError);
    expect(() => m.onData(data, 1)).toThrow(expect.objectContaining({ reason: "bad_stream" }));
  });

  test("a stream cut before [DONE] is bad_stream; a complete one without content is empty", () => {
    const cut = new CompletionStreamMeter(0);
    cut.onData(chunk("a"), 1);
    expect(() => cut.finish()).toThrow(expect.objectContaining({ reason: "bad_stream" }));

    const empty = new CompletionStreamMeter(0);
    empty.onData(chunk(undefined), 1);
    empty.onData(chunk(""), 2);
    empty.onData(usage(0), 3);
    empty.onData("[DONE]", 4);
    expect(() => empty.finish()).toThrow(expect.objectContaining({ reason: "empty" }));
  });
});

describe("readCompletionStream", () => {
  test("stamps each event with the time of the read that completed it", async () => {
    const { body, now } = scripted([
      { text: event(chunk(undefined)), at: 10 },
      { text: `data: ${chunk("a")}`, at: 100 }, // incomplete: counts when its blank line arrives
      { text: `\n\n${event(chunk("b"))}`, at: 120 },
      { text: event(chunk("c")) + event(usage(3)), at: 160 },
      { text: event("[DONE]"), at: 170 },
    ]);
    await expect(readCompletionStream(body, 0, now)).resolves.toEqual({
      ttftMs: 120,
      tpotMs: 20,
      totalMs: 170,
      contentChunks: 3,
      outputTokens: 3,
    });
  });

  test("decodes a multi-byte character split across reads", async () => {
    const bytes = new TextEncoder().encode(event(chunk("é")) + event("[DONE]"));
    const split = bytes.indexOf(0xc3) + 1;
    const parts = [bytes.slice(0, split), bytes.slice(split)];
    let i = 0;
    const body: ByteStream = {
      getReader: () => ({
        read: async () => (i < parts.length ? { done: false, value: parts[i++] } : { done: true }),
        cancel: async () => undefined,
      }),
    };
    await expect(readCompletionStream(body, 0, () => 5)).resolves.toMatchObject({ contentChunks: 1, outputTokens: 1 });
  });

  test("rethrows a read error for the caller to classify", async () => {
    const body: ByteStream = {
      getReader: () => ({
        read: async () => {
          throw new TypeError("terminated");
        },
        cancel: async () => undefined,
      }),
    };
    await expect(readCompletionStream(body, 0)).rejects.toThrow("terminated");
  });

  describe("over HTTP with real delays", () => {
    let server: Server;
    let url: string;
    const FIRST_MS = 200;
    const GAP_MS = 50;
    const TOKENS = 6;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    async function stream(res: ServerResponse): Promise<void> {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      res.write(event(chunk(undefined)));
      await sleep(FIRST_MS);
      for (let i = 0; i < TOKENS; i++) {
        if (i > 0) await sleep(GAP_MS);
        res.write(event(chunk(`t${i} `)));
      }
      res.write(event(usage(TOKENS)));
      res.end(event("[DONE]"));
    }

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on("end", () => void stream(res));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    test("TTFT and TPOT match the server's pacing", async () => {
      const startedAt = performance.now();
      const res = await fetch(url, { method: "POST", body: "{}" });
      const m = await readCompletionStream(res.body!, startedAt);
      // Ranges, not exact values: timers and the event loop add jitter.
      expect(m.ttftMs).toBeGreaterThanOrEqual(FIRST_MS - 5);
      expect(m.ttftMs).toBeLessThan(FIRST_MS + 300);
      expect(m.tpotMs).toBeGreaterThanOrEqual(GAP_MS - 5);
      expect(m.tpotMs).toBeLessThan(GAP_MS + 60);
      expect(m.totalMs).toBeGreaterThanOrEqual(FIRST_MS + (TOKENS - 1) * GAP_MS - 5);
      expect(m.totalMs).toBeLessThan(m.ttftMs + (TOKENS - 1) * (GAP_MS + 60) + 100);
      expect(m.contentChunks).toBe(TOKENS);
      expect(m.outputTokens).toBe(TOKENS);
    });
  });
});
