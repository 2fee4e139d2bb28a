/**
 * Synthetic canary, invoked on a schedule inside the VPC: one short streamed
 * chat completion through the load balancer, published as one EMF record.
 *
 * Every outcome, including the canary's own misconfiguration, ends in a
 * published record and a normal return: a thrown error would surface as a
 * Lambda error metric instead and leave the endpoint's alarms without data.
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { type CanaryResult, canaryEmfRecord, emfLine, type FailureReason } from "./emf";
import { describe, probeOnce } from "./probe";

export type { CanaryResult } from "./emf";

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_MAX_TOKENS = 16;
// Short, deterministic at temperature 0, and long enough in any real model to
// fill the default 16 tokens, so TPOT is always measured on several gaps.
const DEFAULT_PROMPT = "Count from 1 to 30, separated by spaces.";
/** A DNS name: labels of letters, digits and hyphens, at least two of them. */
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

// Module scope so warm invocations reuse the connection pool and the key:
// a probe a minute should not cost an SSM (and KMS) call a minute.
const ssm = new SSMClient({});
let cachedKey: { readonly parameter: string; readonly value: string } | undefined;

/** Forgets the cached key, as a cold start would; for tests. */
export function resetApiKeyCache(): void {
  cachedKey = undefined;
}

interface CanaryConfig {
  readonly endpointUrl: string;
  /** The domain an internal HTTPS endpoint's certificate covers, when endpointUrl names the load balancer. */
  readonly tlsServerName?: string;
  readonly apiKeyParameter: string;
  readonly endpointName: string;
  readonly timeoutMs: number;
  readonly maxTokens: number;
  readonly prompt: string;
}

export async function handler(_event?: unknown): Promise<CanaryResult> {
  const timestamp = Date.now();
  // The record needs a dimension value even when the rest of the config is bad.
  const endpointName = process.env.ENDPOINT_NAME?.trim() || "unconfigured";
  let result: CanaryResult;
  let detail: string | undefined;
  let key: string | undefined;
  try {
    const config = readConfig(process.env);
    if (typeof config === "string") {
      result = { ok: false, reason: "config" };
      detail = config;
    } else {
      const run = await runProbe(config, (k) => (key = k));
      result = run.result;
      detail = run.detail;
    }
  } catch (err) {
    result = { ok: false, reason: "internal" };
    detail = describe(err);
  }

  if (!result.ok) {
    // Diagnostics only; the key never appears, even inside an echoed error body.
    const safe = key && detail ? detail.split(key).join("[redacted]") : detail;
    console.warn(JSON.stringify({ canary: "failed", endpoint: endpointName, reason: result.reason, detail: safe }));
  }
  try {
    process.stdout.write(emfLine(canaryEmfRecord(endpointName, result, timestamp)));
  } catch {
    // Nothing left to report to; the returned result still says what happened.
  }
  return result;
}

async function runProbe(
  config: CanaryConfig,
  usingKey: (key: string) => void,
): Promise<{ result: CanaryResult; detail?: string }> {
  const fail = (reason: FailureReason, detail: string) => ({ result: { ok: false as const, reason }, detail });
  // One deadline for the whole invocation (SSM, request, the 401 retry), so
  // the function's own timeout, set above TIMEOUT_MS, is never what ends it.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.timeoutMs);
  try {
    let key: string;
    try {
      key = await apiKey(config.apiKeyParameter, controller.signal, false);
    } catch (err) {
      return fail("ssm", `GetParameter ${config.apiKeyParameter}: ${describe(err)}`);
    }
    usingKey(key);
    const request = { endpointUrl: config.endpointUrl, tlsServerName: config.tlsServerName, maxTokens: config.maxTokens, prompt: config.prompt, signal: controller.signal };
    let outcome = await probeOnce({ ...request, apiKey: key });

    if (!outcome.ok && outcome.reason === "http_401") {
      // The key may have been rotated since it was cached: read it once more.
      let fresh: string;
      try {
        fresh = await apiKey(config.apiKeyParameter, controller.signal, true);
      } catch (err) {
        return fail("ssm", `GetParameter ${config.apiKeyParameter} after HTTP 401: ${describe(err)}`);
      }
      // The same key would only be refused again.
      if (fresh !== key) {
        usingKey(fresh);
        outcome = await probeOnce({ ...request, apiKey: fresh });
      }
    }

    if (!outcome.ok) return fail(outcome.reason, outcome.detail);
    const m = outcome.measurement;
    return {
      result: {
        ok: true,
        ttftMs: round(m.ttftMs),
        ...(m.tpotMs !== undefined ? { tpotMs: round(m.tpotMs) } : {}),
        totalMs: round(m.totalMs),
        outputTokens: m.outputTokens,
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

async function apiKey(parameter: string, signal: AbortSignal, refresh: boolean): Promise<string> {
  if (!refresh && cachedKey?.parameter === parameter) return cachedKey.value;
  const out = await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }), { abortSignal: signal });
  const value = out.Parameter?.Value;
  if (!value) throw new Error(`parameter ${parameter} has no value`);
  cachedKey = { parameter, value };
  return value;
}

/** The validated environment, or a description of what is wrong with it. */
function readConfig(env: NodeJS.ProcessEnv): CanaryConfig | string {
  const problems: string[] = [];
  const required = (name: string) => {
    const v = env[name]?.trim();
    if (!v) problems.push(`${name} is not set`);
    return v ?? "";
  };
  const positiveInt = (name: string, fallback: number, max: number) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      problems.push(`${name} must be an integer from 1 to ${max}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return n;
  };

  const endpointUrl = required("ENDPOINT_URL");
  if (endpointUrl && !/^https?:\/\//.test(endpointUrl)) problems.push(`ENDPOINT_URL must be an http(s) URL, got ${JSON.stringify(endpointUrl)}`);
  const tlsServerName = env.ENDPOINT_TLS_SERVER_NAME?.trim() || undefined;
  if (tlsServerName !== undefined) {
    if (!HOSTNAME.test(tlsServerName)) problems.push(`ENDPOINT_TLS_SERVER_NAME must be a DNS name like llm.internal.example, got ${JSON.stringify(tlsServerName)}`);
    if (endpointUrl && !endpointUrl.startsWith("https://")) problems.push(`ENDPOINT_TLS_SERVER_NAME needs an https:// ENDPOINT_URL, got ${JSON.stringify(endpointUrl)}`);
  }
  const config: CanaryConfig = {
    endpointUrl,
    ...(tlsServerName ? { tlsServerName } : {}),
    apiKeyParameter: required("API_KEY_PARAMETER"),
    endpointName: required("ENDPOINT_NAME"),
    timeoutMs: positiveInt("TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 15 * 60 * 1000),
    maxTokens: positiveInt("MAX_TOKENS", DEFAULT_MAX_TOKENS, 4096),
    prompt: env.PROMPT?.trim() || DEFAULT_PROMPT,
  };
  return problems.length > 0 ? problems.join("; ") : config;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
