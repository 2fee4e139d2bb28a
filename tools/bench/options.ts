/**
 * The bench command line: flags to a checked BenchOptions, or one message
 * per problem, each naming its flag, so a typo costs one glance rather than
 * a run against the wrong target. The files are checked here too, before
 * the first request: the prompt file read, the key file holding a key, and
 * the results directory new or empty (lib/command-line/paths.ts).
 */
import { readFileSync } from 'node:fs';

import { commandLine } from '../../lib/command-line/commands';
import { describeRange, httpUrl, inRange, numberFlag, readFlags, type NumberRange } from '../../lib/command-line/flags';
import { unusableResultsDirectory } from '../../lib/command-line/paths';
import { apiKeyFileProblem } from './api-key';
import type { LoadLevel } from './stats';
import { MAX_TOKENS, parseLength, type LengthSpec } from './workload';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'off';

export interface BenchOptions {
  readonly url: string;
  readonly apiKey:
    | { readonly from: 'parameter'; readonly name: string; readonly region?: string }
    | { readonly from: 'file'; readonly path: string }
    | { readonly from: 'env'; readonly variable: string }
    | { readonly from: 'none' };
  readonly model?: string;
  readonly levels: readonly LoadLevel[];
  /** Requests per level; undefined means the per-level default (see requestsFor). */
  readonly requests?: number;
  readonly durationS: number;
  readonly warmup: number;
  readonly inputTokens: LengthSpec;
  readonly outputTokens: LengthSpec;
  readonly promptFile?: string;
  /** The prompt file's non-empty lines, read when the flags were checked. */
  readonly prompts?: readonly string[];
  /**
   * Measure a repeated prefix of this many tokens (every prompt starts with
   * it, then its own inputTokens words) against distinct prompts of the same
   * total length; undefined runs the distinct workload only.
   */
  readonly sharedPrefixTokens?: number;
  readonly ignoreEos: boolean;
  readonly arrival: 'poisson' | 'uniform';
  readonly maxInFlight: number;
  readonly targetTpotMs: number;
  readonly timeoutS: number;
  readonly seed: number;
  /** Where the results go: --out, a new or empty directory, else bench-results/<time>. */
  readonly outDir: string;
  readonly label?: string;
  readonly progress: ProgressMode;
}

/** Environment variable read for the key when neither key flag is given. */
export const API_KEY_ENV = 'GRAVITON_LLM_API_KEY';

/**
 * What each number flag allows. The upper bounds keep every value inside what
 * the code can honour: a per-request timeout becomes a timer, and Node runs a
 * timer longer than 2^31-1 ms (24.8 days) after 1 ms; clients and in-flight
 * requests are promises held at once; token counts become prompt text.
 */
export const BENCH_LIMITS = {
  concurrency: { min: 1, max: 1024, integer: true },
  rate: { min: 0, above: true, max: 1000, unit: 'requests per second' },
  levels: { min: 1, max: 32, integer: true },
  maxInFlight: { min: 1, max: 4096, integer: true },
  requests: { min: 1, max: 100_000, integer: true },
  durationS: { min: 1, max: 86_400, unit: 'seconds' },
  warmup: { min: 0, max: 1000, integer: true },
  timeoutS: { min: 1, max: 86_400, unit: 'seconds' },
  seed: { min: 0, max: 4_294_967_295, integer: true },
  targetTpotMs: { min: 1, max: 60_000, unit: 'milliseconds' },
} as const satisfies Record<string, NumberRange>;

/** SSM parameter names: letters, digits and _ . - / (what GetParameter accepts). */
export const SSM_PARAMETER_NAME = /^[A-Za-z0-9_.\/-]{1,2048}$/;
/** AWS region names, e.g. eu-west-1 or us-gov-west-1. */
export const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export const USAGE = `Usage: ${commandLine('bench')} --url URL [options]

Load-tests an OpenAI-compatible chat completions endpoint with streamed requests.

Target
  --url URL                  endpoint: https://host/v1, a bare host, or the full .../chat/completions URL
  --api-key-parameter NAME   read the key from this SSM SecureString (AWS credentials from the environment)
  --region REGION            region of that parameter (default: the AWS SDK's)
  --api-key-file FILE        read the key from this file (its first line, which must hold it)
                             neither: $${API_KEY_ENV}, else no Authorization header
  --model NAME               "model" field of each request (llama-server ignores it)

Load (one of)
  --concurrency LIST         closed-loop clients per level, e.g. 1,2,4,8,16 (default 1,2,4,8; each 1-1024, up to 32 levels)
  --rate LIST                open-loop requests per second per level, e.g. 0.5,1,2 (each above 0, at most 1000)
  --arrival poisson|uniform  spacing of --rate arrivals (default poisson)
  --max-in-flight N          --rate only: arrivals wait beyond N requests in flight (default 256; 1-4096)

Bounds
  --requests N               requests per level (default: 4 x concurrency, at least 8; 50 per --rate level; 1-100000)
  --duration SECONDS         stop issuing new requests at a level after this long (default 300; 1-86400)
  --warmup N                 requests sent one at a time before measuring, not counted (default 2; 0-1000)
  --timeout SECONDS          per request (default 600; 1-86400)

Workload
  --input-tokens N|MIN-MAX   prompt length in tokens, fixed or sampled uniformly (default 128; 1-${MAX_TOKENS})
  --output-tokens N|MIN-MAX  max_tokens, fixed or sampled (default 128; 1-${MAX_TOKENS})
  --prompt-file FILE         sample prompts from this file's non-empty lines instead
  --shared-prefix-tokens N   run every level twice: prompts of N + --input-tokens distinct words, then prompts
                             that all start with the same N-token prefix (a repeated system prompt) followed by
                             --input-tokens words of their own; reports time to first token of both (1-${MAX_TOKENS})
  --no-ignore-eos            do not send ignore_eos (outputs may then end early)
  --seed N                   seed for lengths, prompts and arrivals (default 1; 0-4294967295)

Report
  --target-tpot-ms MS        p90 time-per-output-token target (default 100; 1-60000)
  --out DIR                  where results.json, results.md and chart.html go: a new or empty directory
                             (default bench-results/<time>)
  --label TEXT               name of this run in the report
  --progress auto|bar|lines|off   bar on a terminal, plain lines otherwise (default auto)
  --help

Exit codes: 0 done, 1 the run failed (the endpoint unusable, the key parameter unreadable, or every request
failed), 2 bad flags (an unreadable --prompt-file, a key file without a key and an --out that is not a new or
empty directory included; nothing is sent or written).`;

export type ParseResult = { readonly options: BenchOptions } | { readonly errors: readonly string[] } | { readonly help: true };

/** A comma-separated list of values in the range, deduplicated and sorted; [] after recording why not. */
function numberList(flag: string, text: string, range: NumberRange, errors: string[]): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => !/^\d*\.?\d+$/.test(p)) || values.some((v) => !inRange(v, range))) {
    errors.push(`--${flag}: got "${text}"; expected a comma-separated list, each ${describeRange(range)}`);
    return [];
  }
  const unique = [...new Set(values)].sort((a, b) => a - b);
  if (!inRange(unique.length, BENCH_LIMITS.levels)) {
    errors.push(`--${flag}: got ${unique.length} levels; expected at most ${BENCH_LIMITS.levels.max}`);
    return [];
  }
  return unique;
}

export const BENCH_FLAGS = {
  url: { type: 'string' },
  'api-key-parameter': { type: 'string' },
  region: { type: 'string' },
  'api-key-file': { type: 'string' },
  model: { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  arrival: { type: 'string' },
  'max-in-flight': { type: 'string' },
  requests: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  timeout: { type: 'string' },
  'input-tokens': { type: 'string' },
  'output-tokens': { type: 'string' },
  'prompt-file': { type: 'string' },
  'shared-prefix-tokens': { type: 'string' },
  'no-ignore-eos': { type: 'boolean' },
  seed: { type: 'string' },
  'target-tpot-ms': { type: 'string' },
  out: { type: 'string' },
  label: { type: 'string' },
  progress: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The prompt file's non-empty lines, or undefined after recording why there are none. */
function promptLines(file: string, errors: string[]): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    errors.push(`--prompt-file: cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) errors.push(`--prompt-file: ${file} has no non-empty lines; expected one prompt per line`);
  return lines;
}

/** The default results directory: a new one per run. */
export function defaultBenchOutDir(now: Date = new Date()): string {
  return `bench-results/${now.toISOString().replace(/[:.]/g, '-')}`;
}

export function parseBenchArgs(argv: readonly string[], now: Date = new Date()): ParseResult {
  const { values: v, errors } = readFlags(argv, BENCH_FLAGS);
  if (v.help && errors.length === 0) return { help: true };

  let url = '';
  if (v.url === undefined) errors.push('--url: required (the endpoint, e.g. https://host/v1)');
  else {
    url = httpUrl('--url', v.url, errors);
  }

  let apiKey: BenchOptions['apiKey'] = { from: 'none' };
  if (v['api-key-parameter'] !== undefined && v['api-key-file'] !== undefined) {
    errors.push('--api-key-parameter and --api-key-file: give one, not both');
  } else if (v['api-key-parameter'] !== undefined) {
    if (!SSM_PARAMETER_NAME.test(v['api-key-parameter'])) {
      errors.push(`--api-key-parameter: got "${v['api-key-parameter']}"; expected an SSM parameter name (letters, digits, _ . - /)`);
    }
    if (v.region !== undefined && !REGION_NAME.test(v.region)) errors.push(`--region: got "${v.region}"; expected an AWS region name like eu-west-1`);
    apiKey = { from: 'parameter', name: v['api-key-parameter'], ...(v.region ? { region: v.region } : {}) };
  } else if (v['api-key-file'] !== undefined) {
    if (v['api-key-file'].trim() !== '') {
      const problem = apiKeyFileProblem(v['api-key-file']);
      if (problem) errors.push(problem);
    }
    apiKey = { from: 'file', path: v['api-key-file'] };
  } else if (process.env[API_KEY_ENV]) {
    apiKey = { from: 'env', variable: API_KEY_ENV };
  }
  if (v.region !== undefined && v['api-key-parameter'] === undefined) errors.push('--region: only used with --api-key-parameter');

  let levels: LoadLevel[] = [];
  if (v.concurrency !== undefined && v.rate !== undefined) {
    errors.push('--concurrency and --rate: give one, not both (closed-loop clients or an open-loop arrival rate)');
  } else if (v.rate !== undefined) {
    levels = numberList('rate', v.rate, BENCH_LIMITS.rate, errors).map((value) => ({ kind: 'rate', value }));
  } else {
    levels = numberList('concurrency', v.concurrency ?? '1,2,4,8', BENCH_LIMITS.concurrency, errors).map((value) => ({ kind: 'concurrency', value }));
  }

  const arrival = v.arrival ?? 'poisson';
  if (arrival !== 'poisson' && arrival !== 'uniform') errors.push(`--arrival: got "${arrival}"; expected poisson or uniform`);
  if (v.rate === undefined && (v.arrival !== undefined || v['max-in-flight'] !== undefined)) {
    errors.push(`--${v.arrival !== undefined ? 'arrival' : 'max-in-flight'}: only used with --rate`);
  }

  const length = (flag: string, text: string | undefined): LengthSpec => {
    const r = parseLength(text ?? '128', MAX_TOKENS);
    if (typeof r === 'string') {
      errors.push(`--${flag}: ${r}`);
      return { min: 1, max: 1 };
    }
    return r;
  };

  let sharedPrefixTokens: number | undefined;
  if (v['shared-prefix-tokens'] !== undefined) {
    sharedPrefixTokens = numberFlag('shared-prefix-tokens', v['shared-prefix-tokens'], 1, { min: 1, max: MAX_TOKENS, integer: true }, errors);
    if (v['prompt-file'] !== undefined) errors.push('--shared-prefix-tokens: not used with --prompt-file (its prompts are the file\'s); give one');
  }
  if (v['prompt-file'] !== undefined && v['input-tokens'] !== undefined) {
    errors.push('--input-tokens: not used with --prompt-file (the prompts come from the file); give one');
  }
  // An empty value is a variable that was not set, not a choice.
  for (const flag of ['api-key-file', 'prompt-file', 'out', 'model', 'label'] as const) {
    if (v[flag] !== undefined && v[flag].trim() === '') errors.push(`--${flag}: got ""; expected a value (or leave the flag out)`);
  }

  const progress = (v.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'bar', 'lines', 'off'].includes(progress)) errors.push(`--progress: got "${v.progress}"; expected auto, bar, lines or off`);

  const prompts = v['prompt-file']?.trim() ? promptLines(v['prompt-file'], errors) : undefined;
  const outDir = v.out?.trim() ? v.out : defaultBenchOutDir(now);
  if (v.out === undefined || v.out.trim() !== '') {
    const outProblem = unusableResultsDirectory(outDir);
    if (outProblem) {
      errors.push(`--out: ${v.out !== undefined ? `got "${outDir}"` : `the default ${outDir}`}; expected a new or empty directory for this run's results, and ${outDir} ${outProblem}`);
    }
  }

  const options: BenchOptions = {
    url,
    apiKey,
    ...(v.model ? { model: v.model } : {}),
    levels,
    ...(v.requests !== undefined ? { requests: numberFlag('requests', v.requests, 1, BENCH_LIMITS.requests, errors) } : {}),
    durationS: numberFlag('duration', v.duration, 300, BENCH_LIMITS.durationS, errors),
    warmup: numberFlag('warmup', v.warmup, 2, BENCH_LIMITS.warmup, errors),
    timeoutS: numberFlag('timeout', v.timeout, 600, BENCH_LIMITS.timeoutS, errors),
    inputTokens: length('input-tokens', v['input-tokens']),
    outputTokens: length('output-tokens', v['output-tokens']),
    ...(v['prompt-file'] ? { promptFile: v['prompt-file'] } : {}),
    ...(prompts ? { prompts } : {}),
    ...(sharedPrefixTokens !== undefined ? { sharedPrefixTokens } : {}),
    ignoreEos: !v['no-ignore-eos'],
    arrival: arrival as BenchOptions['arrival'],
    maxInFlight: numberFlag('max-in-flight', v['max-in-flight'], 256, BENCH_LIMITS.maxInFlight, errors),
    targetTpotMs: numberFlag('target-tpot-ms', v['target-tpot-ms'], 100, BENCH_LIMITS.targetTpotMs, errors),
    seed: numberFlag('seed', v.seed, 1, BENCH_LIMITS.seed, errors),
    outDir,
    ...(v.label ? { label: v.label } : {}),
    progress,
  };
  if (sharedPrefixTokens !== undefined && sharedPrefixTokens + options.inputTokens.max > MAX_TOKENS) {
    errors.push(`--shared-prefix-tokens: ${sharedPrefixTokens} + --input-tokens ${options.inputTokens.max} is more than ${MAX_TOKENS} tokens per prompt`);
  }
  return errors.length > 0 ? { errors } : { options };
}

/** Requests at one level: the flag, else enough for a few full waves of clients. */
export function requestsFor(level: LoadLevel, requests: number | undefined): number {
  if (requests !== undefined) return requests;
  return level.kind === 'concurrency' ? Math.max(8, 4 * level.value) : 50;
}
