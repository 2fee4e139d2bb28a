/**
 * The bench command line: flags to a checked BenchOptions, or one message
 * per problem, each naming its flag, so a typo costs one glance rather than
 * a run against the wrong target.
 */
import { parseArgs } from 'node:util';

import { httpUrl, numberFlag } from './flag-values';
import type { LoadLevel } from './stats';
import { parseLength, type LengthSpec } from './workload';

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
  readonly ignoreEos: boolean;
  readonly arrival: 'poisson' | 'uniform';
  readonly maxInFlight: number;
  readonly targetTpotMs: number;
  readonly timeoutS: number;
  readonly seed: number;
  readonly outDir?: string;
  readonly label?: string;
  readonly progress: ProgressMode;
}

/** Environment variable read for the key when neither key flag is given. */
export const API_KEY_ENV = 'GRAVITON_LLM_API_KEY';

export const USAGE = `Usage: npm run bench -- --url URL [options]

Load-tests an OpenAI-compatible chat completions endpoint with streamed requests.

Target
  --url URL                  endpoint: https://host/v1, a bare host, or the full .../chat/completions URL
  --api-key-parameter NAME   read the key from this SSM SecureString (AWS credentials from the environment)
  --region REGION            region of that parameter (default: the AWS SDK's)
  --api-key-file FILE        read the key from this file (first line)
                             neither: $${API_KEY_ENV}, else no Authorization header
  --model NAME               "model" field of each request (llama-server ignores it)

Load (one of)
  --concurrency LIST         closed-loop clients per level, e.g. 1,2,4,8,16 (default 1,2,4,8)
  --rate LIST                open-loop requests per second per level, e.g. 0.5,1,2
  --arrival poisson|uniform  spacing of --rate arrivals (default poisson)
  --max-in-flight N          --rate only: arrivals wait beyond N requests in flight (default 256)

Bounds
  --requests N               requests per level (default: 4 x concurrency, at least 8; 50 per --rate level)
  --duration SECONDS         stop issuing new requests at a level after this long (default 300)
  --warmup N                 requests sent one at a time before measuring, not counted (default 2)
  --timeout SECONDS          per request (default 600)

Workload
  --input-tokens N|MIN-MAX   prompt length in tokens, fixed or sampled uniformly (default 128)
  --output-tokens N|MIN-MAX  max_tokens, fixed or sampled (default 128)
  --prompt-file FILE         sample prompts from this file's non-empty lines instead
  --no-ignore-eos            do not send ignore_eos (outputs may then end early)
  --seed N                   seed for lengths, prompts and arrivals (default 1)

Report
  --target-tpot-ms MS        p90 time-per-output-token target (default 100)
  --out DIR                  where results.json, results.md and chart.html go (default bench-results/<time>)
  --label TEXT               name of this run in the report
  --progress auto|bar|lines|off   bar on a terminal, plain lines otherwise (default auto)
  --help`;

export type ParseResult = { readonly options: BenchOptions } | { readonly errors: readonly string[] } | { readonly help: true };

function positiveList(flag: string, text: string, integer: boolean, errors: string[]): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))) {
    errors.push(`--${flag}: got "${text}"; expected a comma-separated list of ${integer ? 'whole numbers' : 'numbers'} above 0`);
    return [];
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

export function parseBenchArgs(argv: readonly string[]): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
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
        'no-ignore-eos': { type: 'boolean' },
        seed: { type: 'string' },
        'target-tpot-ms': { type: 'string' },
        out: { type: 'string' },
        label: { type: 'string' },
        progress: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs names the flag itself ("Unknown option '--cuncurrency'").
    return { errors: [(err as Error).message] };
  }
  const v = parsed.values;
  if (v.help) return { help: true };
  const errors: string[] = [];

  let url = '';
  if (v.url === undefined) errors.push('--url: required (the endpoint, e.g. https://host/v1)');
  else {
    url = httpUrl('--url', v.url, errors);
  }

  let apiKey: BenchOptions['apiKey'] = { from: 'none' };
  if (v['api-key-parameter'] !== undefined && v['api-key-file'] !== undefined) {
    errors.push('--api-key-parameter and --api-key-file: give one, not both');
  } else if (v['api-key-parameter'] !== undefined) {
    apiKey = { from: 'parameter', name: v['api-key-parameter'], ...(v.region ? { region: v.region } : {}) };
  } else if (v['api-key-file'] !== undefined) {
    apiKey = { from: 'file', path: v['api-key-file'] };
  } else if (process.env[API_KEY_ENV]) {
    apiKey = { from: 'env', variable: API_KEY_ENV };
  }
  if (v.region !== undefined && v['api-key-parameter'] === undefined) errors.push('--region: only used with --api-key-parameter');

  let levels: LoadLevel[] = [];
  if (v.concurrency !== undefined && v.rate !== undefined) {
    errors.push('--concurrency and --rate: give one, not both (closed-loop clients or an open-loop arrival rate)');
  } else if (v.rate !== undefined) {
    levels = positiveList('rate', v.rate, false, errors).map((value) => ({ kind: 'rate', value }));
  } else {
    levels = positiveList('concurrency', v.concurrency ?? '1,2,4,8', true, errors).map((value) => ({ kind: 'concurrency', value }));
  }

  const arrival = v.arrival ?? 'poisson';
  if (arrival !== 'poisson' && arrival !== 'uniform') errors.push(`--arrival: got "${arrival}"; expected poisson or uniform`);
  if (v.rate === undefined && (v.arrival !== undefined || v['max-in-flight'] !== undefined)) {
    errors.push(`--${v.arrival !== undefined ? 'arrival' : 'max-in-flight'}: only used with --rate`);
  }

  const length = (flag: string, text: string | undefined): LengthSpec => {
    const r = parseLength(text ?? '128');
    if (typeof r === 'string') {
      errors.push(`--${flag}: ${r}`);
      return { min: 1, max: 1 };
    }
    return r;
  };

  const progress = (v.progress ?? 'auto') as ProgressMode;
  if (!['auto', 'bar', 'lines', 'off'].includes(progress)) errors.push(`--progress: got "${v.progress}"; expected auto, bar, lines or off`);

  const options: BenchOptions = {
    url,
    apiKey,
    ...(v.model ? { model: v.model } : {}),
    levels,
    ...(v.requests !== undefined ? { requests: numberFlag('requests', v.requests, 1, { min: 1, integer: true }, errors) } : {}),
    durationS: numberFlag('duration', v.duration, 300, { min: 1 }, errors),
    warmup: numberFlag('warmup', v.warmup, 2, { min: 0, integer: true }, errors),
    timeoutS: numberFlag('timeout', v.timeout, 600, { min: 1 }, errors),
    inputTokens: length('input-tokens', v['input-tokens']),
    outputTokens: length('output-tokens', v['output-tokens']),
    ...(v['prompt-file'] ? { promptFile: v['prompt-file'] } : {}),
    ignoreEos: !v['no-ignore-eos'],
    arrival: arrival as BenchOptions['arrival'],
    maxInFlight: numberFlag('max-in-flight', v['max-in-flight'], 256, { min: 1, integer: true }, errors),
    targetTpotMs: numberFlag('target-tpot-ms', v['target-tpot-ms'], 100, { min: 1 }, errors),
    seed: numberFlag('seed', v.seed, 1, { min: 0, integer: true }, errors),
    ...(v.out ? { outDir: v.out } : {}),
    ...(v.label ? { label: v.label } : {}),
    progress,
  };
  return errors.length > 0 ? { errors } : { options };
}

/** Requests at one level: the flag, else enough for a few full waves of clients. */
export function requestsFor(level: LoadLevel, requests: number | undefined): number {
  if (requests !== undefined) return requests;
  return level.kind === 'concurrency' ? Math.max(8, 4 * level.value) : 50;
}
