/**
 * What each request asks for: a prompt of about the requested number of
 * tokens and an output length, fixed or sampled, from a seeded generator so a
 * run can be repeated exactly.
 */

/** A fixed length, or a range sampled uniformly (inclusive). */
export interface LengthSpec {
  readonly min: number;
  readonly max: number;
}

/**
 * Most tokens a request may ask for or be prompted with: the largest context
 * the kit serves (contextTokensPerSlot), and a bound on the prompt text built
 * in memory for each request.
 */
export const MAX_TOKENS = 131_072;

/** Parses `128` or `64-256`, each from 1 to max. Returns an error message (without the flag name) on bad input. */
export function parseLength(text: string, max = MAX_TOKENS): LengthSpec | string {
  const expected = `expected a whole number from 1 to ${max}, or a range like 64-256`;
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) return `got "${text}"; ${expected}`;
  const min = Number(m[1]);
  const top = m[2] === undefined ? min : Number(m[2]);
  if (min < 1 || top > max) return `got "${text}"; ${expected}`;
  if (top < min) return `range ${text} ends below its start`;
  return { min, max: top };
}

export function formatLength(l: LengthSpec): string {
  return l.min === l.max ? String(l.min) : `${l.min}-${l.max}`;
}

/** mulberry32: tiny, fast and good enough to vary prompts; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sampleLength(l: LengthSpec, rand: () => number): number {
  return l.min + Math.floor(rand() * (l.max - l.min + 1));
}

/**
 * Common English words that the Llama 3 tokenizer (and most BPE vocabularies)
 * encode as one token each with their leading space, so N words is close to N
 * prompt tokens. The exact count comes back in `usage.prompt_tokens` and is
 * what the report uses.
 */
const WORDS = (
  'the of and to in is was for on that with as by at from his her they this have had not are but which one were ' +
  'their all when there can more an been would who will some out time up into other so what about than its only ' +
  'new two may first any like over also after back use way many then them these made water long day most people ' +
  'work part year place good very well just year great old same house world school city small large number light ' +
  'hand high point home head side name line right left story power money book group state night river music table'
).split(' ');

export interface Workload {
  readonly inputTokens: LengthSpec;
  readonly outputTokens: LengthSpec;
  /** Use these prompts (sampled) instead of generated words; inputTokens is then ignored. */
  readonly prompts?: readonly string[];
  /**
   * Text every generated prompt starts with (see sharedPrefix), before its
   * own inputTokens words: a chat application's system prompt.
   */
  readonly prefix?: string;
  readonly seed: number;
}

export interface RequestPlan {
  readonly prompt: string;
  readonly maxTokens: number;
}

function randomWords(n: number, rand: () => number): string {
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  return words.join(' ');
}

/**
 * A prefix of about `tokens` tokens, the same for the same seed: one run's
 * requests (every level, the warm-up too) share it, so that from the second
 * request on the server can reuse its prefill.
 */
export function sharedPrefix(tokens: number, seed: number): string {
  // Its own generator: the prefix must not depend on how many lengths were sampled before it.
  return randomWords(tokens, seededRandom(seed ^ 0x5bd1e995));
}

/**
 * Produces one request after another. Each generated prompt starts with
 * different words (after the shared prefix, if there is one), so
 * llama-server's prompt cache cannot reuse one request's prefill for the
 * next beyond that prefix, and TTFT stays honest.
 */
export function requestPlanner(w: Workload): () => RequestPlan {
  const rand = seededRandom(w.seed);
  return () => {
    const maxTokens = sampleLength(w.outputTokens, rand);
    if (w.prompts && w.prompts.length > 0) {
      return { prompt: w.prompts[Math.floor(rand() * w.prompts.length)], maxTokens };
    }
    const own = randomWords(sampleLength(w.inputTokens, rand), rand);
    return { prompt: w.prefix ? `${w.prefix} ${own}` : own, maxTokens };
  };
}
