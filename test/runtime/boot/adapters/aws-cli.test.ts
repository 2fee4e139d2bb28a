/**
 * AwsCli runs a program: these tests stand in an `aws` script that records its
 * arguments and environment and answers as a test tells it (AWS CLI error
 * lines and exit statuses as the CLI writes them), on a fake clock, so retries
 * wait for nothing. classifyTry, the decision, is also tested as a table.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsCli, classifyTry, cliErrorCode, s3Location } from '../../../../runtime/boot/adapters/aws-cli';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec, type ExecResult } from '../../../../runtime/boot/core/exec';
import { FakeClock } from '../support/fake-clock';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-aws-cli-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An `aws` that records each call ("ARGS | AWS_MAX_ATTEMPTS AWS_RETRY_MODE")
 * and answers the Nth call with line N of the script `answers` (shell: what
 * it prints and its exit), or the last line after that.
 */
function standIn(answers: readonly string[]): string {
  const program = join(dir, 'aws');
  answers.forEach((a, i) => writeFileSync(join(dir, `answer.${i + 1}`), `${a}\n`));
  writeFileSync(program, [
    '#!/bin/bash',
    `d=${dir}`,
    'echo "$* | $AWS_MAX_ATTEMPTS $AWS_RETRY_MODE" >>"$d/calls"',
    'n=$(wc -l <"$d/calls")',
    `f="$d/answer.$n"; [[ -f $f ]] || f="$d/answer.${answers.length}"`,
    'source "$f"',
    '',
  ].join('\n'));
  chmodSync(program, 0o755);
  return program;
}
const calls = () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');

function cli(program: string, opts: { clock?: FakeClock; deadlineS?: number } = {}) {
  const clock = opts.clock ?? new FakeClock();
  const deadline = new Deadline(clock.now(), opts.deadlineS ?? 600, clock);
  const lines: string[] = [];
  const c = new AwsCli({
    program, region: 'eu-west-1', exec: new Exec({ clock, killGraceMs: 300 }), clock, random: () => 0.5, deadline: () => deadline,
    log: (m) => lines.push(m),
  });
  return { c, lines, clock };
}

const VALIDATION = `echo 'An error occurred (ValidationError) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found with instance ID i-0stub' >&2; exit 254`;
const THROTTLED = `echo 'An error occurred (Throttling) when calling the CompleteLifecycleAction operation (reached max retries: 1): Rate exceeded' >&2; exit 254`;
const call = { what: 'complete-lifecycle-action launch CONTINUE', args: ['autoscaling', 'complete-lifecycle-action', '--lifecycle-hook-name', 'launch'], refusals: ['ValidationError'] };

describe('a call', () => {
  test('names its region and the bounds of one request, and runs with the CLI\'s own retries set (standard mode, 2 attempts)', async () => {
    const { c } = cli(standIn(['echo \'{"ok": true}\'']));
    await expect(c.call(call)).resolves.toEqual({ kind: 'done', stdout: '{"ok": true}\n' });
    expect(calls()).toEqual([
      '--cli-connect-timeout 10 --cli-read-timeout 30 autoscaling complete-lifecycle-action --lifecycle-hook-name launch --region eu-west-1 | 2 standard',
    ]);
  });

  test('AWS\'s final answer (an error code the call names) is a refusal, at once, without a retry', async () => {
    const { c, lines, clock } = cli(standIn([VALIDATION]));
    const r = await c.call(call);
    expect(r).toMatchObject({ kind: 'refused', code: 'ValidationError' });
    expect(r.kind === 'refused' && r.detail).toBe('exit 254: An error occurred (ValidationError) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found with instance ID i-0stub');
    expect(calls()).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(lines).toEqual([]);
  });

  test('a transient error (throttling) is retried with jittered waits, and the call is done when a try is', async () => {
    const { c, lines, clock } = cli(standIn([THROTTLED, THROTTLED, 'exit 0']));
    await expect(c.call(call)).resolves.toEqual({ kind: 'done', stdout: '' });
    expect(calls()).toHaveLength(3);
    expect(clock.sleeps).toEqual([750, 1500]);
    expect(lines[0]).toBe('complete-lifecycle-action launch CONTINUE failed (exit 254: An error occurred (Throttling) when calling the CompleteLifecycleAction operation (reached max retries: 1): Rate exceeded); try 2/6 in 0.750 s');
  });

  test('the code decides, not the words: a message that mentions ValidationError under another code is retried', async () => {
    const { c } = cli(standIn([`echo 'An error occurred (InternalFailure) when calling the X operation: ValidationError handler crashed' >&2; exit 254`, 'exit 0']));
    await expect(c.call(call)).resolves.toMatchObject({ kind: 'done' });
    expect(calls()).toHaveLength(2);
  });

  test('a code the call does not name as final (access denied while a new role applies) is retried until the tries run out', async () => {
    const { c, lines } = cli(standIn([`echo 'An error occurred (AccessDenied) when calling the X operation: not authorized' >&2; exit 255`]));
    const r = await c.call(call);
    expect(r).toEqual({ kind: 'failed', detail: 'exit 255: An error occurred (AccessDenied) when calling the X operation: not authorized' });
    expect(calls()).toHaveLength(6);
    expect(lines[lines.length - 1]).toMatch(/failed \(exit 255: .*\) 6 times$/);
  });

  test('no try is begun whose wait would end past the time limit', async () => {
    const { c, lines } = cli(standIn([THROTTLED]), { deadlineS: 2 });
    await expect(c.call(call)).resolves.toMatchObject({ kind: 'failed' });
    expect(calls()).toHaveLength(2);
    expect(lines[lines.length - 1]).toMatch(/no time left for another try$/);
  });

  test('a command line the CLI refuses (usage error, exit 2 or 252) is not retried: no retry changes it', async () => {
    const { c, lines } = cli(standIn([`echo 'aws: error: the following arguments are required: --bucket' >&2; exit 2`]));
    await expect(c.call(call)).resolves.toEqual({ kind: 'failed', detail: 'exit 2: aws: error: the following arguments are required: --bucket' });
    expect(calls()).toHaveLength(1);
    expect(lines).toEqual(['complete-lifecycle-action launch CONTINUE failed (exit 2: aws: error: the following arguments are required: --bucket); not retried: no retry would change it']);
  });

  test('no CLI at all fails at once', async () => {
    const { c } = cli(join(dir, 'no-such-aws'));
    const r = await c.call(call);
    expect(r.kind).toBe('failed');
    expect(r.kind === 'failed' && r.detail).toMatch(/^could not start: .*ENOENT/);
  });

  test('offline runs once, with no retry, and gives the output or nothing', async () => {
    const ok = cli(standIn(['echo skeleton']));
    await expect(ok.c.offline(['s3api', 'put-object', '--generate-cli-skeleton', 'input'])).resolves.toBe('skeleton\n');
    expect(calls()).toEqual(['--cli-connect-timeout 10 --cli-read-timeout 30 s3api put-object --generate-cli-skeleton input --region eu-west-1 | 2 standard']);
    const bad = cli(standIn(['exit 255']));
    await expect(bad.c.offline(['s3api', 'put-object'])).resolves.toBeUndefined();
  });

  test('another program (cfn-signal) is run with its own arguments, its code found as the call says', async () => {
    const { c } = cli(standIn([`echo 'ValidationError: Stack Stack is in CREATE_COMPLETE state and cannot be signaled' >&2; exit 1`]));
    const r = await c.callProgram({
      what: 'signal SUCCESS', program: join(dir, 'aws'), args: ['-e', '0', '--region', 'eu-west-1'], refusals: ['ValidationError'],
      errorCode: (out) => (/\bValidationError\b/.test(out) ? 'ValidationError' : undefined),
    });
    expect(r).toMatchObject({ kind: 'refused', code: 'ValidationError' });
    expect(calls()).toEqual(['-e 0 --region eu-west-1 | 2 standard']);
  });
});

describe('classifyTry', () => {
  const result = (fields: Partial<ExecResult>): ExecResult => ({
    step: 's', program: 'aws', argv: ['aws'], exitCode: 1, signal: undefined, timedOut: false, startError: undefined, stdout: '', stderr: '', ...fields,
  });
  test.each([
    ['exit 0', result({ exitCode: 0 }), undefined, 'done'],
    ['a refusal the call names (CLI v2: 254)', result({ exitCode: 254 }), 'ValidationError', 'refused'],
    ['a refusal the call names (CLI v1: 255)', result({ exitCode: 255 }), 'ValidationError', 'refused'],
    ['s3 cp of a missing object (exit 1, code 404)', result({ exitCode: 1 }), '404', 'refused'],
    ['a code the call does not name', result({ exitCode: 254 }), 'ThrottlingException', 'transient'],
    ['no code, exit 255 (a reset connection, a bound reached)', result({ exitCode: 255 }), undefined, 'transient'],
    ['no code, exit 253 (no credentials yet)', result({ exitCode: 253 }), undefined, 'transient'],
    ['usage error, CLI v1', result({ exitCode: 2 }), undefined, 'broken'],
    ['usage error, CLI v2', result({ exitCode: 252 }), undefined, 'broken'],
    ['stopped at the time limit', result({ exitCode: undefined, signal: 'SIGTERM', timedOut: true }), undefined, 'transient'],
    ['killed', result({ exitCode: undefined, signal: 'SIGKILL' }), undefined, 'transient'],
    ['could not start', result({ exitCode: undefined, startError: 'spawn aws ENOENT' }), undefined, 'broken'],
  ] as const)('%s', (_name, r, code, kind) => {
    expect(classifyTry(r, code, ['ValidationError', '404']).kind).toBe(kind);
  });

  test('cliErrorCode reads the code from the CLI\'s error line, also inside s3\'s "fatal error:"', () => {
    expect(cliErrorCode('\nAn error occurred (ParameterNotFound) when calling the GetParameter operation: \n')).toBe('ParameterNotFound');
    expect(cliErrorCode('fatal error: An error occurred (404) when calling the HeadObject operation: Key "a" does not exist')).toBe('404');
    expect(cliErrorCode('Could not connect to the endpoint URL: "https://ssm.eu-west-1.amazonaws.com/"')).toBeUndefined();
  });

  test('s3Location splits an object\'s URI', () => {
    expect(s3Location('s3://bucket/cache/builds/k.tar.gz')).toEqual({ bucket: 'bucket', key: 'cache/builds/k.tar.gz' });
    expect(() => s3Location('s3://bucket')).toThrow(/not an s3:\/\/ URI of an object/);
  });
});
