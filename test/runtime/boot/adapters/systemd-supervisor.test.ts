/**
 * The systemd Supervisor against stand-in systemctl, journalctl, useradd,
 * id, chown and systemd-run on PATH, which record their arguments and answer
 * from files the test writes; the units are written under a temporary root.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemdSupervisor } from '../../../../runtime/boot/adapters/systemd-supervisor';
import { systemClock } from '../../../../runtime/boot/core/clock';
import { Exec } from '../../../../runtime/boot/core/exec';
import type { ServerLaunch } from '../../../../runtime/boot/ports';
import { serverArgs } from '../../../../runtime/boot/server/args';
import { LOG_ROTATE_SCRIPT, logRotation, serviceUnit, UNIT_NAME } from '../../../../runtime/boot/server/unit';

let dir: string;
let root: string;
let bin: string;
let state: string;
let lines: string[];

/** A stand-in that records `NAME ARGS` and then runs `body` (sh). */
function standIn(name: string, body: string): void {
  const file = join(bin, name);
  writeFileSync(file, `#!/bin/sh\nS=${state}\nprintf '%s\\n' "${name} $*" >>"$S/calls"\n${body}\n`);
  chmodSync(file, 0o755);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gllm-systemd-'));
  root = join(dir, 'root');
  bin = join(dir, 'bin');
  state = join(dir, 'state');
  for (const d of [root, bin, state]) mkdirSync(d);
  lines = [];
  standIn('id', '[ -f "$S/user-exists" ]');
  standIn('useradd', 'exit 0');
  standIn('chown', 'exit 0');
  standIn(
    'systemctl',
    `[ -f "$S/fail-$1" ] && { echo "systemctl $1 failed" >&2; exit 1; }
if [ "$1" = show ] && [ "$4" = --value ]; then cat "$S/$3" 2>/dev/null || true; fi
if [ "$1" = show ] && [ "$4" != --value ]; then printf 'Result=exit-code\\nExecMainCode=1\\nExecMainStatus=1\\nNRestarts=2\\n'; fi
if [ "$1" = restart ]; then echo "restarted" >>"$S/server.log"; fi
exit 0`,
  );
  standIn('journalctl', "printf 'Started graviton-llm.\\nllama-server: main process exited, code=exited, status=1/FAILURE\\n'");
  standIn('systemd-run', 'cat "$S/metadata-code" 2>/dev/null; exit 0');
  writeFileSync(join(state, 'NRestarts'), '0\n');
  writeFileSync(join(state, 'ActiveState'), 'active\n');
  writeFileSync(join(state, 'IPAddressDeny'), '169.254.169.254 fd00:ec2::254\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function supervisor(): SystemdSupervisor {
  const exec = new Exec({ clock: systemClock });
  return new SystemdSupervisor({
    exec: { run: (req) => exec.run({ ...req, env: { ...req.env, PATH: `${bin}:${process.env.PATH}` } }) },
    limitMs: () => Date.now() + 60_000,
    serviceUser: 'llama',
    writer: 'boot',
    root,
    log: (m) => lines.push(m),
  });
}

const calls = () => (existsSync(join(state, 'calls')) ? readFileSync(join(state, 'calls'), 'utf8').trim().split('\n') : []);

const settings = { modelPath: '/var/lib/graviton-llm/models/m.gguf', host: '0.0.0.0', port: 8080, parallelSlots: 2, contextPerSlot: 4096, promptCacheMiB: 512, threads: 4, lockArgs: ['--mlock'] };

function launch(): ServerLaunch {
  return {
    program: '/opt/graviton-llm/llama.cpp/k/bin/llama-server',
    args: (keyFile) => serverArgs({ ...settings, keyFile }),
    apiKeyFile: '/etc/graviton-llm/api-key',
    readOnlyPaths: ['/opt/graviton-llm/llama.cpp/k', '/var/lib/graviton-llm/models'],
    logFile: join(dir, 'log', 'server.log'),
  };
}

const unitFile = () => join(root, 'etc/systemd/system', UNIT_NAME);

describe('start', () => {
  test('writes the unit server/unit.ts renders for this launch, and the log rotation, then restarts the unit', async () => {
    const l = launch();
    await expect(supervisor().start(l)).resolves.toEqual({ ok: true });
    expect(readFileSync(unitFile(), 'utf8')).toBe(
      serviceUnit({ ...settings, writer: 'boot', llamaServer: l.program, apiKeyFile: l.apiKeyFile, serverLog: l.logFile, buildDir: l.readOnlyPaths[0], modelDir: l.readOnlyPaths[1] }),
    );
    expect(existsSync(`${unitFile()}.tmp`)).toBe(false);
    const rotation = logRotation({ writer: 'boot', serverLog: l.logFile });
    expect(readFileSync(join(root, LOG_ROTATE_SCRIPT), 'utf8')).toBe(rotation.script);
    expect(statSync(join(root, LOG_ROTATE_SCRIPT)).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'etc/systemd/system/graviton-llm-log-rotate.service'), 'utf8')).toBe(rotation.service);
    expect(readFileSync(join(root, 'etc/systemd/system/graviton-llm-log-rotate.timer'), 'utf8')).toBe(rotation.timer);
    expect(statSync(l.logFile).mode & 0o777).toBe(0o640);
    expect(calls()).toEqual([
      'id -u llama',
      'useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /sbin/nologin llama',
      `chown llama:llama ${l.logFile}`,
      'systemctl daemon-reload',
      `systemctl enable --quiet ${UNIT_NAME}`,
      'systemctl enable --now --quiet graviton-llm-log-rotate.timer',
      `systemctl show -p NRestarts --value ${UNIT_NAME}`,
      `systemctl restart ${UNIT_NAME}`,
    ]);
    expect(lines).toEqual([`started ${UNIT_NAME}`]);
  });

  test('an existing service user is kept', async () => {
    writeFileSync(join(state, 'user-exists'), '');
    await supervisor().start(launch());
    expect(calls().filter((c) => c.startsWith('useradd'))).toEqual([]);
  });

  test('a systemctl that fails fails the start, saying which step and what it said', async () => {
    writeFileSync(join(state, 'fail-restart'), '');
    const r = await supervisor().start(launch());
    expect(r).toEqual({ ok: false, detail: 'step serve: systemctl exit 1: systemctl restart failed' });
    expect(lines).toEqual([]);
  });

  test('a launch without exactly the build and model directories is refused', async () => {
    const r = await supervisor().start({ ...launch(), readOnlyPaths: ['/opt'] });
    expect(r.ok).toBe(false);
  });
});

describe('alive', () => {
  test('while the unit is not failed and not restarted since this boot started it', async () => {
    writeFileSync(join(state, 'NRestarts'), '3\n');
    const s = supervisor();
    await s.start(launch());
    await expect(s.alive()).resolves.toBe(true);
    writeFileSync(join(state, 'NRestarts'), '4\n');
    await expect(s.alive()).resolves.toBe(false);
    writeFileSync(join(state, 'NRestarts'), '3\n');
    writeFileSync(join(state, 'ActiveState'), 'failed\n');
    await expect(s.alive()).resolves.toBe(false);
  });
});

describe('exitReason', () => {
  test("quotes the unit's state, its journal and the server's error lines since this start", async () => {
    const l = launch();
    mkdirSync(join(dir, 'log'));
    writeFileSync(l.logFile, 'error: from an earlier boot\n');
    const s = supervisor();
    await s.start(l);
    writeFileSync(l.logFile, 'loading model\nerror: failed to open m.gguf\nmain: exiting due to model loading error\nrestarting\n', { flag: 'a' });
    await expect(s.exitReason()).resolves.toBe(
      `${UNIT_NAME} Result=exit-code ExecMainCode=1 ExecMainStatus=1 NRestarts=2; journal: Started graviton-llm. llama-server: main process exited, code=exited, status=1/FAILURE; server.log: error: failed to open m.gguf main: exiting due to model loading error`,
    );
  });
});

describe('stop', () => {
  test('disables the unit where it is installed', async () => {
    const s = supervisor();
    await s.start(launch());
    await s.stop();
    expect(calls().pop()).toBe(`systemctl disable --now --quiet ${UNIT_NAME}`);
    expect(lines.pop()).toBe(`stopped ${UNIT_NAME}`);
  });

  test('does nothing where no unit was ever written', async () => {
    await supervisor().stop();
    expect(calls()).toEqual([]);
    expect(lines).toEqual([]);
  });

  test('ignores a systemctl that fails (nothing left to stop)', async () => {
    const s = supervisor();
    await s.start(launch());
    writeFileSync(join(state, 'fail-disable'), '');
    await expect(s.stop()).resolves.toBeUndefined();
  });
});

describe('checkMetadataDenied', () => {
  test("runs curl as the service user under the unit's own filter; 000 is enforced", async () => {
    writeFileSync(join(state, 'metadata-code'), '000');
    await expect(supervisor().checkMetadataDenied()).resolves.toEqual({ enforced: true });
    expect(calls()).toEqual([
      `systemctl show -p IPAddressDeny --value ${UNIT_NAME}`,
      'systemd-run --wait --pipe --quiet --property=User=llama --property=IPAddressDeny=169.254.169.254 fd00:ec2::254 curl --silent --output /dev/null --write-out %{http_code} --max-time 2 -X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 60 http://169.254.169.254/latest/api/token',
    ]);
  });

  test.each([['200'], ['']])('any other answer (%j) is not enforced', async (code) => {
    writeFileSync(join(state, 'metadata-code'), code);
    await expect(supervisor().checkMetadataDenied()).resolves.toEqual({ enforced: false, answered: code });
  });
});
