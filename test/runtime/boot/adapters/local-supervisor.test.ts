/**
 * The local Supervisor with a real process: a node script installed where a
 * build's llama-server would be, which reads its key file, listens on its
 * --port and answers /health (or, asked to, fails as a server that cannot
 * load its model does). No assertion is about how long anything took.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSupervisor } from '../../../../runtime/boot/adapters/local-supervisor';
import { systemClock } from '../../../../runtime/boot/core/clock';
import { httpHealthProbe } from '../../../../runtime/boot/phases/health';
import type { ServerLaunch } from '../../../../runtime/boot/ports';
import { localLayout } from '../../../../runtime/boot/layout';

const STAND_IN = `#!${process.execPath}
const fs = require('node:fs');
const http = require('node:http');
const args = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
console.log('key read from ' + arg('--api-key-file') + ': ' + fs.readFileSync(arg('--api-key-file'), 'utf8').trim().length + ' characters');
if (args.includes('--fail')) {
  console.log('llama_model_load: error loading model: corrupted file');
  console.log('main: exiting due to model loading error');
  process.exit(1);
}
http.createServer((req, res) => { res.statusCode = req.url === '/health' ? 200 : 404; res.end('{}'); })
  .listen(Number(arg('--port')), '127.0.0.1', () => console.log('server is listening'));
process.on('SIGTERM', () => process.exit(0));
`;

let dir: string;
let lines: string[];
const layout = () => localLayout(join(dir, 'work'));
const program = () => join(layout().installRoot, 'k', 'bin', 'llama-server');
const strangers: number[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gllm-local-supervisor-'));
  lines = [];
  mkdirSync(join(layout().installRoot, 'k', 'bin'), { recursive: true });
  writeFileSync(program(), STAND_IN);
  chmodSync(program(), 0o755);
  mkdirSync(layout().secretDir, { recursive: true });
  writeFileSync(layout().apiKeyFile, 'secret-key\n', { mode: 0o600 });
});
afterEach(async () => {
  await supervisor().stop();
  for (const pid of strangers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function supervisor(): LocalSupervisor {
  const l = layout();
  return new LocalSupervisor({ installRoot: l.installRoot, pidFile: l.pidFile, clock: systemClock, log: (m) => lines.push(m) });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function launch(port: number, extra: string[] = []): ServerLaunch {
  return {
    program: program(),
    args: (keyFile) => ['--api-key-file', keyFile, '--port', String(port), ...extra],
    apiKeyFile: layout().apiKeyFile,
    readOnlyPaths: [join(layout().installRoot, 'k'), layout().modelDir],
    logFile: layout().serverLog,
  };
}

/** Waits (boundedly) until `check` holds; the test then asserts it. */
async function until(check: () => Promise<boolean> | boolean, tries = 200): Promise<void> {
  for (let i = 0; i < tries && !(await check()); i++) await systemClock.sleep(50);
}

/** Whether a process runs: it exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('starts the server, which reads the key file itself and answers /health; stop ends it', async () => {
  const port = await freePort();
  const s = supervisor();
  await expect(s.start(launch(port))).resolves.toEqual({ ok: true });
  const pid = Number(readFileSync(layout().pidFile, 'utf8'));
  expect(s.serverPid()).toBe(pid);
  expect(lines).toEqual([`started llama-server pid ${pid}; log ${layout().serverLog}`]);
  // Its own session (setsid): it outlives the boot, and the boot's terminal or group signals do not reach it.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])).toBe(pid);
  const health = httpHealthProbe(port);
  await until(async () => (await health()) === 200);
  await expect(health()).resolves.toBe(200);
  await expect(s.alive()).resolves.toBe(true);
  expect(readFileSync(layout().serverLog, 'utf8')).toContain(`key read from ${layout().apiKeyFile}: 10 characters`);

  await s.stop();
  expect(running(pid)).toBe(false);
  expect(existsSync(layout().pidFile)).toBe(false);
  await expect(s.alive()).resolves.toBe(false);
  expect(lines[lines.length - 1]).toBe(`stopped llama-server pid ${pid}`);
});

test('a server that exits is no longer alive, and its error lines since this start are the reason', async () => {
  mkdirSync(layout().logDir, { recursive: true });
  writeFileSync(layout().serverLog, 'error: a line from an earlier boot\n');
  const s = supervisor();
  await s.start(launch(await freePort(), ['--fail']));
  await until(async () => !(await s.alive()));
  await expect(s.alive()).resolves.toBe(false);
  await expect(s.exitReason()).resolves.toBe('server.log: llama_model_load: error loading model: corrupted file main: exiting due to model loading error');
});

test('a new start stops the server a previous boot left running', async () => {
  const first = supervisor();
  await first.start(launch(await freePort()));
  const old = Number(readFileSync(layout().pidFile, 'utf8'));
  const second = supervisor();
  await second.start(launch(await freePort()));
  const now = Number(readFileSync(layout().pidFile, 'utf8'));
  expect(now).not.toBe(old);
  expect(running(old)).toBe(false);
  expect(lines).toContain(`stopped llama-server pid ${old}`);
});

test('a stale pid file naming another program neither counts as our server nor has it killed', async () => {
  const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
  strangers.push(stranger.pid as number);
  mkdirSync(layout().stateDir, { recursive: true });
  writeFileSync(layout().pidFile, `${stranger.pid}\n`);
  const s = supervisor();
  expect(s.serverPid()).toBeUndefined();
  await expect(s.alive()).resolves.toBe(false);
  await s.stop();
  expect(running(stranger.pid as number)).toBe(true);
  expect(existsSync(layout().pidFile)).toBe(false);
  expect(lines).toEqual([]);
});

test.each([['garbage'], ['']])('a pid file of %j names no server', async (text) => {
  mkdirSync(layout().stateDir, { recursive: true });
  writeFileSync(layout().pidFile, text);
  expect(supervisor().serverPid()).toBeUndefined();
});

test('a program that cannot start is a failed start, not a rejection', async () => {
  const r = await supervisor().start({ ...launch(await freePort()), program: join(dir, 'no-such-server') });
  expect(r.ok).toBe(false);
  expect(existsSync(layout().pidFile)).toBe(false);
});
