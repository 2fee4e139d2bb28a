/**
 * The smoke command line: flags (or, for a pipeline step, environment
 * variables) to checked SmokeOptions, or one message per problem naming its
 * flag, what was given and what is allowed, as the bench's options do. The
 * files are checked here too, before any request: the key file holds a key,
 * and --json-out is a new file or an earlier verdict (which it replaces).
 */
import { commandLine } from '../../lib/command-line/commands';
import { httpUrl, numberFlag, readFlags, type NumberRange } from '../../lib/command-line/flags';
import { unusableResultsFile } from '../../lib/command-line/paths';
import { apiKeyFileProblem } from './api-key';
import { API_KEY_ENV, SSM_PARAMETER_NAME, type BenchOptions } from './options';

/** The `tool` field of every verdict --json-out writes: what marks a file as an earlier verdict. */
export const SMOKE_REPORT_TOOL = 'graviton-llm smoke';

/** Whether text is a verdict that --json-out wrote before (and may replace). */
export function isSmokeReport(text: string): boolean {
  try {
    return (JSON.parse(text) as { tool?: unknown }).tool === SMOKE_REPORT_TOOL;
  } catch {
    return false;
  }
}

/** Fallback for --url: a pipeline step can pass the stack's EndpointUrl output as is. */
export const ENDPOINT_URL_ENV = 'GLLM_ENDPOINT_URL';
/** Fallback for --api-key-parameter: the stack's ApiKeyParameterName output. */
export const API_KEY_PARAMETER_ENV = 'GLLM_API_KEY_PARAMETER';

export interface SmokeOptions {
  readonly url: string;
  readonly apiKey: BenchOptions['apiKey'];
  /** Fail when p90 time per output token is above this. */
  readonly targetTpotMs: number;
  /** Fail when p90 time to first token is above this; not checked when absent. */
  readonly targetTtftMs?: number;
  readonly requests: number;
  readonly concurrency: number;
  /** max_tokens of each request (sent with ignore_eos, so each returns this many). */
  readonly outputTokens: number;
  readonly timeoutS: number;
  readonly jsonOut?: string;
}

/** What each number flag allows; see BENCH_LIMITS for why every number has an upper bound. */
export const SMOKE_LIMITS = {
  targetTpotMs: { min: 0, above: true, max: 60_000, unit: 'milliseconds' },
  targetTtftMs: { min: 0, above: true, max: 600_000, unit: 'milliseconds' },
  requests: { min: 1, max: 1000, integer: true },
  concurrency: { min: 1, max: 64, integer: true },
  // One token has no time per output token; two is the least that measures it.
  outputTokens: { min: 2, max: 4096, integer: true },
  timeoutS: { min: 1, max: 3600, unit: 'seconds' },
} as const satisfies Record<string, NumberRange>;

export const SMOKE_FLAGS = {
  url: { type: 'string' },
  'api-key-parameter': { type: 'string' },
  'api-key-file': { type: 'string' },
  'target-tpot-ms': { type: 'string' },
  'target-ttft-ms': { type: 'string' },
  requests: { type: 'string' },
  concurrency: { type: 'string' },
  'output-tokens': { type: 'string' },
  'timeout-s': { type: 'string' },
  'json-out': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const SMOKE_USAGE = `Usage: ${commandLine('smoke')} --url URL [options]

Sends a few streamed chat completions and passes or fails the endpoint: exit 0 passed,
1 failed (a request failed, no tokens came back, a p90 latency is above its target, or the key parameter
could not be read), 2 bad flags (nothing is sent or written).

Target
  --url URL                  endpoint: https://host/v1, a bare host, or the full .../chat/completions URL
                             (default: $${ENDPOINT_URL_ENV})
  --api-key-parameter NAME   read the key from this SSM SecureString (region and credentials: the AWS SDK's)
                             (default: $${API_KEY_PARAMETER_ENV})
  --api-key-file FILE        read the key from this file (its first line, which must hold it)
                             neither: $${API_KEY_ENV}, else no Authorization header

Check
  --target-tpot-ms MS        fail above this p90 time per output token (default 100; above 0, at most 60000)
  --target-ttft-ms MS        fail above this p90 time to first token (default: not checked; above 0, at most 600000)
  --requests N               requests to send (default 4; 1-1000)
  --concurrency N            requests in flight at once (default 1; 1-64, at most --requests)
  --output-tokens N          max_tokens of each request (default 32; 2-4096)
  --timeout-s SECONDS        per request (default 60; 1-3600)
  --json-out FILE            also write the verdict and figures to FILE as JSON: a new file, or an earlier
                             verdict, which is replaced
  --help`;

export type SmokeParseResult = { readonly options: SmokeOptions } | { readonly errors: readonly string[] } | { readonly help: true };

export function parseSmokeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SmokeParseResult {
  const { values: v, errors } = readFlags(argv, SMOKE_FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  // An empty variable (an unset pipeline output) counts as not given.
  const fromEnv = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);

  let url = '';
  const urlText = v.url ?? fromEnv(ENDPOINT_URL_ENV);
  const urlFlag = v.url !== undefined ? '--url' : `--url (from $${ENDPOINT_URL_ENV})`;
  if (urlText === undefined) errors.push(`--url: required (the endpoint, e.g. https://host/v1), or set $${ENDPOINT_URL_ENV}`);
  else {
    url = httpUrl(urlFlag, urlText, errors);
  }

  // Flags win over the environment; a key file flag wins over a parameter from the environment.
  let apiKey: SmokeOptions['apiKey'] = { from: 'none' };
  const envParameter = fromEnv(API_KEY_PARAMETER_ENV);
  if (v['api-key-parameter'] !== undefined && v['api-key-file'] !== undefined) {
    errors.push('--api-key-parameter and --api-key-file: give one, not both');
  } else if (v['api-key-parameter'] !== undefined) {
    if (!SSM_PARAMETER_NAME.test(v['api-key-parameter'])) {
      errors.push(`--api-key-parameter: got "${v['api-key-parameter']}"; expected an SSM parameter name (letters, digits, _ . - /)`);
    }
    apiKey = { from: 'parameter', name: v['api-key-parameter'] };
  } else if (v['api-key-file'] !== undefined) {
    if (v['api-key-file'].trim() === '') errors.push('--api-key-file: got ""; expected a file path');
    else {
      const problem = apiKeyFileProblem(v['api-key-file']);
      if (problem) errors.push(problem);
    }
    apiKey = { from: 'file', path: v['api-key-file'] };
  } else if (envParameter !== undefined) {
    apiKey = { from: 'parameter', name: envParameter };
  } else if (env[API_KEY_ENV]?.trim()) {
    apiKey = { from: 'env', variable: API_KEY_ENV };
  }

  const targetTtftMs = v['target-ttft-ms'] === undefined ? undefined : numberFlag('target-ttft-ms', v['target-ttft-ms'], 0, SMOKE_LIMITS.targetTtftMs, errors);
  const requests = numberFlag('requests', v.requests, 4, SMOKE_LIMITS.requests, errors);
  const concurrency = numberFlag('concurrency', v.concurrency, 1, SMOKE_LIMITS.concurrency, errors);
  // More at once than there are requests would never be in flight: the check would not measure what was asked.
  if (concurrency > requests) errors.push(`--concurrency: got ${concurrency}; expected at most --requests (${requests})`);
  const options: SmokeOptions = {
    url,
    apiKey,
    targetTpotMs: numberFlag('target-tpot-ms', v['target-tpot-ms'], 100, SMOKE_LIMITS.targetTpotMs, errors),
    ...(targetTtftMs === undefined ? {} : { targetTtftMs }),
    requests,
    concurrency,
    outputTokens: numberFlag('output-tokens', v['output-tokens'], 32, SMOKE_LIMITS.outputTokens, errors),
    timeoutS: numberFlag('timeout-s', v['timeout-s'], 60, SMOKE_LIMITS.timeoutS, errors),
    ...(v['json-out'] ? { jsonOut: v['json-out'] } : {}),
  };
  if (v['json-out'] !== undefined && v['json-out'].trim() === '') errors.push('--json-out: got ""; expected a file path');
  else if (v['json-out'] !== undefined) {
    // Checked before the run: a gate that measures and then cannot write its verdict has wasted the run.
    const problem = unusableResultsFile(v['json-out'], isSmokeReport);
    if (problem) errors.push(`--json-out: got "${v['json-out']}"; expected a new file or an earlier verdict of smoke, and ${v['json-out']} ${problem}`);
  }
  return errors.length > 0 ? { errors } : { options };
}
