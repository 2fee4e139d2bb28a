/**
 * S3Cache's failures, with a stand-in `aws` (the successes and S3's own
 * answers run against moto in aws.moto.test.ts): what is returned and what is
 * left on disk when the CLI fails.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsCli } from '../../../../runtime/boot/adapters/aws-cli';
import { S3Cache } from '../../../../runtime/boot/adapters/s3-cache';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec } from '../../../../runtime/boot/core/exec';
import { FakeClock } from '../support/fake-clock';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-s3-cache-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An `aws` that records each call and runs `body` (it may write its last argument, the destination, first). */
function cacheWith(body: string) {
  const program = join(dir, 'aws');
  writeFileSync(program, `#!/bin/bash\necho "$*" >>${dir}/calls\n${body}\n`);
  chmodSync(program, 0o755);
  const clock = new FakeClock();
  const deadline = new Deadline(clock.now(), 600, clock);
  const lines: string[] = [];
  const cli = new AwsCli({ program, region: 'eu-west-1', exec: new Exec({ clock }), clock, random: () => 0.5, deadline: () => deadline, log: (m) => lines.push(m) });
  return { cache: new S3Cache({ cli, uri: 's3://bucket/cache', log: (m) => lines.push(m) }), lines };
}
const calls = () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
/** An empty directory for what a read leaves. */
const out = () => {
  const d = join(dir, 'out');
  mkdirSync(d, { recursive: true });
  return d;
};

test('a read that keeps failing is failed, not a miss, after the tries; a half-written download is removed', async () => {
  // Writes part of the destination ($9), then fails as a reset connection does.
  const { cache } = cacheWith('echo partial >"${@: -3:1}"; echo "Connection was closed before we received a valid response" >&2; exit 255');
  const d = out();
  const r = await cache.get('builds/k.tar.gz', join(d, 'k.tar.gz'));
  expect(r).toEqual({ kind: 'failed', detail: 'exit 255: Connection was closed before we received a valid response' });
  expect(calls()).toHaveLength(6);
  expect(readdirSync(d)).toEqual([]);
});

test('a version read that fails leaves neither the version nor its temporary name', async () => {
  const { cache } = cacheWith('echo partial >"${@: -3:1}"; exit 255');
  const d = out();
  const r = await cache.readVersion('builds/k.tar.gz', { id: 'v1', etag: 'e', size: 1 }, join(d, 'k.tar.gz'));
  expect(r.ok).toBe(false);
  expect(readdirSync(d)).toEqual([]);
});

test('a listing that is not JSON is a failed listing', async () => {
  const { cache } = cacheWith('echo "not json"');
  const r = await cache.versions('builds/k.tar.gz');
  expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/^the listing is not JSON/) });
});

test('a file that is not there is not uploaded', async () => {
  const { cache } = cacheWith('exit 0');
  await expect(cache.put(join(dir, 'none'), 'builds/k.tar.gz', 'always')).resolves.toEqual({ kind: 'failed', detail: `no file ${join(dir, 'none')} to cache` });
  expect(() => calls()).toThrow();
});

test('whether the CLI can write only if absent is asked once, without a request, however many writes', async () => {
  const { cache } = cacheWith('case "$*" in *--generate-cli-skeleton*) echo \'{"IfNoneMatch": ""}\' ;; esac; exit 0');
  writeFileSync(join(dir, 'src'), 'x');
  await cache.put(join(dir, 'src'), 'a', 'if-absent');
  await cache.put(join(dir, 'src'), 'b', 'if-absent');
  await cache.put(join(dir, 'src'), 'c', 'always', 'f'.repeat(64));
  expect(calls().map((c) => c.replace('--cli-connect-timeout 10 --cli-read-timeout 30 ', ''))).toEqual([
    's3api put-object --generate-cli-skeleton input --region eu-west-1',
    `s3api put-object --bucket bucket --key cache/a --body ${dir}/src --if-none-match * --region eu-west-1`,
    `s3api put-object --bucket bucket --key cache/b --body ${dir}/src --if-none-match * --region eu-west-1`,
    `s3 cp --only-show-errors --metadata sha256=${'f'.repeat(64)} ${dir}/src s3://bucket/cache/c --region eu-west-1`,
  ]);
});

test('a publish to a bucket that keeps no versions (S3 answers no VersionId) is a failure: it pins nothing', async () => {
  const { cache } = cacheWith('echo None');
  const src = join(dir, 'src');
  writeFileSync(src, 'bytes');
  await expect(cache.publish(src, 'builds/k.tar.gz', 'a'.repeat(64))).resolves.toEqual({ ok: false, detail: 'S3 gave no version id for builds/k.tar.gz: the bucket does not keep versions' });
  expect(calls()).toEqual([`--cli-connect-timeout 10 --cli-read-timeout 30 s3api put-object --bucket bucket --key cache/builds/k.tar.gz --body ${src} --metadata sha256=${'a'.repeat(64)} --query VersionId --output text --region eu-west-1`]);
});

test('a publish whose upload keeps failing is failed after the tries, and names no version', async () => {
  const { cache } = cacheWith('echo "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied" >&2; exit 254');
  const src = join(dir, 'src');
  writeFileSync(src, 'bytes');
  const r = await cache.publish(src, 'builds/k.tar.gz', 'a'.repeat(64));
  expect(r).toMatchObject({ ok: false, detail: expect.stringContaining('(AccessDenied)') });
  expect(calls()).toHaveLength(6);
});
