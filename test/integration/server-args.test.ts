/**
 * The argument vector the boot program gives llama-server, proven by running
 * the built server with it rather than by comparing strings: a flag the
 * pinned release does not know (`--mlock` on v0.5.0) once stopped every
 * deployment from serving while a string comparison passed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { systemClock } from '../../runtime/boot/core/clock';
import { Exec } from '../../runtime/boot/core/exec';
import { PhaseFailure } from '../../runtime/boot/core/phase';
import { chooseLock, type PreflightPhaseInput, preflightPhase } from '../../runtime/boot/phases/preflight';
import { chooseLockArgs, LOCK_CANDIDATES, listenHost } from '../../runtime/boot/server/args';
import { serviceUnit } from '../../runtime/boot/server/unit';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, OLDER_NODE_LLAMA_CPP_VERSION } from '../support/llama-cpp-source';
import { ensureTinyModel } from '../support/tiny-model';

const BUILD_TIMEOUT_MS = 60 * 60 * 1000;

let llamaServer: string;
let modelPath: string;
let dir: string;

function awsEnv(): BootEnvironment {
  return {
    GLLM_MODE: 'aws', GLLM_INSTANCE_TYPE: 'c7g.xlarge', GLLM_GENERATION: '3', GLLM_CPU_PART: '0xd40',
    GLLM_ARM_ARCH: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16', GLLM_LLAMA_CPP_REPOSITORY: 'https://github.com/ggml-org/llama.cpp',
    GLLM_LLAMA_CPP_REF: 'v0.5.0', GLLM_LLAMA_CPP_COMMIT: LLAMA_CPP_RELEASE_COMMITS['v0.5.0'], GLLM_CACHE_URI: 's3://bucket/cache', GLLM_MODEL_SOURCE: 's3://models/tiny.gguf',
    GLLM_MODEL_SHA256: 'a'.repeat(64), GLLM_MODEL_SIZE_BYTES: '1234', GLLM_MODEL_FILE: 'model.gguf', GLLM_QUANTIZE_TO: '',
    GLLM_HF_TOKEN_PARAMETER: '', GLLM_API_KEY_PARAMETER: '/graviton-llm/api-key', GLLM_PORT: '18080',
    GLLM_PARALLEL_SLOTS: '4', GLLM_CONTEXT_PER_SLOT: '4096', GLLM_PROMPT_CACHE_MIB: '1024', GLLM_HEALTH_TIMEOUT_SECONDS: '60', GLLM_BOOT_DEADLINE_SECONDS: '600', GLLM_STACK_NAME: 'Stack',
    GLLM_SIGNAL_RESOURCE: 'Group1234', GLLM_REGION: 'eu-west-1', GLLM_BOOT_LOG_GROUP: 'boot', GLLM_SERVER_LOG_GROUP: 'server',
    GLLM_AGENT_CONFIG_PARAMETER: '', GLLM_PROMETHEUS_CONFIG_PARAMETER: '', GLLM_AUTOSCALING_GROUP: 'Stack-fleet',
    GLLM_LIFECYCLE_HOOK: 'graviton-llm-launch', GLLM_METRIC_NAMESPACE: 'GravitonLlm', GLLM_BOOT_FAILURE_METRIC: 'BootFailure',
  };
}

/**
 * The preflight phase's input for `server`, as an instance's boot makes it
 * from an aws environment, with what this host lacks stood in for: the state
 * directory (a temporary one), and the service user the boot runs a build's
 * programs as (this host has no `llama` user, and the tests must not add one;
 * the Exec runs them as this user). The instance box runs both for real.
 */
function preflightInput(server: string, log: string[]): PreflightPhaseInput {
  const env = awsEnv();
  return {
    llamaServer: server,
    settings: {
      modelPath, host: listenHost('aws'), port: Number(env.GLLM_PORT), parallelSlots: Number(env.GLLM_PARALLEL_SLOTS),
      contextPerSlot: Number(env.GLLM_CONTEXT_PER_SLOT), promptCacheMiB: Number(env.GLLM_PROMPT_CACHE_MIB), threads: os.availableParallelism(),
    },
    lock: 'always',
    modelBytes: 1234,
    scratchDir: dir,
    limitMs: () => Date.now() + 60_000,
    exec: new Exec({ clock: systemClock }),
    platform: { memlockLimitBytes: async () => 'unlimited' },
    log: (m) => log.push(m),
    record: () => undefined,
  };
}

/** The preflight phase run against `server`: its lock and log, or its failure's reason. */
async function preflight(server: string, input: (i: PreflightPhaseInput) => PreflightPhaseInput = (i) => i) {
  const log: string[] = [];
  try {
    const out = await preflightPhase.run(input(preflightInput(server, log)));
    return { lockArgs: out.lockArgs, log, failure: undefined };
  } catch (e) {
    if (!(e instanceof PhaseFailure)) throw e;
    return { lockArgs: undefined, log, failure: e.message };
  }
}

/** The lock the TypeScript boot chooses for `server`: each candidate asked as the boot asks it (`SWITCH --version`). */
function tsLockArgs(server: string): readonly string[] {
  const accepted = LOCK_CANDIDATES.filter((candidate) => spawnSync(server, [...candidate, '--version']).status === 0);
  return chooseLockArgs({ lockAllowed: true, accepted }).args;
}

/** The TypeScript unit's ExecStart for `server`, as systemd would run it: %d expanded to `credentials`, %% to %. */
function tsExecStart(server: string, credentials: string): string[] {
  const env = awsEnv();
  const unit = serviceUnit({
    writer: 'boot.js', llamaServer: server, modelPath, host: listenHost('aws'), port: Number(env.GLLM_PORT), parallelSlots: Number(env.GLLM_PARALLEL_SLOTS),
    contextPerSlot: Number(env.GLLM_CONTEXT_PER_SLOT), promptCacheMiB: Number(env.GLLM_PROMPT_CACHE_MIB), threads: os.availableParallelism(), lockArgs: tsLockArgs(server),
    apiKeyFile: '/etc/graviton-llm/api-key', serverLog: '/var/log/graviton-llm/server.log', buildDir: path.dirname(path.dirname(server)), modelDir: path.dirname(modelPath),
  });
  const exec = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;
  return exec.slice('ExecStart='.length).split(' ').map((a) => a.replace('%d', credentials).replace(/%%/g, '%'));
}

beforeAll(async () => {
  const source = await ensureLlamaCppSource();
  const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server'] });
  llamaServer = build.binaries['llama-server'];
  modelPath = (await ensureTinyModel({ source })).path;
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-server-args-'));
  writeFileSync(path.join(dir, 'api-key'), 'test-key\n');
}, BUILD_TIMEOUT_MS);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('llama-server arguments (aws mode), run against the pinned release', () => {
  test('the release rejects --mlock: the flag the boot once passed', () => {
    const r = spawnSync(llamaServer, ['--mlock', '--version'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('invalid argument: --mlock');
  });

  test('the lock flag is chosen by what the built server accepts', async () => {
    const log: string[] = [];
    expect(await chooseLock(preflightInput(llamaServer, log))).toEqual(['--load-mode', 'mmap+mlock']);
    expect(log).toContain('memory lock: --load-mode mmap+mlock (accepted by this llama-server)');
  });

  test('the unit\'s ExecStart, its lock chosen by asking the server and the credential path filled in as systemd would, is accepted by the server', () => {
    const credentials = path.join(dir, 'ts-credentials');
    mkdirSync(credentials, { recursive: true });
    writeFileSync(path.join(credentials, 'api-key'), 'test-key\n');
    const argv = tsExecStart(llamaServer, credentials);
    expect(argv[0]).toBe(llamaServer);
    expect(argv.slice(-2)).toEqual(['--load-mode', 'mmap+mlock']);
    const run = spawnSync(llamaServer, [...argv.slice(1), '--version'], { encoding: 'utf8' });
    expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: expect.stringMatching(/^built with/m) });
  });

  test('the boot\'s preflight passes the arguments it will start the server with', async () => {
    const r = await preflight(llamaServer);
    expect(r.failure).toBeUndefined();
    expect(r.lockArgs).toEqual(['--load-mode', 'mmap+mlock']);
    expect(r.log).toEqual(expect.arrayContaining([expect.stringMatching(/^llama-server accepts its \d+ arguments/)]));
  });

  test('the preflight fails the boot with the server\'s own error line when it rejects a flag', async () => {
    // What the boot did before the fix: the lock flag of releases before v0.5.0. The lock questions are
    // answered as an older server would (--mlock taken); the preflight itself asks the real server.
    const real = new Exec({ clock: systemClock });
    const r = await preflight(llamaServer, (i) => ({ ...i, exec: { run: (req) => {
      const lockQuestion = req.args?.[req.args.length - 1] === '--version' && (req.args[0] === '--mlock' || req.args[0] === '--load-mode') && req.args.length <= 3;
      return real.run(lockQuestion ? { ...req, program: req.args![0] === '--mlock' ? 'true' : 'false' } : req);
    } } }));
    expect(r.lockArgs).toBeUndefined();
    expect(r.failure).toBe('llama-server rejects its arguments (exit 1): error: invalid argument: --mlock');
  });
});

describe('llama-server arguments against an older release that knows only --mlock', () => {
  let olderServer: string;
  let olderTag: string;

  beforeAll(async () => {
    const source = await ensureLlamaCppSource(OLDER_NODE_LLAMA_CPP_VERSION);
    olderTag = source.tag;
    olderServer = (await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server'] })).binaries['llama-server'];
  }, BUILD_TIMEOUT_MS);

  test('that release rejects --load-mode and takes --mlock', () => {
    const loadMode = spawnSync(olderServer, ['--load-mode', 'mmap+mlock', '--version'], { encoding: 'utf8' });
    expect(loadMode.status).not.toBe(0);
    const mlock = spawnSync(olderServer, ['--mlock', '--version'], { encoding: 'utf8' });
    expect({ release: olderTag, status: mlock.status }).toEqual({ release: olderTag, status: 0 });
  });

  test('the TypeScript boot chooses --mlock for it, and the server accepts the unit\'s arguments', () => {
    const argv = tsExecStart(olderServer, dir);
    expect(argv[argv.length - 1]).toBe('--mlock');
    expect(spawnSync(olderServer, [...argv.slice(1), '--version']).status).toBe(0);
  });

  test('the boot chooses --mlock for it, and the preflight passes the unit\'s arguments', async () => {
    const r = await preflight(olderServer);
    expect(r.failure).toBeUndefined();
    expect(r.lockArgs).toEqual(['--mlock']);
    expect(r.log).toContain('memory lock: --mlock (accepted by this llama-server)');
  });
});
