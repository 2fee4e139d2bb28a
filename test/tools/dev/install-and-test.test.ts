/**
 * tools/dev/install-and-test.sh, the README's second Quick start command, as
 * written there (`bash tools/dev/install-and-test.sh`): as root it goes
 * straight on, with or without sudo installed (a minimal Debian image used as
 * root has none); as a user it runs itself again through sudo; as a user
 * without sudo it stops, naming what is missing.
 *
 * The script runs for real, copied into a scratch checkout, with a PATH that
 * holds only stand-ins: every command it looks for (so nothing is missing
 * unless a test says so), npm, apt-get, mount and, where a test wants it,
 * sudo. Each stand-in records its arguments and working directory.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { REPO_ROOT } from '../../support/synth';

const SCRIPT = path.join(REPO_ROOT, 'tools', 'dev', 'install-and-test.sh');
const isRoot = process.getuid?.() === 0;

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-install-and-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The commands the script checks for, one per Debian package (its PACKAGES table). */
function packageCommands(): string[] {
  const table = /declare -A PACKAGES=\(([\s\S]*?)\n\)/.exec(readFileSync(SCRIPT, 'utf8'));
  expect(table).not.toBeNull();
  return [...table![1].matchAll(/\[[^\]]+\]=(\S+)/g)].map((m) => m[1]);
}

/** Real programs the script itself needs, found before PATH is narrowed. */
function realProgram(name: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.trim();
}
const BASH = realProgram('bash');

let n = 0;
/**
 * A scratch checkout holding the script (node_modules up to date, so no npm
 * ci) and a bin dir of stand-ins; `without` names commands left out.
 */
function setup(opts: { sudo: boolean; without?: readonly string[] }) {
  const root = path.join(dir, `run-${n++}`);
  const repo = path.join(root, 'repo');
  const bin = path.join(root, 'bin');
  const calls = path.join(root, 'calls');
  mkdirSync(path.join(repo, 'tools', 'dev'), { recursive: true });
  mkdirSync(path.join(repo, 'node_modules'), { recursive: true });
  mkdirSync(bin);
  copyFileSync(SCRIPT, path.join(repo, 'tools', 'dev', 'install-and-test.sh'));
  writeFileSync(path.join(repo, 'package-lock.json'), '{}\n');
  writeFileSync(path.join(repo, 'node_modules', '.package-lock.json'), '{}\n');
  const old = new Date(Date.now() - 60_000);
  utimesSync(path.join(repo, 'package-lock.json'), old, old);
  writeFileSync(calls, '');
  const stubs = [...packageCommands(), 'npm', 'apt-get', 'mount', ...(opts.sudo ? ['sudo'] : [])];
  for (const name of stubs.filter((s) => !(opts.without ?? []).includes(s))) {
    const file = path.join(bin, name);
    // python3 is only asked whether moto is there: yes, and not worth a line.
    writeFileSync(file, name === 'python3' ? `#!${BASH}\nexit 0\n` : `#!${BASH}\nprintf '%s\\n' "$PWD: \${0##*/} $*" >>${calls}\n`);
    chmodSync(file, 0o755);
  }
  for (const name of ['dirname', 'id']) symlinkSync(realProgram(name), path.join(bin, name));
  // The scratch tree must be readable by the unprivileged user the script runs as.
  for (const d of [dir, root, repo, path.join(repo, 'tools'), path.join(repo, 'tools', 'dev'), bin]) chmodSync(d, 0o755);
  chmodSync(calls, 0o666);
  return { repo, bin, calls };
}

/** Runs the copied script as `user` (root: as this process; otherwise through runuser, or as is when jest is not root). */
function run(s: ReturnType<typeof setup>, user: 'root' | 'user', args: readonly string[]) {
  const env = ['/usr/bin/env', `PATH=${s.bin}`, 'GRAVITON_LLM_CACHE=/srv/gllm-cache', BASH, path.join(s.repo, 'tools', 'dev', 'install-and-test.sh'), ...args];
  const argv = user === 'user' && isRoot ? [realProgram('runuser'), '-u', 'nobody', '--', ...env] : env;
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', cwd: '/', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr, calls: readFileSync(s.calls, 'utf8').trimEnd().split('\n').filter(Boolean) };
}

describe('install-and-test.sh, run as the README writes it', () => {
  test('as root without sudo installed, it goes on to the tests, never calling sudo', () => {
    if (!isRoot) {
      console.log('skipped: needs root');
      return;
    }
    const s = setup({ sudo: false });
    const r = run(s, 'root', ['--json', 'a b']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // Where binfmt_misc is not mounted yet, it mounts it and registers qemu-aarch64 first.
    expect(r.calls.filter((c) => !/^\S+: (mount|update-binfmts) /.test(c))).toEqual([`${s.repo}: npm test -- --json a b`]);
  });

  test('as a user with sudo, it runs itself again through sudo from the checkout, passing PATH, the cache and the arguments', () => {
    const s = setup({ sudo: true });
    const r = run(s, 'user', ['--json', '--outputFile=/tmp/x']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('install-and-test: not root; running again through sudo');
    expect(r.calls).toEqual([
      `${s.repo}: sudo -- env PATH=${s.bin} GRAVITON_LLM_CACHE=/srv/gllm-cache bash tools/dev/install-and-test.sh --json --outputFile=/tmp/x`,
    ]);
  });

  test('as a user without sudo, it stops at once, naming root, sudo and each missing package', () => {
    const s = setup({ sudo: false, without: ['promtool'] });
    const r = run(s, 'user', []);
    expect(r.status).toBe(1);
    expect(r.calls).toEqual([]);
    expect(r.stderr).toMatch(/^install-and-test: cannot run the test suite as \S+; missing: root \(the instance box test boots a systemd machine[^)]*\); sudo, to become root \(not installed\); Debian packages: prometheus\. Run it as root: bash tools\/dev\/install-and-test\.sh\n$/);
  });

  test('the README and .ci/run give the command without sudo, so it works as written for root and for a user', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const commands = readme.split('\n').filter((l) => l.includes('tools/dev/install-and-test.sh') && !l.includes('`'));
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const line of commands) expect(line).toMatch(/^bash tools\/dev\/install-and-test\.sh\s/);
    expect(readme).not.toMatch(/sudo bash tools\/dev\/install-and-test/);
    expect(readFileSync(path.join(REPO_ROOT, '.ci', 'run'), 'utf8')).not.toMatch(/sudo bash tools\/dev\/install-and-test/);
  });
});
