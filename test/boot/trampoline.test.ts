/**
 * The user-data trampoline for the TypeScript boot program
 * (lib/boot/trampoline.sh, rendered by lib/boot/trampoline.ts). What it does
 * on an instance is the instance box's (test/integration/instance-box.test.ts);
 * here: its rendering, its size, that bash and shellcheck take it, how it
 * reads boot.env and how each role ends, run with stand-ins for node, the AWS
 * CLI, curl (IMDS and the wait condition handle) and shutdown.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { renderTrampoline, TRAMPOLINE_TEMPLATE, TrampolineValues } from '../../lib/boot/trampoline';

const VALUES: TrampolineValues = {
  BOOT_ENV: '/etc/graviton-llm/boot.env',
  BUNDLE: '/opt/graviton-llm/boot.js',
  RESULT: '/var/lib/graviton-llm/boot-result.json',
  LOG_DIR: '/var/log/graviton-llm',
  BUNDLE_URL: 's3://${Token[TOKEN.123]}/0123abcd.js',
  BUNDLE_SHA256: 'a'.repeat(64),
};

test('every value is filled in where the template names it, and nothing else changes', () => {
  const text = renderTrampoline(VALUES);
  expect(text).not.toMatch(/@[A-Z0-9_]+@/);
  expect(text).toContain('BOOT_ENV=/etc/graviton-llm/boot.env BUNDLE=/opt/graviton-llm/boot.js RESULT=/var/lib/graviton-llm/boot-result.json LOG_DIR=/var/log/graviton-llm\n');
  expect(text).toContain(`echo "${'a'.repeat(64)}  $BUNDLE" | sha256sum --check --strict --quiet`);
  expect(text).toContain("'s3://${Token[TOKEN.123]}/0123abcd.js' \"$BUNDLE\"");
  expect(text.split('\n')).toHaveLength(readFileSync(TRAMPOLINE_TEMPLATE, 'utf8').split('\n').length);
});

test('a value the shell would read as syntax is refused, naming it', () => {
  expect(() => renderTrampoline({ ...VALUES, BUNDLE: '/opt/x y' })).toThrow('trampoline value BUNDLE="/opt/x y" has characters that need quoting');
  expect(() => renderTrampoline({ ...VALUES, BUNDLE_URL: "s3://b/k'; rm -rf /" })).toThrow('BUNDLE_URL');
});

// 80 before the builder's end (its own failure signal and the shutdown) took 20 lines more.
test('it stays a trampoline: under 100 lines with the user data\'s five around it', () => {
  expect(renderTrampoline(VALUES).trimEnd().split('\n').length + 5).toBeLessThan(100);
});

test('bash parses it', () => {
  const r = spawnSync('bash', ['-n'], { input: renderTrampoline(VALUES), encoding: 'utf8' });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
});

const shellcheck = spawnSync('sh', ['-c', 'command -v shellcheck']).status === 0;
(shellcheck ? test : test.skip)('shellcheck finds nothing in it', () => {
  // As CloudFormation resolves it (an unresolved token's `${` would read as an expansion).
  const deployed = renderTrampoline({ ...VALUES, BUNDLE_URL: 's3://cdk-hnb659fds-assets-123456789012-us-east-1/0123abcd.js' });
  const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: deployed, encoding: 'utf8' });
  expect({ status: r.status, out: r.stdout }).toEqual({ status: 0, out: '' });
});

describe('run with stand-ins for node, the AWS CLI, curl and shutdown', () => {
  let dir: string;
  let bin: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gllm-trampoline-'));
    // A quote, a backslash and a tab in the directory: they reach a failure's reason through Node's path.
    bin = join(dir, 'b"i\\n\t');
    mkdirSync(bin);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const region = '--cli-connect-timeout 10 --cli-read-timeout 30 --region eu-west-1';
  const handle = 'https://cloudformation-waitcondition-eu-west-1.s3.eu-west-1.amazonaws.com/arn%3Aaws%3Acloudformation/Handle';
  const signed = `${handle}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261207T000000Z&X-Amz-Signature=abc`;
  /** What a fleet instance's boot.env and a builder's share (the builder's user data writes the fleet's, plus its two keys). */
  const FLEET_ENV = [
    'GLLM_REGION=eu-west-1', 'GLLM_BOOT_FAILURE_METRIC=BootFailure', 'GLLM_METRIC_NAMESPACE=GravitonLlm',
    'GLLM_AUTOSCALING_GROUP=the-group', 'GLLM_LIFECYCLE_HOOK=graviton-llm-launch,graviton-llm-boot',
    'GLLM_STACK_NAME=the-stack', 'GLLM_SIGNAL_RESOURCE=Fleet',
  ];

  function stub(name: string, body: string): void {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  }

  interface Run {
    readonly status: number | null;
    readonly stderr: string;
    /** Each stand-in's call, in order: `node ...`, `aws ...`, `curl ...` (the handle's, its body left out), `shutdown ...`. */
    readonly calls: readonly string[];
    /** The body each PUT to the handle carried. */
    readonly bodies: readonly string[];
    readonly bundle: string;
    readonly env: string;
    readonly result: string;
  }

  /**
   * The trampoline with these boot.env lines and this Node (the body of a
   * stand-in that runs the bundle, with $RESULT set; `major` is what it
   * answers the trampoline's version check with). The metadata service
   * answers with i-0123 unless `imds` is false; every AWS CLI call and every
   * PUT to the handle succeeds.
   */
  function run(envLines: readonly string[], node: string, { imds = true, major = 24 } = {}): Run {
    const bundle = join(dir, 'boot.js');
    writeFileSync(bundle, '// the bundle\n');
    const env = join(dir, 'boot.env');
    writeFileSync(env, [...envLines, ''].join('\n'));
    const calls = join(dir, 'calls');
    const bodies = join(dir, 'bodies');
    const result = join(dir, 'boot-result.json');
    for (const file of [calls, bodies, result]) rmSync(file, { force: true });
    stub('node', `[ "$1" = -p ] && { echo ${major}; exit 0; }; echo "node $*" >>'${calls}'; RESULT='${result}'\n${node}`);
    stub('aws', `echo "aws $*" >>'${calls}'`);
    stub('curl', [
      'case "$*" in',
      `  *169.254.169.254*) ${imds ? 'case "$*" in *api/token*) echo token ;; *instance-id*) echo i-0123 ;; esac' : 'exit 28'} ;;`,
      // The handle's PUT: its arguments but the body, which goes to a file of its own (one line per body: JSON holds no newline raw).
      `  *) args=(); while [ $# -gt 0 ]; do if [ "$1" = --data-binary ]; then printf '%s\\n' "$2" >>'${bodies}'; args+=("$1" '<body>'); shift; else args+=("$1"); fi; shift; done; echo "curl \${args[*]}" >>'${calls}' ;;`,
      'esac',
    ].join('\n'));
    stub('shutdown', `echo "shutdown $*" >>'${calls}'`);
    const script = renderTrampoline({
      BOOT_ENV: env, BUNDLE: bundle, RESULT: result, LOG_DIR: join(dir, 'log'), BUNDLE_URL: 's3://bucket/key.js',
      BUNDLE_SHA256: createHash('sha256').update(readFileSync(bundle)).digest('hex'),
    });
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir } });
    const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n') : []);
    return { status: r.status, stderr: r.stderr, calls: lines(calls), bodies: lines(bodies), bundle, env, result };
  }

  /** A builder's boot.env, its signal file holding `url` (none where null). */
  function builderEnv(url: string | null = signed): string[] {
    const file = join(dir, 'builder-signal-url');
    rmSync(file, { force: true });
    if (url !== null) writeFileSync(file, `${url}\n`);
    return [...FLEET_ENV, 'GLLM_ROLE=builder', `GLLM_BUILDER_SIGNAL_FILE=${file}`];
  }

  const metric = `aws ${region} cloudwatch put-metric-data --namespace GravitonLlm --metric-name BootFailure --dimensions AutoScalingGroupName=the-group --value 1 --unit Count`;
  const handlePut = `curl -sSf -m 30 --retry 5 --retry-connrefused -X PUT -H Content-Type: --data-binary <body> ${signed}`;

  test('boot.env is read as data: a value with & and ~ (a URL query) runs nothing and expands nothing; the failure report reads the values whole', () => {
    stub('gllm-planted', `touch '${join(dir, 'planted')}'`);
    // Sourced, `&gllm-planted` would run that program and `~root` would become root's home.
    // A Node that runs the bundle but writes no result (as a program refusing its configuration).
    const r = run([...FLEET_ENV, 'GLLM_MODEL_SOURCE=https://models.example/m.gguf?a=1&gllm-planted&b=~root', 'NOT_OURS=1'], 'exit 2');
    expect(r.status).toBe(1);
    expect(existsSync(join(dir, 'planted'))).toBe(false);
    expect(r.stderr).toContain(`the boot program (${join(bin, 'node')} ${r.bundle}) exited with status 2 without writing ${r.result}; reporting the failure`);
    expect(r.calls).toEqual([
      `node ${r.bundle} ${r.env}`,
      metric,
      `aws ${region} autoscaling complete-lifecycle-action --auto-scaling-group-name the-group --lifecycle-hook-name graviton-llm-launch --instance-id i-0123 --lifecycle-action-result ABANDON`,
      `aws ${region} autoscaling complete-lifecycle-action --auto-scaling-group-name the-group --lifecycle-hook-name graviton-llm-boot --instance-id i-0123 --lifecycle-action-result ABANDON`,
      `aws ${region} cloudformation signal-resource --stack-name the-stack --logical-resource-id Fleet --unique-id i-0123 --status FAILURE`,
    ]);
  });

  test('a fleet instance that booted (a fresh result) reports nothing more and never shuts itself down', () => {
    const r = run(FLEET_ENV, 'touch "$RESULT"; exit 0');
    expect({ status: r.status, calls: r.calls }).toEqual({ status: 0, calls: [`node ${r.bundle} ${r.env}`] });
  });

  test('a fleet instance that fails reports as before and never shuts itself down', () => {
    const r = run(FLEET_ENV, 'echo 0', { major: 16 });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([metric, expect.stringContaining('complete-lifecycle-action'), expect.stringContaining('complete-lifecycle-action'), expect.stringContaining('signal-resource')]);
    expect(r.stderr).not.toContain('shutting down');
  });

  test('a builder without Node (none of major 18 or later): FAILURE PUT to the handle as JSON; no BootFailure (the fleet alarm), lifecycle action or stack signal; then shutdown', () => {
    const r = run(builderEnv(), 'exit 0', { major: 16 });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([handlePut, 'shutdown -h now']);
    const reason = 'no Node.js: neither /usr/bin/node-24 (dnf install nodejs24) nor a node of major 18 or later on PATH';
    expect(r.bodies.map((b) => JSON.parse(b))).toEqual([{ Status: 'FAILURE', Reason: reason, UniqueId: 'i-0123', Data: '' }]);
    expect(r.stderr).toContain(`${reason}; reporting the failure`);
    // The log says why it goes before it goes; the URL's signature stays out of the log.
    expect(r.stderr).toMatch(/graviton-llm boot: builder: exit 1; shutting down, which terminates this instance\n$/);
    expect(r.stderr).not.toContain('X-Amz-Signature');
  });

  test('a builder whose program wrote a fresh result: no report from the trampoline (the program sent its own), then shutdown, its status kept', () => {
    for (const status of [0, 1]) {
      const r = run(builderEnv(), `touch "$RESULT"; exit ${status}`);
      expect({ status: r.status, calls: r.calls, bodies: r.bodies }).toEqual({ status, calls: [`node ${r.bundle} ${r.env}`, 'shutdown -h now'], bodies: [] });
      expect(r.stderr).toContain(`builder: exit ${status}; shutting down`);
    }
  });

  test('a builder whose program wrote no result: FAILURE PUT whose reason is JSON-safe (quotes, backslashes, control characters blanked); no instance id, the fixed one', () => {
    const r = run(builderEnv(), 'exit 3', { imds: false });
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([`node ${r.bundle} ${r.env}`, handlePut, 'shutdown -h now']);
    expect(r.bodies).toHaveLength(1);
    const message = `the boot program (${join(bin, 'node')} ${r.bundle}) exited with status 3 without writing ${r.result}`;
    expect(message).toMatch(/["\\\t]/);
    expect(JSON.parse(r.bodies[0])).toEqual({ Status: 'FAILURE', Reason: message.replace(/["\\\t]/g, ' ').slice(0, 250), UniqueId: 'builder', Data: '' });
  });

  test('a builder whose signal file is missing or holds no URL says so (the wait condition fails at its Timeout) and shuts down, counting nothing', () => {
    for (const url of [null, '']) {
      const r = run(builderEnv(url), 'exit 0', { major: 16 });
      expect({ status: r.status, calls: r.calls, bodies: r.bodies }).toEqual({ status: 1, calls: ['shutdown -h now'], bodies: [] });
      expect(r.stderr).toContain(`no handle URL in '${join(dir, 'builder-signal-url')}': the wait condition fails at its Timeout`);
    }
  });
});
