/**
 * The pipeline's post-deploy smoke test, run as a Lambda function in the
 * environment's own VPC so that it reaches an internal load balancer: reads
 * the API key, sends REQUESTS streamed chat completions one at a time through
 * the canary's probe, and returns the verdict. The pipeline's step invokes it
 * and fails the stage unless the returned `passed` is true.
 *
 * Every outcome, misconfiguration included, is a returned verdict, so the
 * pipeline's log says why; an uncaught error (a Lambda function error) fails
 * the step as well.
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describe, type ProbeOutcome, probeOnce } from "../canary/probe";
import { failedBeforeRequests, judgeProbes, type SmokeVerdict } from "./verdict";

export type { SmokeVerdict } from "./verdict";

/** What the function returns: the verdict, and what it was measured against. */
export type SmokeTestResult = SmokeVerdict & { readonly endpoint: string };

const DEFAULT_REQUESTS = 4;
const DEFAULT_MAX_TOKENS = 32;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
// Long enough in any real model to fill 32 tokens, deterministic at temperature 0.
const DEFAULT_PROMPT = "Count from 1 to 30, separated by spaces.";
/** Time kept back from the function's own timeout to return a verdict instead of being killed. */
const RETURN_MARGIN_MS = 5_000;

const ssm = new SSMClient({});

/** The part of Lambda's context this handler reads. */
export interface SmokeTestContext {
  getRemainingTimeInMillis(): number;
}

interface SmokeConfig {
  readonly endpointUrl: string;
  /** As the canary's: the certificate's name, when endpointUrl is the load balancer's own address. */
  readonly tlsServerName?: string;
  readonly apiKeyParameter: string;
  readonly requests: number;
  readonly targetTpotMs: number;
  readonly maxTokens: number;
  readonly requestTimeoutMs: number;
  readonly prompt: string;
}

export async function handler(_event?: unknown, context?: SmokeTestContext): Promise<SmokeTestResult> {
  // Everything that follows is bounded by one deadline, short of the function's timeout.
  const deadline = context ? Date.now() + context.getRemainingTimeInMillis() - RETURN_MARGIN_MS : Number.POSITIVE_INFINITY;
  const endpoint = process.env.ENDPOINT_URL?.trim() ?? "";
  let verdict: SmokeVerdict;
  let key: string | undefined;
  try {
    const config = readConfig(process.env);
    if (typeof config === "string") {
      verdict = failedBeforeRequests(`the smoke-test function is misconfigured: ${config}`, Number(process.env.TARGET_TPOT_MS) || 0);
    } else {
      verdict = await run(config, deadline, (k) => (key = k));
    }
  } catch (err) {
    verdict = failedBeforeRequests(`the smoke test itself failed: ${describe(err)}`, Number(process.env.TARGET_TPOT_MS) || 0);
  }
  // The key never leaves the function, even inside an echoed error body.
  const result: SmokeTestResult = { ...redact(verdict, key), endpoint };
  console.log(JSON.stringify({ smokeTest: result.passed ? "passed" : "failed", ...result }));
  return result;
}

async function run(config: SmokeConfig, deadline: number, usingKey: (key: string) => void): Promise<SmokeVerdict> {
  let key: string;
  try {
    key = await readKey(config.apiKeyParameter, deadline);
  } catch (err) {
    return failedBeforeRequests(`could not read the API key ${config.apiKeyParameter}: ${describe(err)}`, config.targetTpotMs);
  }
  usingKey(key);
  const outcomes: ProbeOutcome[] = [];
  for (let i = 0; i < config.requests; i++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      outcomes.push({ ok: false, reason: "timeout", detail: "not sent: the function's deadline was reached" });
      continue;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.min(config.requestTimeoutMs, left));
    try {
      outcomes.push(await probeOnce({ endpointUrl: config.endpointUrl, tlsServerName: config.tlsServerName, apiKey: key, maxTokens: config.maxTokens, prompt: config.prompt, signal: controller.signal }));
    } finally {
      clearTimeout(timer);
    }
  }
  return judgeProbes(outcomes, config.targetTpotMs);
}

async function readKey(parameter: string, deadline: number): Promise<string> {
  const signal = Number.isFinite(deadline) ? AbortSignal.timeout(Math.max(1, deadline - Date.now())) : undefined;
  const out = await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }), { abortSignal: signal });
  const value = out.Parameter?.Value;
  if (!value) throw new Error(`parameter ${parameter} has no value`);
  return value;
}

function redact(verdict: SmokeVerdict, key: string | undefined): SmokeVerdict {
  if (!key) return verdict;
  return JSON.parse(JSON.stringify(verdict).split(key).join("[redacted]")) as SmokeVerdict;
}

/** The validated environment, or a description of what is wrong with it. */
function readConfig(env: NodeJS.ProcessEnv): SmokeConfig | string {
  const problems: string[] = [];
  const required = (name: string) => {
    const v = env[name]?.trim();
    if (!v) problems.push(`${name} is not set`);
    return v ?? "";
  };
  const positiveInt = (name: string, fallback: number | undefined, max: number) => {
    const raw = env[name]?.trim();
    if (!raw) {
      if (fallback === undefined) problems.push(`${name} is not set`);
      return fallback ?? 0;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      problems.push(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
      return fallback ?? 0;
    }
    return n;
  };

  const endpointUrl = required("ENDPOINT_URL");
  if (endpointUrl && !/^https?:\/\//.test(endpointUrl)) problems.push(`ENDPOINT_URL must be an http(s) URL, got ${JSON.stringify(endpointUrl)}`);
  const tlsServerName = env.ENDPOINT_TLS_SERVER_NAME?.trim() || undefined;
  if (tlsServerName !== undefined && endpointUrl && !endpointUrl.startsWith("https://")) {
    problems.push(`ENDPOINT_TLS_SERVER_NAME needs an https:// ENDPOINT_URL, got ${JSON.stringify(endpointUrl)}`);
  }
  const config: SmokeConfig = {
    endpointUrl,
    ...(tlsServerName ? { tlsServerName } : {}),
    apiKeyParameter: required("API_KEY_PARAMETER"),
    requests: positiveInt("REQUESTS", DEFAULT_REQUESTS, 50),
    targetTpotMs: positiveInt("TARGET_TPOT_MS", undefined, 10_000),
    maxTokens: positiveInt("MAX_TOKENS", DEFAULT_MAX_TOKENS, 4096),
    requestTimeoutMs: positiveInt("REQUEST_TIMEOUT_MS", DEFAULT_REQUEST_TIMEOUT_MS, 15 * 60 * 1000),
    prompt: env.PROMPT?.trim() || DEFAULT_PROMPT,
  };
  return problems.length > 0 ? problems.join("; ") : config;
}
