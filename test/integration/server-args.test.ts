/**
 * The argument vector the boot script gives llama-server, proven by running
 * the built server with it rather than by comparing strings: a flag the
 * pinned release does not know (`--mlock` on v0.5.0) once stopped every
 * deployment from serving while a string comparison passed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { chooseLockArgs, LOCK_CANDIDATES, listenHost } from '../../runtime/boot/server/args';
import { serviceUnit } from '../../runtime/boot/server/unit';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, OLDER_NODE_LLAMA_CPP_VERSION } from '../support/llama-cpp-source';
import { ensureTinyModel } from '../support/tiny-model';

const SCRIPT = path.resolve(__dirname, '..', '..', 'lib', 'boot', 'boot.sh');
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
 * Runs `body` in a shell that has sourced boot.sh, parsed an aws environment and points at the built server and model.
 * Two things of an instance this host lacks are stood in for: the state directory (a temporary one), and the
 * service user the boot runs a build's programs as (`as_service_user`; this host has no `llama` user, and the
 * tests must not add one). The instance box runs both for real.
 */
function inBootShell(body: string, server = llamaServer) {
  const envFile = path.join(dir, 'boot.env');
  writeFileSync(envFile, renderBootEnvironment(awsEnv()));
  const r = spawnSync('bash', ['-c',
    `source "$0"; exec 3>&1; parse_env "$1"; set_layout; STATE_DIR="$5"; as_service_user() { "$@"; }; `
      + `LLAMA_SERVER="$2"; BUILD_DIR=\${2%/bin/*}; MODEL_PATH="$3"; API_KEY_FILE="$4"; ${body}`,
    SCRIPT, envFile, server, modelPath, path.join(dir, 'api-key'), dir], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
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

  test('the lock flag is chosen by what the built server accepts', () => {
    const r = inBootShell('choose_lock_args; printf "LOCK=%s\\n" "${LOCK_ARGS[*]}"');
    expect(r.status).toBe(0);
    expect(r.out).toContain('LOCK=--load-mode mmap+mlock');
  });

  test('the unit\'s ExecStart, with the credential path filled in as systemd would, is accepted by the server', () => {
    const r = inBootShell('choose_lock_args; service_unit');
    expect(r.status).toBe(0);
    const exec = r.out.split('\n').find((l) => l.startsWith('ExecStart='));
    expect(exec).toBeDefined();
    // systemd expands %d to the unit's credentials directory; %% to %.
    const credentials = path.join(dir, 'credentials');
    mkdirSync(credentials, { recursive: true });
    writeFileSync(path.join(credentials, 'api-key'), 'test-key\n');
    const argv = exec!.slice('ExecStart='.length).split(' ').map((a) => a.replace('%d', credentials).replace(/%%/g, '%'));
    expect(argv[0]).toMatch(/\/bin\/llama-server$/);
    expect(argv).toEqual(expect.arrayContaining(['--load-mode', 'mmap+mlock']));
    const run = spawnSync(llamaServer, [...argv.slice(1), '--version'], { encoding: 'utf8' });
    expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: expect.stringMatching(/^built with/m) });
  });

  test('the TypeScript unit\'s ExecStart, its lock chosen by asking the server, is accepted by the server', () => {
    const credentials = path.join(dir, 'ts-credentials');
    mkdirSync(credentials, { recursive: true });
    writeFileSync(path.join(credentials, 'api-key'), 'test-key\n');
    const argv = tsExecStart(llamaServer, credentials);
    expect(argv.slice(-2)).toEqual(['--load-mode', 'mmap+mlock']);
    const run = spawnSync(llamaServer, [...argv.slice(1), '--version'], { encoding: 'utf8' });
    expect({ status: run.status, output: run.stdout + run.stderr }).toEqual({ status: 0, output: expect.stringMatching(/^built with/m) });
  });

  test('the boot\'s preflight passes the arguments it will start the server with', () => {
    const r = inBootShell('choose_lock_args; preflight_server 0.0.0.0 && echo PREFLIGHT_OK');
    expect(r.out).toContain('PREFLIGHT_OK');
    expect(r.out).toMatch(/llama-server accepts its \d+ arguments/);
  });

  test('the preflight fails the boot with the server\'s own error line when it rejects a flag', () => {
    // What the boot did before the fix: the lock flag of releases before v0.5.0.
    const r = inBootShell('LOCK_ARGS=(--mlock); trap on_exit EXIT; preflight_server 0.0.0.0');
    expect(r.status).toBe(1);
    expect(r.out).toContain('GLLM_BOOT_RESULT=FAILURE reason=llama-server rejects its arguments (exit 1): error: invalid argument: --mlock');
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

  test('the boot chooses --mlock for it, and the preflight passes the unit\'s arguments', () => {
    const r = inBootShell('choose_lock_args; printf "LOCK=%s\\n" "${LOCK_ARGS[*]}"; preflight_server 0.0.0.0 && echo PREFLIGHT_OK', olderServer);
    expect(r.out).toContain('LOCK=--mlock\n');
    expect(r.out).toContain('memory lock: --mlock (accepted by this llama-server)');
    expect(r.out).toContain('PREFLIGHT_OK');
  });
});
