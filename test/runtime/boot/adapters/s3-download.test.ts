import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AwsCli } from '../../../../runtime/boot/adapters/aws-cli';
import { S3Download } from '../../../../runtime/boot/adapters/s3-download';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec } from '../../../../runtime/boot/core/exec';
import { RETRY_ATTEMPTS } from '../../../../runtime/boot/core/retry';
import { FakeClock } from '../support/fake-clock';

const dir = mkdtempSync(path.join(tmpdir(), 'gllm-s3-download-'));

/**
 * A stand-in AWS CLI: records its arguments and environment bounds, fails
 * its first `failures` calls, then writes the object to its destination
 * (the last argument) as `aws s3 cp` does.
 */
function standInAws(name: string, failures: number): { program: string; calls: () => string[] } {
  const log = path.join(dir, `${name}.calls`);
  const count = path.join(dir, `${name}.count`);
  writeFileSync(count, '0');
  const program = path.join(dir, `${name}-aws`);
  writeFileSync(program, [
    '#!/bin/sh',
    `echo "$* max=$AWS_MAX_ATTEMPTS mode=$AWS_RETRY_MODE" >>${log}`,
    `n=$(cat ${count}); echo $((n + 1)) >${count}`,
    `if [ "$n" -lt ${failures} ]; then echo 'download failed: Connection was closed' >&2; exit 1; fi`,
    // The destination is the argument before --region (the CLI runner names the region last).
    'dest=; prev=; for a; do [ "$a" = --region ] && dest=$prev; prev=$a; done',
    'printf "weights" >"$dest"',
  ].join('\n'), { mode: 0o755 });
  return { program, calls: () => readFileSync(log, 'utf8').trimEnd().split('\n') };
}

function setup(failures: number) {
  const clock = new FakeClock();
  const aws = standInAws(`aws${failures}`, failures);
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  const cli = new AwsCli({
    program: aws.program, region: 'eu-west-1', exec: new Exec({ clock }), clock, random: () => 0.5, log,
    deadline: () => ({ timeLimitMs: () => clock.now() + 600_000 }) as Deadline,
  });
  const download = new S3Download({ source: 's3://models-bucket/llama/model.gguf', cli, log });
  return { download, aws, lines, clock, dest: path.join(dir, `model-${failures}.gguf`) };
}

test('aws s3 cp fetches the object, bounded and naming its region; no token is taken', async () => {
  const { download, aws, lines, dest } = setup(0);
  expect(download.takesToken).toBe(false);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: true });
  expect(readFileSync(dest, 'utf8')).toBe('weights');
  expect(aws.calls()).toEqual([
    `--cli-connect-timeout 10 --cli-read-timeout 30 s3 cp --only-show-errors s3://models-bucket/llama/model.gguf ${dest} --region eu-west-1 max=2 mode=standard`,
  ]);
  expect(lines).toEqual(['downloading s3://models-bucket/llama/model.gguf with aws s3 cp']);
});

test('a failed copy is retried with the boot\'s backoff', async () => {
  const { download, aws, clock, dest } = setup(2);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: true });
  expect(aws.calls()).toHaveLength(3);
  expect(clock.sleeps).toEqual([750, 1500]);
});

test('a copy that fails every try fails, naming the object; the CLI\'s last words are logged', async () => {
  const { download, aws, lines, dest } = setup(99);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: false, reason: 'model download from s3://models-bucket/llama/model.gguf failed' });
  expect(aws.calls()).toHaveLength(RETRY_ATTEMPTS);
  expect(lines.some((l) => l.startsWith('aws s3 cp: ') && l.endsWith('download failed: Connection was closed'))).toBe(true);
});

test('a missing object is S3\'s final answer: one try, no backoff', async () => {
  const clock = new FakeClock();
  const program = path.join(dir, 'missing-aws');
  const calls = path.join(dir, 'missing.calls');
  writeFileSync(program, [
    '#!/bin/sh',
    `echo "$*" >>${calls}`,
    'echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \\"llama/model.gguf\\" does not exist" >&2',
    'exit 1',
  ].join('\n'), { mode: 0o755 });
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  const cli = new AwsCli({
    program, region: 'eu-west-1', exec: new Exec({ clock }), clock, random: () => 0.5, log,
    deadline: () => ({ timeLimitMs: () => clock.now() + 600_000 }) as Deadline,
  });
  const download = new S3Download({ source: 's3://models-bucket/llama/model.gguf', cli, log });
  await expect(download.download(path.join(dir, 'missing.gguf'), { expectedSizeBytes: 7 }))
    .resolves.toEqual({ ok: false, reason: 'model download from s3://models-bucket/llama/model.gguf failed' });
  expect(readFileSync(calls, 'utf8').trimEnd().split('\n')).toHaveLength(1);
  expect(clock.sleeps).toEqual([]);
  expect(lines.some((l) => l.includes('(404)'))).toBe(true);
});
