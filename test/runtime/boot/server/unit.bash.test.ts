/**
 * Side by side, byte for byte: boot.sh's render_unit, systemd_exec_line,
 * service_unit and the files install_log_rotation writes, against
 * runtime/boot/server/unit.ts on the same inputs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type BootMode } from '../../../../runtime/boot/contract';
import { LOCK_CANDIDATES, listenHost } from '../../../../runtime/boot/server/args';
import { logRotation, renderUnit, serviceUnit, systemdExecLine } from '../../../../runtime/boot/server/unit';
import { BOOT_SH, inBootShell } from '../support/boot-shell';
import { AWS_ENV, LOCAL_ENV, envFileIn } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What boot.sh names itself as in the files it writes: its own file name. */
const WRITER = path.basename(BOOT_SH);

const envFile = (mode: BootMode, overrides: Record<string, string> = {}) => envFileIn(dir, mode, overrides);

/** The paths boot.sh's set_layout gives each mode. */
function layout(mode: BootMode) {
  const root = mode === 'aws' ? undefined : LOCAL_ENV.GLLM_WORK_DIR!;
  return {
    installRoot: root ? `${root}/llama.cpp` : '/opt/graviton-llm/llama.cpp',
    modelDir: root ? `${root}/models` : '/var/lib/graviton-llm/models',
    serverLog: root ? `${root}/logs/server.log` : '/var/log/graviton-llm/server.log',
    apiKeyFile: root ? `${root}/secrets/api-key` : '/etc/graviton-llm/api-key',
  };
}

/** What `body` printed after a `--` line. */
function after(out: string): string {
  const at = out.indexOf('--\n');
  if (at < 0) throw new Error(`no marker in: ${out}`);
  return out.slice(at + 3);
}

describe('service_unit and serviceUnit write the same unit', () => {
  interface Row { readonly slots: number; readonly ctx: number; readonly cacheMiB: number; readonly port: number; readonly threads: number; readonly lock: readonly string[]; readonly key: string }
  const BASE: Row = { slots: 4, ctx: 4096, cacheMiB: 1024, port: 8080, threads: 4, lock: [], key: '0123456789abcdef0123456789abcdef' };
  const rows: readonly Row[] = [
    BASE,
    { ...BASE, slots: 1, ctx: 512, cacheMiB: 0, threads: 1 },
    { ...BASE, slots: 64, ctx: 131072, cacheMiB: 9999999, port: 65535, threads: 192 },
    ...LOCK_CANDIDATES.map((lock) => ({ ...BASE, lock })),
    { ...BASE, port: 1024, key: 'ffffffffffffffffffffffffffffffff', lock: ['--mlock'] },
  ];

  test.each(rows.map((row) => [JSON.stringify(row), row] as const))('%s', (_name, row) => {
    const paths = layout('aws');
    const buildDir = `${paths.installRoot}/${row.key}`;
    const bash = inBootShell(
      'parse_env "$1"; set_layout; CPUS=$2; nproc() { echo "$CPUS"; }; BUILD_DIR=$INSTALL_ROOT/$3; LLAMA_SERVER=$BUILD_DIR/bin/llama-server; '
        + 'MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}; LOCK_ARGS=("${@:4}"); echo --; service_unit',
      [envFile('aws', { GLLM_PARALLEL_SLOTS: String(row.slots), GLLM_CONTEXT_PER_SLOT: String(row.ctx), GLLM_PROMPT_CACHE_MIB: String(row.cacheMiB), GLLM_PORT: String(row.port) }),
        String(row.threads), row.key, ...row.lock],
    );
    expect(bash.stderr).toBe('');
    const ts = serviceUnit({
      writer: WRITER, llamaServer: `${buildDir}/bin/llama-server`, modelPath: `${paths.modelDir}/${AWS_ENV.GLLM_MODEL_FILE}`, host: listenHost('aws'),
      port: row.port, parallelSlots: row.slots, contextPerSlot: row.ctx, promptCacheMiB: row.cacheMiB, threads: row.threads, lockArgs: row.lock,
      apiKeyFile: paths.apiKeyFile, serverLog: paths.serverLog, buildDir, modelDir: paths.modelDir,
    });
    expect(ts).toBe(after(bash.stdout));
  });
});

test.each(['aws', 'local'] as const)('render_unit and renderUnit agree on %s mode\'s paths', (mode) => {
  const paths = layout(mode);
  const exec = '/x/bin/llama-server --model /m.gguf --api-key-file %d/api-key';
  const bash = inBootShell('parse_env "$1"; set_layout; BUILD_DIR=$INSTALL_ROOT/k; echo --; render_unit "$2"', [envFile(mode), exec]);
  expect(renderUnit({ writer: WRITER, execStart: exec, apiKeyFile: paths.apiKeyFile, serverLog: paths.serverLog, buildDir: `${paths.installRoot}/k`, modelDir: paths.modelDir }))
    .toBe(after(bash.stdout));
});

describe('systemd_exec_line and systemdExecLine quote alike', () => {
  const rows: readonly (readonly string[])[] = [
    ['/bin/llama-server'],
    ['/bin/llama-server', '--port', '8080'],
    ['a%b', '%d/api-key', '%%', '100%'],
    ['/opt/x', '--host', '0.0.0.0', '--api-key-file', '%d/api-key', '--slot-prompt-similarity', '0.10'],
  ];
  test.each(rows.map((args) => [args.join(' '), args] as const))('%s', (_name, args) => {
    const bash = inBootShell('echo --; systemd_exec_line "$@"', args);
    expect(`${systemdExecLine(args)}\n`).toBe(after(bash.stdout));
  });
});

/**
 * install_log_rotation writes to /opt/graviton-llm and /etc/systemd/system:
 * here, in a mount namespace with an empty tmpfs over each, so the host's
 * are untouched. Skipped, saying why, where that cannot be made.
 */
const namespaceSkip = process.getuid?.() !== 0 ? 'needs root (mounts in a namespace)'
  : spawnSync('unshare', ['-m', 'true']).status !== 0 ? 'needs unshare -m (a mount namespace)' : '';

describe('install_log_rotation writes the files logRotation renders', () => {
  test.each(['aws', 'local'] as const)('%s mode', (mode) => {
    if (namespaceSkip) {
      console.log(`skipped: ${namespaceSkip}`);
      return;
    }
    const body = 'source "$0"; exec 3>&1; parse_env "$1"; set_layout; install_log_rotation; '
      + 'for f in /opt/graviton-llm/rotate-server-log.sh /etc/systemd/system/graviton-llm-log-rotate.service /etc/systemd/system/graviton-llm-log-rotate.timer; '
      + 'do printf -- "--%s\\n" "$f"; cat "$f"; done; stat -c %a /opt/graviton-llm/rotate-server-log.sh';
    const r = spawnSync('unshare', ['-m', 'sh', '-c',
      'mount -t tmpfs tmpfs /opt && mount -t tmpfs tmpfs /etc/systemd/system && exec bash -c "$@"', 'sh', body, BOOT_SH, envFile(mode)],
    { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const [, script, service, timer] = r.stdout.split(/^--\S+\n/m);
    const ts = logRotation({ writer: WRITER, serverLog: layout(mode).serverLog });
    expect({ script, service, timer: timer.replace(/\d+\n$/, '') }).toEqual(ts);
    expect(timer.endsWith('\n755\n')).toBe(true);
  });
});
