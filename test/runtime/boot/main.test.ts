/**
 * main.ts's boot(): the phases in order, and how a failed boot ends (the
 * server stopped, then the failure reported under the grace), driven in
 * process with fake adapters (the factory seam) and a fake clock. The whole
 * program, bundled, runs in test/integration/boot-program-local.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { WaitConditionReporter } from '../../../runtime/boot/adapters/wait-condition-reporter';
import { parseBootEnvironment, type BootConfig } from '../../../runtime/boot/contract';
import { Deadline } from '../../../runtime/boot/core/deadline';
import { Exec } from '../../../runtime/boot/core/exec';
import { BootLog } from '../../../runtime/boot/core/log';
import { GRAVITON3 } from './support/cpuinfo-samples';
import { boot, describeProblems, machineAdapters, main, MissingProgram, takeBootLock, writeBootResult, type AdaptersFactory, type MachineAdapters, type TimeLimit } from '../../../runtime/boot/main';
import { bootResultFromOutcome } from '../../../runtime/boot/result-from-outcome';
import { BOOT_RESULT_PATHS, parseBootResult } from '../../../runtime/boot/result';
import { INSTANCE_FILES, INSTANCE_LAYOUT, localLayout } from '../../../runtime/boot/layout';
import type { LogAgent, Packages, Platform, ReportOutcome, Reporter } from '../../../runtime/boot/ports';
import { FakeCache } from './support/fake-cache';
import { FakeClock } from './support/fake-clock';
import { FakeSupervisor } from './support/fake-supervisor';
import { AWS_ENV, envFileIn, envText, LOCAL_ENV, setKey } from './support/environments';

function config(text = envText(LOCAL_ENV)): BootConfig {
  const parsed = parseBootEnvironment(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

/** Records each call, with the time limit the adapters read at that moment. */
class RecordingReporter implements Reporter {
  constructor(private readonly calls: string[], private readonly limit: () => TimeLimit) {}
  private note(call: string): ReportOutcome {
    this.calls.push(`${call} limit=${this.limit().current.timeLimitMs()}`);
    return { kind: 'skipped' };
  }
  async completeLifecycleAction(result: 'CONTINUE' | 'ABANDON') { return this.note(`lifecycle ${result}`); }
  async signal(status: 'SUCCESS' | 'FAILURE', reason: string) { return this.note(`signal ${status} ${reason}`); }
  async countFailure() { return this.note('failure-metric'); }
}

/** An instance's agent that is installed and starts: each start is a call. */
function fakeAgent(calls: string[]): LogAgent {
  return {
    program: '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl', configFile: '/tmp/gllm-main-test/agent.json', prometheusConfigFile: '/tmp/gllm-main-test/prometheus.yaml',
    installed: async () => true,
    start: async (file) => { calls.push(`agent start ${file}`); return { ok: true }; },
  };
}

function fakes(clock: FakeClock, calls: string[], platform: Partial<Platform>, more: Partial<MachineAdapters> = {}): { factory: AdaptersFactory; limit: () => TimeLimit } {
  let limit: TimeLimit | undefined;
  const supervisor = new FakeSupervisor();
  const packages: Packages & { toolchainIdentity(): Promise<string> } = {
    manager: undefined,
    missingTools: async () => [],
    install: async () => ({ ok: false, detail: 'not here' }),
    toolchainIdentity: async () => 'gcc-test',
  };
  const factory: AdaptersFactory = async (cfg, l) => {
    limit = l;
    const stop = supervisor.stop.bind(supervisor);
    supervisor.stop = async () => { calls.push('supervisor stop'); await stop(); };
    const adapters: MachineAdapters = {
      layout: localLayout('/tmp/gllm-main-test'),
      cache: new FakeCache(),
      secrets: { describe: (n) => n, readToFile: async () => ({ kind: 'not-found', detail: 'none' }) },
      apiKeySecret: '/tmp/key',
      supervisor,
      reporter: new RecordingReporter(calls, () => limit!),
      packages,
      platform: {
        machine: () => 'x86_64',
        cpuinfo: async () => ({ source: '/proc/cpuinfo', text: undefined }),
        cpuCount: () => 2,
        memlockLimitBytes: async () => 'unlimited',
        osRelease: async () => ({ id: 'debian', versionId: '12' }),
        isRoot: () => false,
        instanceId: async () => ({ ok: false, detail: 'local' }),
        ...platform,
      },
      download: { source: cfg.modelSource, takesToken: true, download: async () => ({ ok: false, reason: 'no download here' }) },
      exec: new Exec({ clock }),
      serviceUser: undefined,
      requiredTools: ['tar'],
      optionalPackages: [],
      x86: 'allowed',
      lock: 'where-memlock-covers',
      ...more,
    };
    return adapters;
  };
  return { factory, limit: () => limit! };
}

test('a phase that fails stops the server, then reports the failure under the grace; the events name the phase', async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const log = new BootLog({ clock, console: (l) => calls.push(l.replace(/^\S+ /, '')) });
  const { factory, limit } = fakes(clock, calls, { machine: () => 'sparc64' });
  const cfg = config();
  const outcome = await boot(cfg, '/tmp/boot.env', log, clock, clock.now(), factory);

  expect(outcome.end.ok).toBe(false);
  if (outcome.end.ok) return;
  expect(outcome.end.failure.phase).toBe('cpu');
  const reason = outcome.end.failure.reason;
  // The deadline's end, and the grace's: 60 s from when the report started.
  const deadlineEnd = new Deadline(clock.now(), cfg.bootDeadlineSeconds, clock).endMs;
  const graceEnd = clock.now() + 60_000;
  expect(graceEnd).toBeLessThan(deadlineEnd); // here the grace ends first: the limit is the grace's, not the deadline's
  expect(calls.filter((c) => !c.startsWith('['))).toEqual([
    'supervisor stop',
    `failure-metric limit=${graceEnd}`,
    `lifecycle ABANDON limit=${graceEnd}`,
    `signal FAILURE ${reason} limit=${graceEnd}`,
  ]);
  expect(limit().current.timeLimitMs()).toBe(graceEnd);
  // A failed boot: the reason first, then the server stopped, then the report.
  const failed = calls.indexOf(`[failure] boot failed: ${reason}`);
  expect(failed).toBeGreaterThan(calls.indexOf('[cpu] start'));
  expect(failed).toBeLessThan(calls.indexOf('supervisor stop'));
  expect(outcome.events.map((e) => `${e.phase} ${e.event}`)).toEqual([
    'config done', 'deps start', 'deps done', 'cpu start', 'cpu failed',
    'report start', 'report failure-metric', 'report lifecycle-action', 'report signal', 'report done',
  ]);
  expect(outcome.report?.signal).toEqual({ kind: 'skipped' });
});

test('a deadline spent before the first phase: deps is refused, and nothing runs after it', async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const log = new BootLog({ clock, console: () => undefined });
  const { factory } = fakes(clock, calls, {});
  const cfg = config(setKey(envText(LOCAL_ENV), 'GLLM_BOOT_DEADLINE_SECONDS', '1'));
  // A deadline of one second, spent while the adapters are built.
  const slow: AdaptersFactory = async (...args) => { const a = await factory(...args); clock.advance(1000); return a; };
  const outcome = await boot(cfg, '/tmp/boot.env', log, clock, clock.now(), slow);
  expect(outcome.end.ok).toBe(false);
  expect(outcome.events.filter((e) => e.phase !== 'report').map((e) => `${e.phase} ${e.event}`)).toEqual(['config done', 'deps start', 'deps failed']);
  expect(!outcome.end.ok && outcome.end.failure.reason).toBe('boot deadline of 1 s passed before step deps');
});

test('adapters that cannot be built fail the boot with their reason and report nothing', async () => {
  const clock = new FakeClock();
  const lines: string[] = [];
  const log = new BootLog({ clock, console: (l) => lines.push(l), step: 'config' });
  const outcome = await boot(config(), '/tmp/boot.env', log, clock, clock.now(), async () => { throw new Error('no such cache directory'); });
  expect(outcome.end).toEqual({ ok: false, failure: expect.objectContaining({ phase: 'config', reason: 'no such cache directory' }) });
  expect(outcome.report).toBeUndefined();
  expect(outcome.events.map((e) => `${e.phase} ${e.event} ${e.detail}`)).toEqual(['config failed no such cache directory']);
  expect(lines[lines.length - 1]).toMatch(/\[failure\] boot failed: no such cache directory$/);
});

test('aws mode: the agent runs after deps and before cpu, warning only; a later failure still stops the server and reports', async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const log = new BootLog({ clock, console: (l) => calls.push(l.replace(/^\S+ /, '')) });
  const { factory } = fakes(clock, calls, { machine: () => 'sparc64' }, { logAgent: fakeAgent(calls), layout: localLayout('/tmp/gllm-main-test') });
  const outcome = await boot(config(envText(AWS_ENV)), '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);

  expect(!outcome.end.ok && outcome.end.failure.phase).toBe('cpu');
  expect(outcome.events.map((e) => `${e.phase} ${e.event}`)).toEqual([
    'config done', 'deps start', 'deps done', 'agent start', 'agent done', 'cpu start', 'cpu failed',
    'report start', 'report failure-metric', 'report lifecycle-action', 'report signal', 'report done',
  ]);
  // The fakes' SSM has no agent configuration: a warning, and no agent started; the boot went on to cpu.
  expect(calls).toContain('[agent] WARNING: could not read /graviton-llm/agent (none); no log shipping');
  expect(calls.filter((c) => c.startsWith('agent start'))).toEqual([]);
  expect(calls.filter((c) => !c.startsWith('['))).toEqual([
    'supervisor stop', expect.stringMatching(/^failure-metric /), expect.stringMatching(/^lifecycle ABANDON /), expect.stringMatching(/^signal FAILURE /),
  ]);
});

test('aws mode with no agent configuration parameter: the agent is started with the fallback configuration', async () => {
  const clock = new FakeClock();
  const calls: string[] = [];
  const log = new BootLog({ clock, console: (l) => calls.push(l.replace(/^\S+ /, '')) });
  const { factory } = fakes(clock, calls, { machine: () => 'sparc64' }, { logAgent: fakeAgent(calls), layout: localLayout('/tmp/gllm-main-test') });
  await boot(config(setKey(envText(AWS_ENV), 'GLLM_AGENT_CONFIG_PARAMETER', '')), '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);
  expect(calls.filter((c) => c.startsWith('agent start'))).toEqual(['agent start /tmp/gllm-main-test/agent.json']);
});

describe('main', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gllm-main-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('an aws-mode environment file is booted, not refused: the layout made, the log opened, the agent run, the failure the last line', async () => {
    const envFile = envFileIn(dir, 'aws');
    const layout = localLayout(join(dir, 'instance'));
    const calls: string[] = [];
    const { factory } = fakes(new FakeClock(), calls, { machine: () => 'sparc64' }, { layout, logAgent: fakeAgent(calls) });
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([envFile], (l) => out.push(l), (l) => err.push(l), { layoutFor: () => layout, adaptersFor: factory });
    expect(err).toEqual([]);
    expect(code).toBe(1);
    expect(out[out.length - 1]).toMatch(/^GLLM_BOOT_RESULT=FAILURE reason=.*sparc64/);
    const bootLog = readFileSync(layout.bootLog, 'utf8');
    expect(bootLog).toContain(`boot (aws mode) with ${envFile}`);
    expect(bootLog).toMatch(/\[agent\] start\n/);
    expect(existsSync(layout.bootLock)).toBe(true);
  });

  test('a log directory that cannot be made: one clear line naming it and why, exit 1, no stack trace', async () => {
    // A file where the work directory should be: mkdir under it fails with ENOTDIR, whoever runs the test.
    writeFileSync(join(dir, 'not-a-dir'), '');
    const envFile = envFileIn(dir, 'local', { GLLM_WORK_DIR: join(dir, 'not-a-dir', 'work') });
    const err: string[] = [];
    const code = await main([envFile], () => undefined, (l) => err.push(l));
    expect(code).toBe(1);
    expect(err).toEqual([expect.stringMatching(new RegExp(`^boot: cannot make the directory ${join(dir, 'not-a-dir', 'work')}/\\S+: ENOTDIR`))]);
  });

  test('an environment file it cannot use: exit 2, every problem on stderr, nothing run, written or locked', async () => {
    const work = join(dir, 'work');
    const envFile = join(dir, 'boot.env');
    writeFileSync(envFile, `${setKey(envText({ ...LOCAL_ENV, GLLM_WORK_DIR: work }), 'GLLM_MODEL_FILE', 'x$(touch PWNED)')}GLLM_SURPRISE=1\n`);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main([envFile], (l) => out.push(l), (l) => err.push(l), { layoutFor: () => localLayout(work), adaptersFor: () => { throw new Error('no adapters for a refused file'); } });
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe(`boot: ${envFile} is not a usable boot configuration:`);
    expect(err.slice(1).join('\n')).toMatch(/GLLM_SURPRISE: given "1"; expected one of the boot's keys/);
    expect(err.slice(1).join('\n')).toMatch(/GLLM_MODEL_FILE: given "x\$\(touch PWNED\)"; expected only the characters/);
    // The value was read, never run; and no layout was made, so no result, log or lock.
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    expect(existsSync(work)).toBe(false);
  });

  test('no flock program: a clear error naming it and the package to install, exit 1, no stack trace', async () => {
    const envFile = envFileIn(dir, 'local', { GLLM_WORK_DIR: join(dir, 'work') });
    const saved = process.env.PATH;
    const err: string[] = [];
    let code: number;
    try {
      process.env.PATH = join(dir, 'empty-bin');
      code = await main([envFile], () => undefined, (l) => err.push(l));
    } finally {
      process.env.PATH = saved;
    }
    expect(code).toBe(1);
    expect(err).toEqual([
      `boot: cannot take the boot lock: the flock program is not installed (it takes the boot lock ${join(dir, 'work', 'state', 'boot.lock')}); install the util-linux package and run the boot again`,
    ]);
  });
});

test('takeBootLock without flock rejects with MissingProgram', async () => {
  const saved = process.env.PATH;
  try {
    process.env.PATH = '/nonexistent-gllm-bin';
    await expect(takeBootLock('/tmp/gllm-no-flock.lock')).rejects.toBeInstanceOf(MissingProgram);
  } finally {
    process.env.PATH = saved;
  }
});

test('describeProblems: the file (and line), the key, the value given or that it is missing, what is expected', () => {
  expect(describeProblems('/etc/b.env', [
    { key: 'GLLM_PORT', given: '010', expected: 'a positive integer' },
    { key: 'GLLM_WORK_DIR', expected: 'set in local mode' },
    { line: 3, given: 'x', expected: 'KEY=value' },
  ])).toEqual([
    '/etc/b.env: GLLM_PORT: given "010"; expected a positive integer',
    '/etc/b.env: GLLM_WORK_DIR: not set; expected set in local mode',
    '/etc/b.env:3: line: given "x"; expected KEY=value',
  ]);
});

describe('the adapters for this machine, by mode (built, not run)', () => {
  const limit = (cfg: BootConfig): TimeLimit => ({ current: new Deadline(Date.now(), cfg.bootDeadlineSeconds, new FakeClock()) });
  const build = (cfg: BootConfig) => machineAdapters(cfg, limit(cfg), new FakeClock(), () => undefined);

  test('local: the directory cache, file secrets, the local supervisor and reporter, https download, no service user', async () => {
    const cfg = config();
    const a = await build(cfg);
    expect([a.cache, a.secrets, a.supervisor, a.reporter, a.download].map((x) => x.constructor.name))
      .toEqual(['DirCache', 'FileSecrets', 'LocalSupervisor', 'LocalReporter', 'HttpsDownload']);
    expect(a.layout).toEqual(localLayout('/tmp/gllm/work'));
    expect(a.apiKeySecret).toBe('/tmp/gllm/key');
    expect(a.serviceUser).toBeUndefined();
    expect(a.metadata).toBeUndefined();
    expect(a.logAgent).toBeUndefined(); // no agent phase
    expect([a.x86, a.lock]).toEqual(['allowed', 'where-memlock-covers']);
  });

  test('aws: the S3 cache, SSM secrets, the AWS reporter, the systemd unit (also the metadata check), the instance layout, the service user', async () => {
    const cfg = config(envText(AWS_ENV));
    const a = await build(cfg);
    expect([a.cache, a.secrets, a.supervisor, a.reporter, a.download].map((x) => x.constructor.name))
      .toEqual(['S3Cache', 'SsmSecrets', 'SystemdSupervisor', 'AwsReporter', 'HttpsDownload']);
    expect(a.metadata).toBe(a.supervisor);
    expect(a.layout).toBe(INSTANCE_LAYOUT);
    expect(a.apiKeySecret).toBe('/graviton-llm/api-key');
    expect(a.serviceUser).toBe('llama');
    expect(a.requiredTools).toEqual(['tar', 'gzip', 'curl', 'sha256sum', 'flock', 'setsid', 'aws', 'systemctl', 'useradd', 'setpriv']);
    expect(a.optionalPackages.map((o) => o.package)).toEqual(['aws-cfn-bootstrap', 'amazon-cloudwatch-agent']);
    expect(a.lock).toBe('always');
    expect(a.logAgent?.constructor.name).toBe('CloudWatchAgent');
    expect([a.logAgent?.program, a.logAgent?.configFile, a.logAgent?.prometheusConfigFile]).toEqual([
      a.optionalPackages[1].program, INSTANCE_FILES.agentConfig, INSTANCE_FILES.prometheusConfig,
    ]);
  });

  test('aws: an s3:// model source is read with the CLI; x86_64 only in the instance box', async () => {
    const cfg = config(setKey(envText(AWS_ENV), 'GLLM_MODEL_SOURCE', 's3://models/tiny.gguf'));
    const saved = process.env.GLLM_TEST_BOX_ALLOW_X86;
    try {
      delete process.env.GLLM_TEST_BOX_ALLOW_X86;
      const a = await build(cfg);
      expect(a.download.constructor.name).toBe('S3Download');
      expect(a.x86).toBe('refused');
      process.env.GLLM_TEST_BOX_ALLOW_X86 = '1';
      expect((await build(cfg)).x86).toBe('allowed-in-test-box');
    } finally {
      if (saved === undefined) delete process.env.GLLM_TEST_BOX_ALLOW_X86;
      else process.env.GLLM_TEST_BOX_ALLOW_X86 = saved;
    }
  });
});

test('the boot lock: a second boot waits until the first lets go (real flock, on the layout\'s lock file, the one the bash boot locked)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'boot-lock-'));
  try {
    const file = join(dir, 'boot.lock');
    const first = await takeBootLock(file);
    let secondHeld = false;
    const second = takeBootLock(file).then((h) => { secondHeld = true; return h; });
    await new Promise((r) => setTimeout(r, 300));
    expect(secondHeld).toBe(false);
    first.stdin!.end();
    const holder = await second;
    expect(secondHeld).toBe(true);
    holder.stdin!.end();
    await new Promise((r) => holder.once('exit', r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('the boot result (result.ts) main writes', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'boot-result-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A local boot that fails its CPU check (sparc64), from boot() with fakes. */
  async function failedOutcome() {
    const clock = new FakeClock();
    const log = new BootLog({ clock, console: () => undefined, step: 'config' });
    const { factory } = fakes(clock, [], { machine: () => 'sparc64' });
    return boot(config(), '/tmp/boot.env', log, clock, clock.now() - 5, factory);
  }

  test('boot()\'s outcome makes a result the schema takes: config from the program\'s start, the phases run, the failed one last', async () => {
    const outcome = await failedOutcome();
    const result = parseBootResult(JSON.stringify(bootResultFromOutcome(outcome)));
    expect(result.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'ok'], ['deps', 'ok'], ['cpu', 'failed']]);
    expect(result.phases[0].startedAtMs).toBe(outcome.startedMs);
    expect(result).toMatchObject({ mode: 'local', failure: { phase: 'cpu' }, build: null, model: null, report: null, deadlineAtMs: outcome.deadlineAtMs });
  });

  test('a failure reason with quotes, backslashes, control characters and non-ASCII comes back whole through the schema', async () => {
    const nasty = 'q"uote b\\ack s/lash tab\t cr\r bell\x07 esc\x1b del\x7f \x01\x1f café ✓ 🦙 {"json":[1]}';
    const failed = await failedOutcome();
    if (failed.end.ok) throw new Error('the outcome should be a failure');
    const outcome = { ...failed, end: { ...failed.end, failure: { ...failed.end.failure, reason: nasty } } };
    const file = join(dir, 'state', 'boot-result.json');
    await writeBootResult(file, outcome, () => undefined);
    expect(parseBootResult(readFileSync(file, 'utf8')).failure).toEqual({ phase: 'cpu', reason: nasty });
  });

  test('written through a temporary name, readable by its owner only, whatever mode the file it replaces had', async () => {
    const file = join(dir, 'state', 'boot-result.json');
    mkdirSync(join(dir, 'state'));
    writeFileSync(file, 'stale', { mode: 0o644 });
    const warnings: string[] = [];
    await writeBootResult(file, await failedOutcome(), (m) => warnings.push(m));
    expect(warnings).toEqual([]);
    expect(parseBootResult(readFileSync(file, 'utf8')).failure?.phase).toBe('cpu');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'state'))).toEqual(['boot-result.json']);
  });

  test('a result that cannot be written is a warning, not a failure, and leaves no temporary file', async () => {
    // Its directory would be below a regular file.
    writeFileSync(join(dir, 'state'), 'not a directory');
    const warnings: string[] = [];
    await expect(writeBootResult(join(dir, 'state', 'boot-result.json'), await failedOutcome(), (m) => warnings.push(m))).resolves.toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^WARNING: could not write the boot result .*boot-result\.json: /)]);
    expect(readdirSync(dir)).toEqual(['state']);
  });

  test('main: a real local boot that fails its CPU check replaces the previous result and exits 1', async () => {
    const work = join(dir, 'work');
    const cpuinfo = join(dir, 'cpuinfo');
    writeFileSync(cpuinfo, 'processor\t: 0\n');
    const env = join(dir, 'boot.env');
    writeFileSync(env, envText({ ...LOCAL_ENV, GLLM_WORK_DIR: work, GLLM_CPUINFO_PATH: cpuinfo, GLLM_CACHE_URI: join(dir, 'cache') }));
    const file = BOOT_RESULT_PATHS.local(work);
    mkdirSync(join(work, 'state'), { recursive: true });
    writeFileSync(file, '{"from":"an earlier boot"}');
    const out: string[] = [];
    expect(await main([env], (l) => out.push(l), (l) => out.push(l))).toBe(1);
    const result = parseBootResult(readFileSync(file, 'utf8'));
    expect(result.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'ok'], ['deps', 'ok'], ['cpu', 'failed']]);
    expect(out[out.length - 1]).toBe(`GLLM_BOOT_RESULT=FAILURE reason=${result.failure?.reason}`);
  });
});

describe('the trusted builder\'s roles in main', () => {
  let work: string;
  beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'gllm-main-roles-')); });
  afterEach(() => rmSync(work, { recursive: true, force: true }));
  const withKeys = (keys: Record<string, string>) => config(`${envText(AWS_ENV)}${Object.entries(keys).map(([k, v]) => `${k}=${v}\n`).join('')}`);
  const build = (cfg: BootConfig) => machineAdapters(cfg, { current: new Deadline(Date.now(), cfg.bootDeadlineSeconds, new FakeClock()) }, new FakeClock(), () => undefined);

  test('a builder reports to its wait condition and publishes to the S3 cache; a fleet instance has no builder adapters', async () => {
    const signal = join(work, 'signal-url');
    writeFileSync(signal, 'https://cloudformation-waitcondition-eu-west-1.s3.eu-west-1.amazonaws.com/arn%3Aaws/H?X-Amz-Date=1&X-Amz-Signature=2\n');
    const a = await build(withKeys({ GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: signal }));
    expect(a.reporter.constructor.name).toBe('WaitConditionReporter');
    expect(a.builder?.publisher).toBe(a.cache);
    expect(a.builder?.report).toEqual({});
    expect((await build(config(envText(AWS_ENV)))).builder).toBeUndefined();
  });

  test('a builder whose signal file is missing or holds no URL cannot be built, naming the file', async () => {
    const missing = join(work, 'none');
    await expect(build(withKeys({ GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: missing }))).rejects.toThrow(`cannot read the builder's signal file ${missing}`);
    const empty = join(work, 'empty');
    writeFileSync(empty, '\n');
    await expect(build(withKeys({ GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: empty }))).rejects.toThrow(`the builder's signal file ${empty} holds no URL`);
  });

  test('a builder that fails in a phase PUTs FAILURE with the reason to its handle itself (the trampoline reports only a program that wrote no result)', async () => {
    const bodies: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { body += c; });
      req.on('end', () => { bodies.push(`${req.method} ${req.url} ${body}`); res.end(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/Handle?X-Amz-Signature=abc`;
      const clock = new FakeClock();
      const calls: string[] = [];
      const log = new BootLog({ clock, console: () => undefined });
      const signal = join(work, 'signal-url');
      writeFileSync(signal, `${url}\n`);
      const cfg = withKeys({ GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: signal });
      const deadline = new Deadline(clock.now(), 600, clock);
      const reporter = new WaitConditionReporter({
        url, platform: { instanceId: async () => ({ ok: true, instanceId: 'i-0b' }) }, pins: () => undefined, clock, random: () => 0.5, deadline: () => deadline, log: () => undefined,
      });
      const { factory } = fakes(clock, calls, { machine: () => 'sparc64' }, { reporter });
      const outcome = await boot(cfg, '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);
      expect(!outcome.end.ok && outcome.end.failure.phase).toBe('cpu');
      const reason = !outcome.end.ok ? outcome.end.failure.reason : '';
      expect(bodies).toEqual([`PUT /Handle?X-Amz-Signature=abc ${JSON.stringify({ Status: 'FAILURE', Reason: reason.slice(0, 250), UniqueId: 'i-0b', Data: '' })}`]);
      expect(outcome.report?.signal).toEqual({ kind: 'done' });
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a fleet instance whose pins file is unusable fails in config, runs no phase, and reports the failure', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const log = new BootLog({ clock, console: () => undefined });
    const { factory } = fakes(clock, calls, {});
    const pins = join(work, 'pins.json');
    writeFileSync(pins, '{"graviton3": {"a": "x", "b": "y"}}');
    const outcome = await boot(withKeys({ GLLM_PINS_FILE: pins }), '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);
    expect(outcome.end).toEqual({ ok: false, failure: expect.objectContaining({ phase: 'config', reason: `pins file ${pins}: graviton3: holds 2 signals ("a", "b"); expected exactly the builder's one` }) });
    expect(outcome.events.filter((e) => e.phase !== 'report').map((e) => `${e.phase} ${e.event}`)).toEqual(['config failed']);
    expect(calls.filter((c) => c.startsWith('signal'))).toEqual([expect.stringMatching(/^signal FAILURE pins file /)]);
    const gone = join(work, 'gone.json');
    const again = await boot(withKeys({ GLLM_PINS_FILE: gone }), '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);
    expect(!again.end.ok && again.end.failure.reason).toMatch(new RegExp(`^pins file ${gone}: cannot be read \\(ENOENT`));
  });

  test('a fleet instance whose pins file has no pins for its CPU\'s generation fails before its build, naming both', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    const log = new BootLog({ clock, console: () => undefined });
    // A Graviton3, as AWS_ENV configures (its one generation).
    const { factory } = fakes(clock, calls, { machine: () => 'aarch64', cpuinfo: async () => ({ source: '/proc/cpuinfo', text: GRAVITON3 }) });
    const pins = join(work, 'pins-g4.json');
    const key = '0'.repeat(32);
    const report = { version: 1, buildKey: key, build: { object: `builds/${key}.tar.gz`, versionId: 'v1', sha256: 'b'.repeat(64) }, model: { object: `models/${'a'.repeat(64)}.gguf`, versionId: 'v2', sha256: 'a'.repeat(64) } };
    writeFileSync(pins, JSON.stringify({ graviton4: { 'i-04': JSON.stringify(report) } }));
    const outcome = await boot(withKeys({ GLLM_PINS_FILE: pins }), '/etc/graviton-llm/boot.env', log, clock, clock.now(), factory);
    expect(outcome.end).toEqual({ ok: false, failure: expect.objectContaining({
      phase: 'build',
      reason: `pins file ${pins} holds no pins for graviton3 (this instance's CPU); it holds graviton4: the template has no builder for this generation`,
    }) });
    const phases = outcome.events.filter((e) => e.phase !== 'report').map((e) => `${e.phase} ${e.event}`);
    expect(phases).toContain('cpu done');
    expect(phases).not.toContain('build start');
  });
});
