/**
 * One call to AWS through the AWS CLI (installed on Amazon Linux 2023; the
 * bundle carries no SDK).
 *
 * Every call names its region, runs under the boot's time limit (core/exec.ts)
 * with bounds on one request, and is retried (core/retry.ts) unless its
 * answer is final. What is final is told by the CLI's exit status and the
 * error code AWS answered with (the `An error occurred (CODE)` the CLI prints),
 * not by matching the message's words: a refusal is an error code the caller
 * names as AWS's final answer for that call (ValidationError, ParameterNotFound,
 * 404, PreconditionFailed ...).
 */
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { describeExit, type Exec, type ExecResult } from '../core/exec';
import { retry } from '../core/retry';

/** How long one request may take to connect (the CLI's default is 60). */
export const AWS_CONNECT_TIMEOUT_SECONDS = 10;
/** How long a connection may stay silent (the CLI's default is 60). */
export const AWS_READ_TIMEOUT_SECONDS = 30;

/**
 * The CLI's own retries: one retry of a
 * throttled or failed request inside the CLI; the boot's retry does the rest,
 * under the deadline. No pager: the CLI's output is read, not shown.
 */
export const AWS_CLI_ENV: Readonly<Record<string, string>> = { AWS_RETRY_MODE: 'standard', AWS_MAX_ATTEMPTS: '2', AWS_PAGER: '' };

/**
 * Exit statuses that say the command line itself was refused, before any
 * request: 2 (CLI v1's usage error; for an s3 transfer, a file skipped) and
 * 252 (CLI v2's). No retry changes the command line.
 */
const USAGE_EXITS: ReadonlySet<number> = new Set([2, 252]);

export interface AwsCliOptions {
  /** The AWS CLI: `aws` on PATH, or a path (tests stand one in). */
  readonly program: string;
  /** The region every call names (GLLM_REGION). */
  readonly region: string;
  readonly exec: Exec;
  readonly clock: Clock;
  /** In [0, 1), as Math.random: the retries' jitter. */
  readonly random: () => number;
  /** The time limit calls and their retries stop at: the boot's deadline, or while reporting, its grace. */
  readonly deadline: () => Deadline;
  /** The boot's log: retries and failures are told there. */
  readonly log: (message: string) => void;
}

export interface AwsCliCall {
  /** What the call does, for the log: "cache read of builds/KEY.tar.gz". */
  readonly what: string;
  /** The service, the operation and its parameters; the region and the request bounds are added. */
  readonly args: readonly string[];
  /** The error codes that are AWS's final answer to this call, returned at once as a refusal. */
  readonly refusals: readonly string[];
}

/**
 * Another program that speaks to AWS and is bounded and retried the same way
 * (cfn-signal). Its output names no error code in the CLI's form, so the call
 * says how to find one.
 */
export interface AwsProgramCall extends AwsCliCall {
  readonly program: string;
  /** The error code in the program's output (stdout and stderr), if it names one. */
  readonly errorCode: (output: string) => string | undefined;
}

export type AwsCliOutcome =
  /** Exit 0: what the call wrote to its standard output. */
  | { readonly kind: 'done'; readonly stdout: string }
  /** AWS's final answer, one of the call's refusals. */
  | { readonly kind: 'refused'; readonly code: string; readonly detail: string }
  /** Not done: after retries, or at once where no retry could help (no CLI, a command line it refused). */
  | { readonly kind: 'failed'; readonly detail: string };

/** How one try ended. */
export type AwsTry =
  | { readonly kind: 'done' }
  | { readonly kind: 'refused'; readonly code: string; readonly detail: string }
  /** No retry would change it, and it is not AWS's answer: the program did not start, or refused its command line. */
  | { readonly kind: 'broken'; readonly detail: string }
  | { readonly kind: 'transient'; readonly detail: string };

/** The error code the AWS CLI printed (`An error occurred (ValidationError) when calling ...`), if any. */
export function cliErrorCode(stderr: string): string | undefined {
  return /An error occurred \(([^)\s]+)\)/.exec(stderr)?.[1];
}

/** The last line of what a program wrote, for the log (a CLI error is one line; a traceback ends with its point). */
function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const line = lines[lines.length - 1] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/**
 * How one try of a call ended, from the program's exit and the error code it
 * names (`code`): refused where the code is one of `refusals`; broken where
 * the program did not start or its command line was refused; else transient
 * (throttling, a reset connection, access denied while a new instance role
 * applies, the request bounds, a stop at the time limit).
 */
export function classifyTry(r: ExecResult, code: string | undefined, refusals: readonly string[]): AwsTry {
  if (r.exitCode === 0) return { kind: 'done' };
  const said = lastLine(r.stderr) || lastLine(r.stdout);
  const detail = said === '' ? describeExit(r) : `${describeExit(r)}: ${said}`;
  if (r.startError !== undefined) return { kind: 'broken', detail };
  if (r.timedOut || r.exitCode === undefined) return { kind: 'transient', detail };
  if (code !== undefined && refusals.includes(code)) return { kind: 'refused', code, detail };
  if (code === undefined && USAGE_EXITS.has(r.exitCode)) return { kind: 'broken', detail };
  return { kind: 'transient', detail };
}

export class AwsCli {
  constructor(private readonly opts: AwsCliOptions) {}

  /** The region every call names. */
  get region(): string {
    return this.opts.region;
  }

  /** The argument vector of a CLI call: the request bounds, the call, its region. */
  argv(args: readonly string[]): string[] {
    return [
      '--cli-connect-timeout', String(AWS_CONNECT_TIMEOUT_SECONDS), '--cli-read-timeout', String(AWS_READ_TIMEOUT_SECONDS),
      ...args, '--region', this.opts.region,
    ];
  }

  /** Runs one AWS CLI call, retried until done, refused, broken, or out of tries or time. */
  call(call: AwsCliCall): Promise<AwsCliOutcome> {
    return this.run(call.what, this.opts.program, this.argv(call.args), call.refusals, (r) => cliErrorCode(r.stderr));
  }

  /** Runs another program that speaks to AWS (its arguments name the region themselves), as call runs the CLI. */
  callProgram(call: AwsProgramCall): Promise<AwsCliOutcome> {
    return this.run(call.what, call.program, [...call.args], call.refusals, (r) => call.errorCode(`${r.stdout}\n${r.stderr}`));
  }

  /**
   * Runs a CLI command that makes no request (--generate-cli-skeleton), once
   * and under the time limit: its standard output, or undefined where it
   * failed.
   */
  async offline(args: readonly string[]): Promise<string | undefined> {
    const { exec, deadline } = this.opts;
    const what = args.slice(0, 2).join(' ');
    const r = await exec.run({ step: what, program: this.opts.program, args: this.argv(args), env: AWS_CLI_ENV, limitMs: deadline().timeLimitMs() });
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  private async run(
    what: string, program: string, args: readonly string[], refusals: readonly string[], codeOf: (r: ExecResult) => string | undefined,
  ): Promise<AwsCliOutcome> {
    const { exec, clock, random, deadline, log } = this.opts;
    let stdout = '';
    let last: AwsTry | undefined;
    const out = await retry(what, async () => {
      const r = await exec.run({ step: what, program, args, env: AWS_CLI_ENV, limitMs: deadline().timeLimitMs() });
      last = classifyTry(r, codeOf(r), refusals);
      if (last.kind === 'done') {
        stdout = r.stdout;
        return { kind: 'done', value: undefined };
      }
      return { kind: last.kind === 'transient' ? 'transient' : 'final', detail: last.detail };
    }, { clock, random, limitMs: deadline().timeLimitMs(), log });
    if (out.ok) return { kind: 'done', stdout };
    if (last?.kind === 'refused') return last;
    if (last?.kind === 'broken') log(`${what} failed (${last.detail}); not retried: no retry would change it`);
    return { kind: 'failed', detail: out.detail };
  }
}

/** An s3:// URI's bucket and key: s3://bucket/a/b -> { bucket, key: 'a/b' }. */
export function s3Location(uri: string): { readonly bucket: string; readonly key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (m === null) throw new Error(`not an s3:// URI of an object: ${JSON.stringify(uri)}`);
  return { bucket: m[1], key: m[2] };
}
