/**
 * Runs the boot program on a developer's Linux machine (and in the tests):
 * the same bundle an instance runs (runtime/boot/main.ts, bundled), with the
 * current Node, in `local` mode, where the cache
 * is a directory, the API key a file, the server a background process and the
 * result a final `GLLM_BOOT_RESULT=` line instead of a CloudFormation signal.
 *
 *   npx tsx lib/boot/local-boot.ts --model-url http://127.0.0.1:8000/m.gguf \
 *     --sha256 <hex> --size-bytes <n> [--llama-src DIR] [--api-key-file FILE] ...
 *   npx tsx lib/boot/local-boot.ts --stop [--work-dir DIR]
 *
 * The flags are checked by local-boot-options.ts before anything is written.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GENERATIONS, GravitonGeneration } from '../catalogs/graviton-generations';
import { LLAMA_CPP_REPOSITORY } from '../catalogs/llama-cpp-release';
import { usageErrors } from '../command-line/flags';
import { METRIC_NAMESPACE } from '../monitoring/metric-definitions';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { renderBootEnvironment } from './boot-environment';
import { bootBundleFile } from './boot-bundle-file';
import { localLayout } from '../../runtime/boot/layout';
import { generationFromCpuinfo, LOCAL_BOOT_USAGE, parseLocalBootArgs, type LocalBootOptions } from './local-boot-options';

/**
 * The generation to build for. On aarch64 it must be the CPU we run on (the
 * boot checks it again); parseLocalBootArgs has found it already, so this
 * reads the CPU only for options made another way. x86_64 builds ignore the
 * Arm flags, but the contract still wants well-formed values.
 */
function pickGeneration(opts: LocalBootOptions): GravitonGeneration {
  if (opts.generation !== undefined) return opts.generation;
  if (os.arch() !== 'arm64') return 4;
  const generation = generationFromCpuinfo(readFileSync(opts.cpuinfoPath ?? '/proc/cpuinfo', 'utf8'));
  if (generation === undefined) {
    throw new Error(`--generation: required here: the CPU is not a Graviton core; pass --generation ${Object.keys(GENERATIONS).join('|')} to choose the build flags`);
  }
  return generation;
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
    GLLM_PROMPT_CACHE_MIB: String(opts.promptCacheMiB),
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

/** Writes the environment file (and a key file when none is given) and runs the boot program; resolves with its exit code. */
export async function runLocalBoot(opts: LocalBootOptions): Promise<number> {
  // Everything that can refuse the options runs before the first write.
  const keyFile = opts.apiKeyFile ?? path.join(opts.workDir, 'api-key');
  const envText = renderBootEnvironment(localBootEnvironment(opts, keyFile));
  mkdirSync(opts.workDir, { recursive: true });
  if (!opts.apiKeyFile) writeGeneratedKey(keyFile);
  const envFile = path.join(opts.workDir, 'boot.env');
  writeFileSync(envFile, envText, { mode: 0o600 });
  // The Node running this (18 or later, as the bundle needs) on the fleet's own bundle.
  const child = spawn(process.execPath, [bootBundleFile(), envFile], { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** A key from $GLLM_API_KEY, or a new one unless the file holds one already, in a 0600 file. */
function writeGeneratedKey(file: string): void {
  const fromEnv = process.env.GLLM_API_KEY;
  if (fromEnv) {
    writeFileSync(file, `${fromEnv}\n`, { mode: 0o600 });
  } else if (!existsSync(file)) {
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    process.stderr.write(`local-boot: generated an API key in ${file}\n`);
  }
}

/** Where the boot keeps the local server's pid (runtime/boot/layout.ts). */
export function localPidFile(workDir: string): string {
  return localLayout(path.resolve(workDir)).pidFile;
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
  const parsed = parseLocalBootArgs(process.argv.slice(2));
  if ('help' in parsed) {
    process.stdout.write(`${LOCAL_BOOT_USAGE}\n`);
    return;
  }
  if ('errors' in parsed) {
    process.stderr.write(`${usageErrors('local', parsed.errors)}\n`);
    process.exitCode = 2;
    return;
  }
  if ('stop' in parsed) {
    process.stdout.write(stopLocalServer(parsed.workDir) ? 'stopped llama-server\n' : 'no llama-server running\n');
    return;
  }
  try {
    process.exitCode = await runLocalBoot(parsed.options);
  } catch (e) {
    // The CPU check (--generation) and a failure to start the boot program end here; a stack trace would bury them.
    process.stderr.write(`local-boot: ${(e as Error).message}\n`);
    process.exitCode = /^--/.test((e as Error).message) ? 2 : 1;
  }
}

if (require.main === module) {
  void main();
}
