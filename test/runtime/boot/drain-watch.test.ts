/**
 * The drain watcher's entry (`boot drain-watch ENV_FILE`) and where the boot
 * sets it up: the same bundle's main dispatches to it; only a fleet instance
 * whose stack names its target group gets one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BootConfig, parseBootEnvironment } from '../../../runtime/boot/contract';
import { Deadline } from '../../../runtime/boot/core/deadline';
import { DRAIN_USAGE, drainWatchMain, type DrainSeams, instanceDrainInput } from '../../../runtime/boot/drain-watch';
import { machineAdapters, main } from '../../../runtime/boot/main';
import { FakeClock } from './support/fake-clock';
import { AWS_ENV, envText, LOCAL_ENV } from './support/environments';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/team-llm/0123456789abcdef';
const withKeys = (text: string, keys: Record<string, string>) => `${text}${Object.entries(keys).map(([k, v]) => `${k}=${v}\n`).join('')}`;

let work: string;
beforeEach(() => { work = mkdtempSync(join(tmpdir(), 'gllm-drain-main-')); });
afterEach(() => rmSync(work, { recursive: true, force: true }));

function envFile(text: string): string {
  const file = join(work, 'boot.env');
  writeFileSync(file, text);
  return file;
}

/** Seams whose watcher sees an interruption at once, on an idle server; records what it was given. */
function seams(calls: string[]): DrainSeams {
  const clock = new FakeClock();
  return {
    bootLog: join(work, 'boot.log'),
    clock,
    inputFor: (config, c, log) => {
      calls.push(`input ${config.targetGroupArn} port ${config.port}`);
      return {
        notices: { check: async () => ({ kind: 'notice', notice: { kind: 'interruption', action: 'terminate', atMs: undefined } }) },
        instanceId: async () => ({ ok: true, instanceId: 'i-1' }),
        targets: { deregister: async (id) => { calls.push(`deregister ${id}`); return { ok: true }; } },
        load: { read: async () => ({ ok: true, inFlight: 0 }) },
        stopServer: async () => { calls.push('stop'); },
        clock: c,
        log,
      };
    },
  };
}

test('main hands `drain-watch` to the watcher, which refuses a call without its file', async () => {
  const err: string[] = [];
  await expect(main(['drain-watch'], () => undefined, (l) => err.push(l))).resolves.toBe(2);
  expect(err).toEqual([DRAIN_USAGE]);
});

test('a fleet instance\'s configuration with its target group: watches, drains, exits 0, its lines in the boot log tagged drain', async () => {
  const calls: string[] = [];
  const code = await drainWatchMain([envFile(withKeys(envText(AWS_ENV), { GLLM_TARGET_GROUP_ARN: TG }))], () => undefined, () => undefined, seams(calls));
  expect(code).toBe(0);
  expect(calls).toEqual([`input ${TG} port ${AWS_ENV.GLLM_PORT}`, 'deregister i-1', 'stop']);
  const log = readFileSync(join(work, 'boot.log'), 'utf8');
  expect(log.split('\n').filter((l) => l !== '').every((l) => l.includes(' [drain] '))).toBe(true);
  expect(log).toMatch(/deregistered i-1/);
});

test.each([
  ['no target group', envText(AWS_ENV)],
  ['a local configuration', envText(LOCAL_ENV)],
  ['a file that is not a boot configuration', 'GLLM_MODE=aws\n'],
])('%s: nothing to watch, exit 2, nothing done', async (_name, text) => {
  const calls: string[] = [];
  const err: string[] = [];
  await expect(drainWatchMain([envFile(text)], () => undefined, (l) => err.push(l), seams(calls))).resolves.toBe(2);
  expect(calls).toEqual([]);
  expect(err).toHaveLength(1);
});

describe('the watcher\'s counter on an instance: GLLM_DRAIN_METRIC', () => {
  const fleetConfig = (keys: Record<string, string>) => {
    const parsed = parseBootEnvironment(withKeys(envText(AWS_ENV), { GLLM_TARGET_GROUP_ARN: TG, ...keys }));
    if (!parsed.ok || parsed.config.mode !== 'aws') throw new Error(JSON.stringify(parsed));
    return { ...parsed.config, targetGroupArn: TG };
  };

  test('set: a counter of that metric in the boot\'s namespace', () => {
    const input = instanceDrainInput(fleetConfig({ GLLM_DRAIN_METRIC: 'Drains' }), new FakeClock(), () => undefined);
    expect(input.counter?.metric).toBe(`${AWS_ENV.GLLM_METRIC_NAMESPACE}/Drains`);
  });

  test.each([['absent', {}], ['empty', { GLLM_DRAIN_METRIC: '' }]])('%s: no counter', (_name, keys) => {
    expect(instanceDrainInput(fleetConfig(keys), new FakeClock(), () => undefined).counter).toBeUndefined();
  });
});

describe('the boot sets a watcher up for a fleet instance with its target group only', () => {
  const config = (text: string): BootConfig => {
    const parsed = parseBootEnvironment(text);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.config;
  };
  const build = (cfg: BootConfig) => machineAdapters(cfg, { current: new Deadline(Date.now(), cfg.bootDeadlineSeconds, new FakeClock()) }, new FakeClock(), () => undefined);

  test('aws, a fleet instance with GLLM_TARGET_GROUP_ARN: the systemd watcher', async () => {
    const a = await build(config(withKeys(envText(AWS_ENV), { GLLM_TARGET_GROUP_ARN: TG })));
    expect(a.drainWatch?.constructor.name).toBe('SystemdDrainWatch');
  });

  test('without it, or locally: none (the drain-watch phase does not run)', async () => {
    expect((await build(config(envText(AWS_ENV)))).drainWatch).toBeUndefined();
    expect((await build(config(envText(LOCAL_ENV)))).drainWatch).toBeUndefined();
  });
});
