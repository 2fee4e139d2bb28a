/**
 * The model's source on S3 (an s3:// GLLM_MODEL_SOURCE, aws mode): `aws s3
 * cp` with the instance's role, through the one AWS CLI runner (bounded,
 * naming its region, retried under the boot's time limit). The CLI writes the
 * object whole or not at all, so there is nothing to resume, and no token is read.
 */
import type { AwsCli } from './aws-cli';
import type { DownloadOutcome, DownloadRequest, ModelDownload } from '../ports';

/**
 * S3's final answers to a copy: the object is not there. Retrying cannot
 * make it appear (S3 reads are strongly consistent), so they are not
 * retried.
 */
const MISSING_OBJECT = ['404', 'NoSuchKey', 'NoSuchBucket'];

export interface S3DownloadOptions {
  /** GLLM_MODEL_SOURCE: s3://bucket/key. */
  readonly source: string;
  /** The AWS CLI runner, naming GLLM_REGION. */
  readonly cli: Pick<AwsCli, 'call'>;
  readonly log: (message: string) => void;
}

export class S3Download implements ModelDownload {
  readonly takesToken = false;
  readonly source: string;

  constructor(private readonly opts: S3DownloadOptions) {
    this.source = opts.source;
  }

  async download(dest: string, _request: DownloadRequest): Promise<DownloadOutcome> {
    const { source, cli, log } = this.opts;
    log(`downloading ${source} with aws s3 cp`);
    const outcome = await cli.call({
      what: `model download from ${source}`,
      args: ['s3', 'cp', '--only-show-errors', source, dest],
      refusals: MISSING_OBJECT,
    });
    if (outcome.kind === 'done') return { ok: true };
    log(`aws s3 cp: ${outcome.detail}`);
    return { ok: false, reason: `model download from ${source} failed` };
  }
}
