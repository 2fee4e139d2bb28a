/**
 * The model's source on S3 (an s3:// GLLM_MODEL_SOURCE, aws mode): `aws s3
 * cp` with the instance's role, retried under the boot's time limit. A port
 * of boot.sh's s3:// branch of download_model. The CLI writes the object
 * whole or not at all, so there is nothing to resume, and no token is read.
 */
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { describeExit, type Exec, type ExecResult, succeeded } from '../core/exec';
import { retry } from '../core/retry';
import type { DownloadOutcome, DownloadRequest, ModelDownload } from '../ports';

/** boot.sh's aws_cli bounds: a stalled attempt must not run for minutes (the CLI's defaults are 60 s each). */
const AWS_CLI_BOUNDS = ['--cli-connect-timeout', '10', '--cli-read-timeout', '30'];
/** One retry inside the CLI; the boot's retry does the rest, under the deadline (boot.sh's main exports these). */
const AWS_CLI_ENV = { AWS_RETRY_MODE: 'standard', AWS_MAX_ATTEMPTS: '2' };

export interface S3DownloadOptions {
  /** GLLM_MODEL_SOURCE: s3://bucket/key. */
  readonly source: string;
  /** GLLM_REGION: every AWS call names its region. */
  readonly region: string;
  readonly exec: Pick<Exec, 'run'>;
  readonly clock: Clock;
  readonly deadline: Pick<Deadline, 'timeLimitMs'>;
  /** In [0, 1), as Math.random: the retry's jitter. */
  readonly random: () => number;
  readonly log: (message: string) => void;
  /** The step the CLI runs for. @default 'model' */
  readonly step?: string;
  /** The AWS CLI. @default 'aws' */
  readonly aws?: string;
}

export class S3Download implements ModelDownload {
  readonly takesToken = false;
  readonly source: string;

  constructor(private readonly opts: S3DownloadOptions) {
    this.source = opts.source;
  }

  async download(dest: string, _request: DownloadRequest): Promise<DownloadOutcome> {
    const { source, region, log } = this.opts;
    log(`downloading ${source} with aws s3 cp`);
    let last: ExecResult | undefined;
    const outcome = await retry(
      `model download from ${source}`,
      async () => {
        last = await this.opts.exec.run({
          step: this.opts.step ?? 'model',
          program: this.opts.aws ?? 'aws',
          args: [...AWS_CLI_BOUNDS, 's3', 'cp', '--only-show-errors', '--region', region, source, dest],
          env: AWS_CLI_ENV,
          limitMs: this.opts.deadline.timeLimitMs(),
        });
        if (succeeded(last)) return { kind: 'done', value: undefined };
        return { kind: 'transient', detail: describeExit(last) };
      },
      { clock: this.opts.clock, random: this.opts.random, limitMs: this.opts.deadline.timeLimitMs(), log },
    );
    if (outcome.ok) return { ok: true };
    const said = last?.stderr.trim().split('\n').pop();
    if (said) log(`aws s3 cp: ${said}`);
    return { ok: false, reason: `model download from ${source} failed` };
  }
}
