/**
 * Side by side: boot.sh's server_args, listen_host, choose_lock_args and
 * mlock_allowed against runtime/boot/server/args.ts, on the same inputs.
 * What bash asks the machine (nproc, ulimit -l, the model's size) and the
 * built server (which lock switch it parses) is stood in for by functions
 * defined after boot.sh is sourced.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type BootMode } from '../../../../runtime/boot/contract';
import {
  chooseLockArgs, LOCK_CANDIDATES, type LockCandidate, listenHost, memlockCovers, serverArgs,
} from '../../../../runtime/boot/server/args';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { AWS_ENV, LOCAL_ENV, envFileIn } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-server-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const envFile = (mode: BootMode, overrides: Record<string, string> = {}) => envFileIn(dir, mode, overrides);

interface Row {
  readonly mode: BootMode;
  readonly slots: number;
  readonly ctx: number;
  readonly cacheMiB: number;
  readonly port: number;
  readonly threads: number;
  readonly keyFile: string;
  readonly host: string;
  readonly lock: readonly string[];
}

const BASE: Row = { mode: 'aws', slots: 4, ctx: 4096, cacheMiB: 1024, port: 8080, threads: 4, keyFile: '/etc/graviton-llm/api-key', host: '0.0.0.0', lock: [] };

/** One dimension at a time from BASE, then a few rows that move several. */
const ROWS: readonly Row[] = [
  BASE,
  ...[1, 2, 3, 16, 64].map((slots) => ({ ...BASE, slots })),
  ...[512, 2048, 131072].map((ctx) => ({ ...BASE, ctx })),
  ...[0, 1, 245, 8192, 9999999].map((cacheMiB) => ({ ...BASE, cacheMiB })),
  ...[1024, 18080, 65535].map((port) => ({ ...BASE, port })),
  ...[1, 2, 64, 192].map((threads) => ({ ...BASE, threads })),
  { ...BASE, keyFile: '%d/api-key' },
  { ...BASE, host: '127.0.0.1' },
  ...LOCK_CANDIDATES.map((lock) => ({ ...BASE, lock })),
  { ...BASE, mode: 'local', port: 80, host: '127.0.0.1', keyFile: '/tmp/gllm/key' },
  { mode: 'local', slots: 8, ctx: 8192, cacheMiB: 0, port: 18080, threads: 2, keyFile: '/tmp/k', host: '127.0.0.1', lock: ['--mlock'] },
  { mode: 'aws', slots: 64, ctx: 131072, cacheMiB: 9999999, port: 65535, threads: 192, keyFile: '%d/api-key', host: '0.0.0.0', lock: ['--load-mode', 'mmap+mlock'] },
];

function bashServerArgs(row: Row): string[] {
  const file = envFile(row.mode, {
    GLLM_PARALLEL_SLOTS: String(row.slots), GLLM_CONTEXT_PER_SLOT: String(row.ctx), GLLM_PROMPT_CACHE_MIB: String(row.cacheMiB), GLLM_PORT: String(row.port),
  });
  const r = inBootShell(
    'parse_env "$1"; set_layout; CPUS=$2; nproc() { echo "$CPUS"; }; MODEL_PATH=$MODEL_DIR/$3; LOCK_ARGS=("${@:6}"); server_args "$4" "$5"; printf -- "--\\0"; printf "%s\\0" "${SERVER_ARGS[@]}"',
    [file, String(row.threads), AWS_ENV.GLLM_MODEL_FILE, row.keyFile, row.host, ...row.lock],
  );
  expect(r.stderr).toBe('');
  return wordsAfterMarker(r.stdout);
}

describe('server_args and serverArgs give llama-server the same vector', () => {
  test.each(ROWS.map((row) => [JSON.stringify(row), row] as const))('%s', (_name, row) => {
    const modelDir = row.mode === 'aws' ? '/var/lib/graviton-llm/models' : `${LOCAL_ENV.GLLM_WORK_DIR}/models`;
    expect(serverArgs({
      modelPath: `${modelDir}/${AWS_ENV.GLLM_MODEL_FILE}`, keyFile: row.keyFile, host: row.host, port: row.port, parallelSlots: row.slots,
      contextPerSlot: row.ctx, promptCacheMiB: row.cacheMiB, threads: row.threads, lockArgs: row.lock,
    })).toEqual(bashServerArgs(row));
  });
});

test.each(['aws', 'local'] as const)('listen_host and listenHost agree in %s mode', (mode) => {
  const r = inBootShell('parse_env "$1"; listen_host', [envFile(mode, {})]);
  expect(r.stdout.trim()).toBe(listenHost(mode));
});

describe('choose_lock_args and chooseLockArgs lock alike', () => {
  // A server that parses the switches it is told to (as the built one answers `SWITCH --version`).
  const server = path.join(dir, 'llama-server');
  writeFileSync(server, '#!/bin/sh\nfor a in $ACCEPTS; do [ "\${a}_--version" = "$(printf %s "$*" | tr " " _)" ] && exit 0; done\nexit 1\n');
  chmodSync(server, 0o755);
  const subsets: readonly (readonly LockCandidate[])[] = [[], [LOCK_CANDIDATES[0]], [LOCK_CANDIDATES[1]], [...LOCK_CANDIDATES]];
  const rows = (['aws', 'local'] as const).flatMap((mode) => [true, false].flatMap((allowed) => subsets.map((accepted) => ({ mode, allowed, accepted }))));

  test.each(rows.map((row) => [`${row.mode}, mlock ${row.allowed ? 'allowed' : 'not allowed'}, server accepts ${row.accepted.map((a) => a.join(' ')).join(' and ') || 'neither'}`, row] as const))('%s', (_name, row) => {
    const accepts = row.accepted.map((a) => a.join('_')).join(' ');
    const r = inBootShell(
      `parse_env "$1"; as_service_user() { "$@"; }; mlock_allowed() { ${row.allowed}; }; ulimit() { echo 0; }; export ACCEPTS="$2"; LLAMA_SERVER=$3; `
        + 'choose_lock_args; printf -- "--\\0"; for a in "${LOCK_ARGS[@]}"; do printf "%s\\0" "$a"; done',
      [envFile(row.mode, {}), accepts, server],
    );
    const bash = wordsAfterMarker(r.stdout);
    // The stand-in server answers as told: a row whose server accepts a switch, where locking is allowed, locks.
    expect(bash.length > 0).toBe(row.accepted.length > 0 && (row.mode === 'aws' || row.allowed));
    expect(chooseLockArgs({ lockAllowed: row.mode === 'aws' || row.allowed, accepted: row.accepted }).args).toEqual(bash);
  });
});

describe('mlock_allowed and memlockCovers agree on the limit a model needs', () => {
  const MIB = 1024 * 1024;
  const rows: readonly [number | 'unlimited', number][] = [
    ['unlimited', 70 * 1024 * MIB],
    [8192, 1],
    [65536, 0],
    [65535, 0],
    [(700 * MIB + 64 * MIB) / 1024, 700 * MIB],
    [(700 * MIB + 64 * MIB) / 1024, 700 * MIB + 1],
    [16 * 1024 * 1024, 4 * 1024 * MIB],
  ];
  test.each(rows)('ulimit -l %s, a model of %d bytes', (limit, size) => {
    const r = inBootShell(
      'parse_env "$1"; MODEL_PATH=/m.gguf LIMIT=$2 SIZE=$3; ulimit() { echo "$LIMIT"; }; file_size() { echo "$SIZE"; }; if mlock_allowed; then echo ALLOWED; else echo REFUSED; fi',
      [envFile('local', {}), String(limit), String(size)],
    );
    expect(r.stdout.trim()).toBe(memlockCovers(limit, size) ? 'ALLOWED' : 'REFUSED');
  });
});
