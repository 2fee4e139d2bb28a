/**
 * The builder's Reporter: it belongs to no Auto Scaling group and no
 * creation policy waits on it, so it completes no lifecycle action and
 * counts no fleet failure; its one report is the wait condition signal, an
 * HTTP PUT of the signal JSON (Status, Reason, UniqueId, Data) to the
 * handle's presigned URL, with the builder's report (pins.ts) as Data on
 * success. The template then carries that Data to the fleet
 * (docs/design/trusted-builder.md).
 *
 * Retried like every call to AWS (core/retry.ts) under the reporting grace;
 * S3's 4xx answers (an expired or altered URL) are final.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { type Attempt, retry } from '../core/retry';
import { type Pins, pinsData } from '../pins';
import type { LifecycleOutcome, Platform, ReportOutcome, Reporter } from '../ports';
import { SIGNAL_REASON_MAX_CHARS } from './aws-reporter';

/** How long one PUT may take, connection and answer together. */
export const SIGNAL_REQUEST_TIMEOUT_MS = 30_000;

/** The reason a builder that published its build and model signals with. */
export const BUILDER_SUCCESS_REASON = 'build and model published';

export interface WaitConditionReporterOptions {
  /** The handle's presigned URL (read from GLLM_BUILDER_SIGNAL_FILE). */
  readonly url: string;
  /** The signal's UniqueId: the instance's id, so a repeated signal replaces its own and adds no second. */
  readonly platform: Pick<Platform, 'instanceId'>;
  /** The builder's report, once its phases made it; undefined before (a failed builder). */
  readonly pins: () => Pins | undefined;
  readonly clock: Clock;
  /** In [0, 1), as Math.random: the retries' jitter. */
  readonly random: () => number;
  /** The time limit the tries stop at: the reporting grace, while reporting. */
  readonly deadline: () => Deadline;
  readonly log: (message: string) => void;
}

/** The signal's body, as the wait condition reads it. */
export interface WaitConditionSignal {
  readonly Status: 'SUCCESS' | 'FAILURE';
  readonly Reason: string;
  readonly UniqueId: string;
  readonly Data: string;
}

export class WaitConditionReporter implements Reporter {
  constructor(private readonly opts: WaitConditionReporterOptions) {}

  async completeLifecycleAction(): Promise<LifecycleOutcome> {
    return { kind: 'skipped' };
  }

  async countFailure(): Promise<ReportOutcome> {
    return { kind: 'skipped' };
  }

  async signal(status: 'SUCCESS' | 'FAILURE', reason: string): Promise<ReportOutcome> {
    const { opts } = this;
    const id = await opts.platform.instanceId();
    // Without the instance's id, a fixed one: the wait condition takes one signal either way.
    const uniqueId = id.ok ? id.instanceId : 'builder';
    const pins = opts.pins();
    if (status === 'SUCCESS' && pins === undefined) return { kind: 'failed', detail: 'a builder that succeeded has no report to send (a bug)' };
    const body: WaitConditionSignal = {
      Status: status,
      Reason: Array.from(status === 'SUCCESS' ? BUILDER_SUCCESS_REASON : reason).slice(0, SIGNAL_REASON_MAX_CHARS).join(''),
      UniqueId: uniqueId,
      Data: status === 'SUCCESS' && pins !== undefined ? pinsData(pins) : '',
    };
    const text = JSON.stringify(body);
    const out = await retry(`wait condition signal ${status}`, () => putOnce(opts.url, text), {
      clock: opts.clock, random: opts.random, limitMs: opts.deadline().timeLimitMs(), log: opts.log,
    });
    if (out.ok) return { kind: 'done' };
    return out.ended === 'final' ? { kind: 'refused', detail: out.detail } : { kind: 'failed', detail: out.detail };
  }
}

/** The URL without its query (the signature), for log lines and reasons. */
function withoutQuery(url: string): string {
  return url.replace(/\?.*$/s, '');
}

/** One PUT: done on 2xx; a 4xx is S3's final answer (expired, signature, no such handle); anything else may pass. */
function putOnce(url: string, body: string): Promise<Attempt<void>> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ kind: 'final', detail: `not a URL: ${withoutQuery(url)}` });
      return;
    }
    const request = parsed.protocol === 'http:' ? httpRequest : httpsRequest;
    // No Content-Type: the presigned URL signs none, and S3 would refuse one that differs.
    const req = request(parsed, { method: 'PUT', headers: { 'Content-Length': Buffer.byteLength(body) }, timeout: SIGNAL_REQUEST_TIMEOUT_MS }, (res) => {
      let answer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { if (answer.length < 2000) answer += chunk; });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const code = /<Code>([^<]+)<\/Code>/.exec(answer)?.[1];
        const detail = `HTTP ${status}${code !== undefined ? ` (${code})` : ''} from ${withoutQuery(url)}`;
        if (status >= 200 && status < 300) resolve({ kind: 'done', value: undefined });
        else resolve({ kind: status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'final' : 'transient', detail });
      });
      res.on('error', (e) => resolve({ kind: 'transient', detail: `${e.message} from ${withoutQuery(url)}` }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${SIGNAL_REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', (e) => resolve({ kind: 'transient', detail: `${e.message} from ${withoutQuery(url)}` }));
    req.end(body);
  });
}
