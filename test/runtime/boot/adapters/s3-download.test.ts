import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { S3Download } from '../../../../runtime/boot/adapters/s3-download';
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
    'for last; do :; done',
    'printf "weights" >"$last"',
  ].join('\n'), { mode: 0o755 });
  return { program, calls: () => readFileSync(log, 'utf8').trimEnd().split('\n') };
}

function setup(failures: number) {
  const clock = new FakeClock();
  const aws = standInAws(`aws${failures}`, failures);
  const lines: string[] = [];
  const download = new S3Download({
    source: 's3://models-bucket/llama/model.gguf',
    region: 'eu-west-1',
    exec: new Exec({ clock }),
    clock,
    deadline: { timeLimitMs: () => clock.now() + 600_000 },
    random: () => 0.5,
    log: (m) => lines.push(m),
    aws: aws.program,
  });
  return { download, aws, lines, clock, dest: path.join(dir, `model-${failures}.gguf`) };
}

test('aws s3 cp fetches the object, bounded and naming its region; no token is taken', async () => {
  const { download, aws, lines, dest } = setup(0);
  expect(download.takesToken).toBe(false);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: true });
  expect(readFileSync(dest, 'utf8')).toBe('weights');
  expect(aws.calls()).toEqual([
    `--cli-connect-timeout 10 --cli-read-timeout 30 s3 cp --only-show-errors --region eu-west-1 s3://models-bucket/llama/model.gguf ${dest} max=2 mode=standard`,
  ]);
  expect(lines).toEqual(['downloading s3://models-bucket/llama/model.gguf with aws s3 cp']);
});

test('a failed copy is retried with the boot\'s backoff', async () => {
  const { download, aws, clock, dest } = setup(2);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: true });
  expect(aws.calls()).toHaveLength(3);
  expect(clock.sleeps).toEqual([750, 1500]);
});

test('a copy that fails every try fails with boot.sh\'s reason; the CLI\'s last words are logged', async () => {
  const { download, aws, lines, dest } = setup(99);
  await expect(download.download(dest, { expectedSizeBytes: 7 })).resolves.toEqual({ ok: false, reason: 'model download from s3://models-bucket/llama/model.gguf failed' });
  expect(aws.calls()).toHaveLength(RETRY_ATTEMPTS);
  expect(lines).toContain('aws s3 cp: download failed: Connection was closed');
});
