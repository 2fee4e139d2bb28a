/**
 * Runs the instance boot script on a developer's Linux machine (and in the
 * tests): the same boot.sh an instance runs, in `local` mode, where the cache
 * is a directory, the API key a file, the server a background process and the
 * result a final `GLLM_BOOT_RESULT=` line instead of a CloudFormation signal.
 *
 *   npx tsx lib/boot/local-boot.ts --model-url http://127.0.0.1:8000/m.gguf \
 *     --sha256 <hex> --size-bytes <n> [--llama-src DIR] [--api-key-file FILE] ...
 *   npx tsx lib/boot/local-boot.ts --stop [--work-dir DIR]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { GENERATIONS, GravitonGeneration } from '../catalogs/graviton-generations';
import { LLAMA_CPP_COMMIT_PATTERN, LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS, LLAMA_CPP_REPOSITORY } from '../catalogs/llama-cpp-release';
import { BootEnvironment, renderBootEnvironment } from './boot-environment';
import { METRIC_NAMESPACE } from '../monitoring/metric-definitions';

export const BOOT_SCRIPT = path.join(__dirname, 'boot.sh');

export interface LocalBootOptions {
  readonly modelUrl: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Holds everything the boot writes; defaults to `.cache/local-boot` in the working directory. */
  readonly workDir: string;
  /** Stands in for the S3 cache; defaults to `<workDir>/cache`. */
  readonly cacheDir: string;
  /** A llama.cpp source tree or git repository; without it the script clones upstream. */
  readonly llamaSrc?: string;
  readonly llamaRef: string;
  /** The commit llamaRef names; empty builds a --llama-src tree as it is. */
  readonly llamaCommit: string;
  /** File holding the API key; without it (and without $GLLM_API_KEY) one is generated. */
  readonly apiKeyFile?: string;
  readonly port: number;
  readonly slots: number;
  readonly ctxPerSlot: number;
  readonly healthTimeoutSeconds: number;
  /** The whole boot (install, build, download, health) must end within this. */
  readonly bootTimeoutSeconds: number;
  readonly modelFile: string;
  readonly quantizeTo: string;
  /** Graviton generation whose flags an aarch64 machine builds with; detected from the CPU when omitted. */
  readonly generation?: GravitonGeneration;
  /** Read instead of /proc/cpuinfo (tests). */
  readonly cpuinfoPath?: string;
}

const USAGE = `usage: local-boot.ts --model-url URL --sha256 HEX --size-bytes N [options]
       local-boot.ts --stop [--work-dir DIR]
options:
  --work-dir DIR        builds, model, logs, pid file (default .cache/local-boot)
  --cache-dir DIR       build and model cache (default <work-dir>/cache)
  --llama-src DIR       local llama.cpp source tree or git repo (default: fetch the commit from upstream)
  --llama-ref REF       llama.cpp release (default ${LLAMA_CPP_DEFAULT_REF})
  --llama-commit HEX    the commit REF names (default: known for ${Object.keys(LLAMA_CPP_RELEASE_COMMITS).join(', ')};
                        needed for another tag unless --llama-src is given)
  --api-key-file FILE   API key (default: $GLLM_API_KEY, else a generated key in <work-dir>/api-key)
  --port N              (default 8080)
  --slots N             parallel slots (default 2)
  --ctx-per-slot N      context tokens per slot (default 2048)
  --health-timeout S    seconds to wait for /health (default 300)
  --boot-timeout S      seconds the whole boot may take, build included (default 7200)
  --model-file NAME     served file name (default: from the URL)
  --quantize-to TYPE    quantize the downloaded model with llama-quantize (e.g. Q4_0)
  --generation N        Graviton generation to build for on aarch64 (default: detected)
  --cpuinfo FILE        read instead of /proc/cpuinfo by the CPU check (tests)
`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return Number(value);
}

export function parseLocalBootArgs(argv: readonly string[], cwd = process.cwd()): LocalBootOptions | { stop: true; workDir: string } {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      'model-url': { type: 'string' },
      sha256: { type: 'string' },
      'size-bytes': { type: 'string' },
      'work-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
      'llama-src': { type: 'string' },
      'llama-ref': { type: 'string' },
      'llama-commit': { type: 'string' },
      'api-key-file': { type: 'string' },
      port: { type: 'string' },
      slots: { type: 'string' },
      'ctx-per-slot': { type: 'string' },
      'health-timeout': { type: 'string' },
      'boot-timeout': { type: 'string' },
      'model-file': { type: 'string' },
      'quantize-to': { type: 'string' },
      generation: { type: 'string' },
      cpuinfo: { type: 'string' },
      stop: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const workDir = path.resolve(cwd, values['work-dir'] ?? path.join('.cache', 'local-boot'));
  if (values.stop) return { stop: true, workDir };
  const modelUrl = values['model-url'];
  if (!modelUrl || !values.sha256 || !values['size-bytes']) {
    throw new Error(`--model-url, --sha256 and --size-bytes are required\n${USAGE}`);
  }
  const urlName = path.posix.basename(new URL(modelUrl).pathname);
  let generation: GravitonGeneration | undefined;
  if (values.generation !== undefined) {
    const g = Number(values.generation);
    if (!(g in GENERATIONS)) throw new Error(`--generation must be one of ${Object.keys(GENERATIONS).join(', ')}`);
    generation = g as GravitonGeneration;
  }
  const llamaRef = values['llama-ref'] ?? LLAMA_CPP_DEFAULT_REF;
  const llamaCommit = values['llama-commit'] ?? (LLAMA_CPP_COMMIT_PATTERN.test(llamaRef) ? llamaRef : LLAMA_CPP_RELEASE_COMMITS[llamaRef] ?? '');
  if (llamaCommit && !LLAMA_CPP_COMMIT_PATTERN.test(llamaCommit)) {
    throw new Error(`--llama-commit must be a 40-character commit hash, got ${llamaCommit}`);
  }
  if (!llamaCommit && !values['llama-src']) {
    throw new Error(`--llama-ref ${llamaRef} is a tag whose commit the kit does not know: pass --llama-commit (git ls-remote ${LLAMA_CPP_REPOSITORY} refs/tags/${llamaRef})`);
  }
  return {
    modelUrl,
    sha256: values.sha256.toLowerCase(),
    sizeBytes: positiveInt('size-bytes', values['size-bytes'], 0),
    workDir,
    cacheDir: path.resolve(cwd, values['cache-dir'] ?? path.join(workDir, 'cache')),
    llamaSrc: values['llama-src'] && path.resolve(cwd, values['llama-src']),
    llamaRef,
    llamaCommit,
    apiKeyFile: values['api-key-file'] && path.resolve(cwd, values['api-key-file']),
    port: positiveInt('port', values.port, 8080),
    slots: positiveInt('slots', values.slots, 2),
    ctxPerSlot: positiveInt('ctx-per-slot', values['ctx-per-slot'], 2048),
    healthTimeoutSeconds: positiveInt('health-timeout', values['health-timeout'], 300),
    bootTimeoutSeconds: positiveInt('boot-timeout', values['boot-timeout'], 7200),
    modelFile: values['model-file'] ?? (urlName.endsWith('.gguf') ? urlName : 'model.gguf'),
    quantizeTo: values['quantize-to'] ?? '',
    generation,
    cpuinfoPath: values.cpuinfo && path.resolve(cwd, values.cpuinfo),
  };
}

/**
 * The generation to build for. On aarch64 it must be the CPU we run on (the
 * script checks it again); x86_64 builds ignore the Arm flags, but the
 * contract still wants well-formed values.
 */
function pickGeneration(opts: LocalBootOptions): GravitonGeneration {
  if (opts.generation !== undefined) return opts.generation;
  if (os.arch() !== 'arm64') return 4;
  const cpuinfo = readFileSync(opts.cpuinfoPath ?? '/proc/cpuinfo', 'utf8');
  const part = /^CPU part\s*:\s*(0x[0-9a-f]+)/im.exec(cpuinfo)?.[1]?.toLowerCase();
  const match = Object.values(GENERATIONS).find((g) => g.cpuPart === part);
  if (!match) {
    throw new Error(`CPU part ${part ?? 'unknown'} is not a Graviton core; pass --generation to choose the build flags`);
  }
  return match.generation;
}

/** The boot environment for a local boot: the aws contract with local stand-ins. */
export function localBootEnvironment(opts: LocalBootOptions, apiKeyFile: string): BootEnvironment {
  const spec = GENERATIONS[pickGeneration(opts)];
  return {
    GLLM_MODE: 'local',
    GLLM_INSTANCE_TYPE: 'local',
    GLLM_GENERATION: String(spec.generation),
    GLLM_CPU_PART: spec.cpuPart,
    GLLM_ARM_ARCH: spec.armArch,
    GLLM_LLAMA_CPP_REPOSITORY: LLAMA_CPP_REPOSITORY,
    GLLM_LLAMA_CPP_REF: opts.llamaRef,
    GLLM_LLAMA_CPP_COMMIT: opts.llamaCommit,
    GLLM_CACHE_URI: opts.cacheDir,
    GLLM_MODEL_SOURCE: opts.modelUrl,
    GLLM_MODEL_SHA256: opts.sha256,
    GLLM_MODEL_SIZE_BYTES: String(opts.sizeBytes),
    GLLM_MODEL_FILE: opts.modelFile,
    GLLM_QUANTIZE_TO: opts.quantizeTo,
    GLLM_HF_TOKEN_PARAMETER: '',
    // No SSM, CloudFormation or CloudWatch locally: inert placeholders.
    GLLM_API_KEY_PARAMETER: 'local',
    GLLM_PORT: String(opts.port),
    GLLM_PARALLEL_SLOTS: String(opts.slots),
    GLLM_CONTEXT_PER_SLOT: String(opts.ctxPerSlot),
    GLLM_HEALTH_TIMEOUT_SECONDS: String(opts.healthTimeoutSeconds),
    GLLM_BOOT_DEADLINE_SECONDS: String(opts.bootTimeoutSeconds),
    GLLM_STACK_NAME: 'local',
    GLLM_SIGNAL_RESOURCE: 'local',
    GLLM_REGION: 'local',
    GLLM_BOOT_LOG_GROUP: 'local',
    GLLM_SERVER_LOG_GROUP: 'local',
    GLLM_AGENT_CONFIG_PARAMETER: '',
    GLLM_PROMETHEUS_CONFIG_PARAMETER: '',
    GLLM_AUTOSCALING_GROUP: 'local',
    GLLM_LIFECYCLE_HOOK: '',
    GLLM_METRIC_NAMESPACE: METRIC_NAMESPACE,
    GLLM_BOOT_FAILURE_METRIC: '',
    GLLM_WORK_DIR: opts.workDir,
    GLLM_API_KEY_FILE: apiKeyFile,
    ...(opts.llamaSrc ? { GLLM_LLAMA_CPP_SOURCE_DIR: opts.llamaSrc } : {}),
    ...(opts.cpuinfoPath ? { GLLM_CPUINFO_PATH: opts.cpuinfoPath } : {}),
  };
}

/** The key file to hand to the script; a key from the environment or a new one goes into a 0600 file. */
function resolveApiKeyFile(opts: LocalBootOptions): string {
  if (opts.apiKeyFile) return opts.apiKeyFile;
  const file = path.join(opts.workDir, 'api-key');
  const fromEnv = process.env.GLLM_API_KEY;
  if (fromEnv) {
    writeFileSync(file, `${fromEnv}\n`, { mode: 0o600 });
  } else if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    process.stderr.write(`local-boot: generated an API key in ${file}\n`);
  }
  return file;
}

/** Writes the environment file and runs boot.sh; resolves with its exit code. */
export async function runLocalBoot(opts: LocalBootOptions): Promise<number> {
  mkdirSync(opts.workDir, { recursive: true });
  const envFile = path.join(opts.workDir, 'boot.env');
  writeFileSync(envFile, renderBootEnvironment(localBootEnvironment(opts, resolveApiKeyFile(opts))), { mode: 0o600 });
  const child = spawn('bash', [BOOT_SCRIPT, envFile], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Where boot.sh keeps the local server's pid (see set_layout in boot.sh). */
export function localPidFile(workDir: string): string {
  return path.join(workDir, 'state', 'llama-server.pid');
}

/** Stops the server a local boot left running, if it is still ours. */
export function stopLocalServer(workDir: string): boolean {
  const pidFile = localPidFile(workDir);
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  if (!cmdline.includes('llama-server')) return false;
  process.kill(pid, 'SIGTERM');
  return true;
}

async function main(): Promise<void> {
  try {
    const parsed = parseLocalBootArgs(process.argv.slice(2));
    if ('stop' in parsed) {
      process.stdout.write(stopLocalServer(parsed.workDir) ? 'stopped llama-server\n' : 'no llama-server running\n');
      return;
    }
    process.exitCode = await runLocalBoot(parsed);
  } catch (e) {
    // Argument and configuration mistakes are the user's to fix; a stack trace would bury them.
    process.stderr.write(`local-boot: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (require.main === module) {
  void main();
}
