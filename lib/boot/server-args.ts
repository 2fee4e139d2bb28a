/**
 * llama-server's argument vector as the boot script renders it. boot.sh's
 * server_args is the one definition of the kit's server settings; everything
 * else that serves "with the kit's settings" (the local comparison bench, the
 * test servers) asks the script for the vector instead of keeping a list of
 * its own that could drift from it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type BootEnvironment } from '../../runtime/boot/contract';
import { renderBootEnvironment } from './boot-environment';
import { BOOT_SCRIPT } from './boot-script';

export interface BootServerArgsInput {
  /** The boot environment the script parses (GLLM_PARALLEL_SLOTS, GLLM_PROMPT_CACHE_MIB, ...). */
  readonly env: BootEnvironment;
  /** What the script would put in --model. */
  readonly modelPath: string;
  /** What the script would put in --api-key-file. */
  readonly keyFile: string;
  /** What the script would put in --host. */
  readonly host: string;
}

/**
 * Runs boot.sh's server_args on `env` and returns SERVER_ARGS, one element
 * per argument. The memory lock (LOCK_ARGS) is left out: boot.sh chooses it
 * by asking the built server, and a benchmark does not lock.
 */
export function bootServerArgs(input: BootServerArgsInput): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-server-args-'));
  try {
    const envFile = path.join(dir, 'boot.env');
    writeFileSync(envFile, renderBootEnvironment(input.env), { mode: 0o600 });
    // The script boots only when executed; sourced, it defines its functions and stops.
    const r = spawnSync('bash', [
      '-c',
      'source "$0"; exec 3>&1; parse_env "$1"; set_layout; MODEL_PATH=$2; LOCK_ARGS=(); server_args "$3" "$4"; printf "%s\\0" "${SERVER_ARGS[@]}"',
      BOOT_SCRIPT, envFile, input.modelPath, input.keyFile, input.host,
    ], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) {
      throw new Error(`boot.sh server_args failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
    }
    return r.stdout.split('\0').slice(0, -1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Flags whose value says where the server is, not how it serves: a harness sets its own. */
export const ENDPOINT_FLAGS = ['--model', '--host', '--port', '--api-key-file'] as const;

/** The vector without the endpoint flags and their values: the kit's serving settings alone. */
export function servingSettings(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if ((ENDPOINT_FLAGS as readonly string[]).includes(args[i])) {
      i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}
