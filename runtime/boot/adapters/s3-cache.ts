/**
 * The aws-mode Cache: an S3 prefix (GLLM_CACHE_URI) in the kit's artifact
 * bucket, which keeps every version of an object, read and written as the
 * instance through the AWS CLI: objects and their versions listed, read and
 * written.
 * Which version is taken, and what is logged of it, is cache/policy.ts's.
 */
import { rename, rm, stat } from 'node:fs/promises';
import { type S3ObjectVersion, s3CacheVersions } from '../cache/versions';
import { recordedSha256FromS3 } from '../model/verify';
import type {
  Cache, CacheGetOutcome, CachePublisher, CachePublishOutcome, CachePutOutcome, CacheReadOutcome, CacheVersion, CacheVersionsOutcome, CacheWriteMode,
} from '../ports';
import { type AwsCli, s3Location } from './aws-cli';

/** S3 takes at most 5 GiB in one PUT; a larger object goes up in parts, which cannot be conditional. */
export const S3_PUT_MAX_BYTES = 5 * 1024 * 1024 * 1024;

/** S3's answers to a read of an object that is not there. */
const MISSING = ['404', 'NoSuchKey'];

export interface S3CacheOptions {
  readonly cli: AwsCli;
  /** The cache's root: s3://BUCKET/PREFIX (GLLM_CACHE_URI). */
  readonly uri: string;
  /** The boot's log. */
  readonly log: (message: string) => void;
}

export class S3Cache implements Cache, CachePublisher {
  readonly location: string;
  /** Whether this CLI can write only if absent; asked once. */
  private conditionalPut: Promise<boolean> | undefined;

  constructor(private readonly opts: S3CacheOptions) {
    this.location = opts.uri;
  }

  /**
   * `aws s3 cp` (parallel ranged reads: a model is gigabytes) into a
   * temporary name; a missing object is a miss, not retried.
   */
  async get(rel: string, dest: string): Promise<CacheGetOutcome> {
    const tmp = `${dest}.cache-get.${process.pid}`;
    const got = await this.opts.cli.call({
      what: `cache read of ${rel}`,
      args: ['s3', 'cp', '--only-show-errors', this.uri(rel), tmp],
      refusals: MISSING,
    });
    if (got.kind !== 'done') {
      await rm(tmp, { force: true });
      return got.kind === 'refused' ? { kind: 'miss' } : { kind: 'failed', detail: got.detail };
    }
    if (!(await isFile(tmp))) return { kind: 'miss' };
    await rename(tmp, dest);
    return { kind: 'hit' };
  }

  /**
   * Every version S3 lists under the object's key as a prefix (the CLI reads
   * every page), of which versions/s3CacheVersions keeps the object's own,
   * oldest first. The key is never written into a query.
   */
  async versions(rel: string): Promise<CacheVersionsOutcome> {
    const { bucket, key } = s3Location(this.uri(rel));
    const listed = await this.opts.cli.call({
      what: `cache listing of ${rel}`,
      args: ['s3api', 'list-object-versions', '--bucket', bucket, '--prefix', key, '--output', 'json'],
      refusals: [],
    });
    if (listed.kind !== 'done') return { ok: false, detail: listed.detail };
    let versions: readonly S3ObjectVersion[];
    try {
      const parsed = listed.stdout.trim() === '' ? {} : (JSON.parse(listed.stdout) as { Versions?: S3ObjectVersion[] });
      versions = parsed.Versions ?? [];
    } catch (e) {
      return { ok: false, detail: `the listing is not JSON: ${(e as Error).message}` };
    }
    return { ok: true, versions: s3CacheVersions(key, versions) };
  }

  /**
   * One version, by its id, into a temporary name, with the SHA-256 its
   * `sha256` metadata records (model/verify.ts reads it). A version that is
   * not there (deleted since it was listed) is S3's final answer.
   */
  async readVersion(rel: string, version: CacheVersion, dest: string): Promise<CacheReadOutcome> {
    const { bucket, key } = s3Location(this.uri(rel));
    const tmp = `${dest}.cache-read.${process.pid}`;
    const read = await this.opts.cli.call({
      what: `cache read of ${rel} version ${version.id}`,
      args: ['s3api', 'get-object', '--bucket', bucket, '--key', key, '--version-id', version.id, '--query', 'Metadata.sha256', '--output', 'text', tmp],
      refusals: [...MISSING, 'NoSuchVersion'],
    });
    if (read.kind !== 'done') {
      await rm(tmp, { force: true });
      return { ok: false, detail: read.detail };
    }
    await rename(tmp, dest);
    const sha256 = recordedSha256FromS3(read.stdout);
    return { ok: true, sha256: sha256 === '' ? undefined : sha256 };
  }

  /**
   * `if-absent`: one PUT that S3 refuses (412 PreconditionFailed) if the
   * object exists, where this CLI can ask for it and the file fits one PUT;
   * else, as `always`, `aws s3 cp` (an object appears whole or not at all,
   * multipart uploads included). The SHA-256 goes in the version's metadata.
   */
  async put(src: string, rel: string, mode: CacheWriteMode, sha256?: string): Promise<CachePutOutcome> {
    const uri = this.uri(rel);
    const meta = sha256 !== undefined && sha256 !== '' ? ['--metadata', `sha256=${sha256}`] : [];
    const what = `cache upload of ${rel}`;
    const size = await fileSize(src);
    if (size === undefined) return { kind: 'failed', detail: `no file ${src} to cache` };
    if (mode === 'if-absent' && size <= S3_PUT_MAX_BYTES && (await this.conditionalPutSupported())) {
      const { bucket, key } = s3Location(uri);
      const put = await this.opts.cli.call({
        what,
        args: ['s3api', 'put-object', '--bucket', bucket, '--key', key, '--body', src, '--if-none-match', '*', ...meta],
        refusals: ['PreconditionFailed', '412'],
      });
      if (put.kind === 'done') return { kind: 'written' };
      return put.kind === 'refused' ? { kind: 'kept-existing' } : { kind: 'failed', detail: put.detail };
    }
    const put = await this.opts.cli.call({ what, args: ['s3', 'cp', '--only-show-errors', ...meta, src, uri], refusals: [] });
    return put.kind === 'done' ? { kind: 'written' } : { kind: 'failed', detail: put.detail };
  }

  /**
   * A new version, and its id: what PutObject answers (`VersionId`) for a
   * file that fits one PUT; for a larger one (uploaded in parts by `aws s3
   * cp`, which prints no version), the current version's id right after,
   * which is this upload's where only the builder writes, and which the
   * SHA-256 pinned beside it checks where it is not.
   */
  async publish(src: string, rel: string, sha256: string): Promise<CachePublishOutcome> {
    const uri = this.uri(rel);
    const { bucket, key } = s3Location(uri);
    const what = `cache upload of ${rel}`;
    const size = await fileSize(src);
    if (size === undefined) return { ok: false, detail: `no file ${src} to cache` };
    const meta = ['--metadata', `sha256=${sha256}`];
    if (size <= S3_PUT_MAX_BYTES) {
      const put = await this.opts.cli.call({
        what, args: ['s3api', 'put-object', '--bucket', bucket, '--key', key, '--body', src, ...meta, '--query', 'VersionId', '--output', 'text'], refusals: [],
      });
      return put.kind === 'done' ? versionOf(put.stdout, rel) : { ok: false, detail: put.detail };
    }
    const put = await this.opts.cli.call({ what, args: ['s3', 'cp', '--only-show-errors', ...meta, src, uri], refusals: [] });
    if (put.kind !== 'done') return { ok: false, detail: put.detail };
    const head = await this.opts.cli.call({
      what: `version of ${rel}`, args: ['s3api', 'head-object', '--bucket', bucket, '--key', key, '--query', 'VersionId', '--output', 'text'], refusals: [],
    });
    return head.kind === 'done' ? versionOf(head.stdout, rel) : { ok: false, detail: head.detail };
  }

  /**
   * Whether this AWS CLI can send If-None-Match with a PUT (S3's conditional
   * writes, 2024; Debian 12's CLI 2.9.19, for one, cannot). Asked once, of the
   * CLI's own description of put-object, without a request.
   */
  conditionalPutSupported(): Promise<boolean> {
    this.conditionalPut ??= this.opts.cli.offline(['s3api', 'put-object', '--generate-cli-skeleton', 'input']).then((skeleton) => {
      const yes = skeleton !== undefined && skeleton.includes('"IfNoneMatch"');
      if (!yes) this.opts.log('this AWS CLI cannot write only if absent (no --if-none-match): cache objects are written unconditionally');
      return yes;
    });
    return this.conditionalPut;
  }

  private uri(rel: string): string {
    return `${this.opts.uri}/${rel}`;
  }
}

/** The version id the CLI printed (`--output text`); `None` or `null` where the bucket keeps no versions, which pins nothing. */
function versionOf(stdout: string, rel: string): CachePublishOutcome {
  const id = stdout.trim();
  if (id === '' || id === 'None' || id === 'null') return { ok: false, detail: `S3 gave no version id for ${rel}: the bucket does not keep versions` };
  return { ok: true, versionId: id };
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}
