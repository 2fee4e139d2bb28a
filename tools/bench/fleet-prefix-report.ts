/**
 * The fleet prompt-cache benchmark's pure parts (tools/bench/fleet-prefix.ts):
 * what counts as a cache hit, and the summary of a run. A request hits when
 * the server reports (`usage.prompt_tokens_details.cached_tokens`, which
 * llama-server fills as OpenAI does) that it reused at least the shared
 * system prompt's tokens rather than computing them.
 */

/** What one request reported. */
export interface PrefixRequestResult {
  /** Which system prompt it carried (0-based). */
  readonly prefix: number;
  /** Which server the proxy sent it to (0-based). */
  readonly backend: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
}

/** Reads prompt and cached tokens from a chat completion's JSON body; undefined when usage is missing. */
export function usageOf(body: unknown): { promptTokens: number; cachedTokens: number } | undefined {
  const usage = (body as { usage?: { prompt_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } } } | undefined)?.usage;
  const prompt = usage?.prompt_tokens;
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return typeof prompt === 'number' && typeof cached === 'number' ? { promptTokens: prompt, cachedTokens: cached } : undefined;
}

/** A hit reused at least the system prompt's words (a token or more each): the costly part of the prefill. */
export function isHit(r: PrefixRequestResult, prefixTokens: number): boolean {
  return r.cachedTokens >= prefixTokens;
}

export interface FleetRunSummary {
  readonly servers: number;
  readonly prefixes: number;
  readonly requests: number;
  readonly hits: number;
  /** Requests that missed: at least one per server and system prompt (its first sight of it). */
  readonly misses: number;
  /** servers x prefixes actually seen together: the misses a content-blind router cannot avoid. */
  readonly unavoidableMisses: number;
  /** Share of all prompt tokens the servers reused. */
  readonly reusedTokenShare: number;
  /** Requests per server. */
  readonly perServer: readonly number[];
}

export function summarize(servers: number, prefixes: number, results: readonly PrefixRequestResult[], prefixTokens: number): FleetRunSummary {
  const hits = results.filter((r) => isHit(r, prefixTokens)).length;
  const seen = new Set(results.map((r) => `${r.backend}/${r.prefix}`));
  const prompt = results.reduce((a, r) => a + r.promptTokens, 0);
  const cached = results.reduce((a, r) => a + r.cachedTokens, 0);
  return {
    servers,
    prefixes,
    requests: results.length,
    hits,
    misses: results.length - hits,
    unavoidableMisses: seen.size,
    reusedTokenShare: prompt > 0 ? cached / prompt : 0,
    perServer: Array.from({ length: servers }, (_, i) => results.filter((r) => r.backend === i).length),
  };
}

/** Markdown: one row per run. */
export function renderFleetTable(rows: readonly FleetRunSummary[], prefixTokens: number): string {
  return [
    `Requests whose ${prefixTokens}-token system prompt was reused from a server's cache, through a least-outstanding-requests proxy`,
    '',
    '| Servers | System prompts | Requests | Hits | Hit rate | Misses (server-and-prompt pairs seen) | Prompt tokens reused | Requests per server |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.servers} | ${r.prefixes} | ${r.requests} | ${r.hits} | ${((r.hits / Math.max(1, r.requests)) * 100).toFixed(0)}% | `
      + `${r.misses} (${r.unavoidableMisses}) | ${(r.reusedTokenShare * 100).toFixed(0)}% | ${r.perServer.join(' / ')} |`),
  ].join('\n');
}
