import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { DnfAptPackages, type DnfAptPackagesOptions, osReleaseField } from '../../../../runtime/boot/adapters/packages';
import { Exec } from '../../../../runtime/boot/core/exec';
import { FakeClock } from '../support/fake-clock';

let dir: string;
let bin: string;
let logDir: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'packages-'));
  bin = join(dir, 'bin');
  logDir = join(dir, 'log');
  mkdirSync(bin);
  mkdirSync(logDir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in program on the test's PATH that records its arguments (one per line, then a blank line) and DEBIAN_FRONTEND, and exits `status`. */
function standIn(name: string, status = 0, output = ''): void {
  const file = join(bin, name);
  writeFileSync(file, `#!/bin/sh\n{ echo "DEBIAN_FRONTEND=\${DEBIAN_FRONTEND-unset}"; for a in "$@"; do echo "$a"; done; echo; } >>"${join(dir, `${name}.argv`)}"\nprintf '%s' '${output}'\necho "${name} says hello" >&2\nexit ${status}\n`);
  chmodSync(file, 0o755);
}

/** The calls recorded of stand-in `name`: each its DEBIAN_FRONTEND line and arguments. */
function calls(name: string): string[][] {
  let text: string;
  try {
    text = readFileSync(join(dir, `${name}.argv`), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n\n').filter((c) => c !== '').map((c) => c.split('\n'));
}

function options(overrides: Partial<DnfAptPackagesOptions> = {}): DnfAptPackagesOptions {
  const clock = new FakeClock(Date.now());
  return {
    exec: new Exec({ clock }),
    limitMs: () => Date.now() + 60_000,
    logDir,
    root: true,
    osReleasePath: join(dir, 'os-release'),
    debianVersionPath: join(dir, 'debian_version'),
    releaseverPath: join(dir, 'releasever'),
    ...overrides,
  };
}

/** Runs `f` with the stand-ins alone on PATH (the machine's own apt-get is not to be found) and no DEBIAN_FRONTEND of the caller's. */
const withPath = <T>(f: () => Promise<T>) => {
  const saved = { PATH: process.env.PATH, DEBIAN_FRONTEND: process.env.DEBIAN_FRONTEND };
  process.env.PATH = bin;
  delete process.env.DEBIAN_FRONTEND;
  return f().finally(() => {
    process.env.PATH = saved.PATH;
    if (saved.DEBIAN_FRONTEND !== undefined) process.env.DEBIAN_FRONTEND = saved.DEBIAN_FRONTEND;
  });
};

describe('the package manager', () => {
  test('is dnf where there is one, else apt-get, else none; and none for a boot that is not root', () => withPath(async () => {
    expect((await DnfAptPackages.onThisMachine(options())).manager).toBeUndefined();
    standIn('apt-get');
    expect((await DnfAptPackages.onThisMachine(options())).manager).toBe('apt-get');
    standIn('dnf');
    expect((await DnfAptPackages.onThisMachine(options())).manager).toBe('dnf');
    expect((await DnfAptPackages.onThisMachine(options({ root: false }))).manager).toBeUndefined();
  }));

  test('missing tools are those not executable on PATH, in the order asked', () => withPath(async () => {
    standIn('tar');
    writeFileSync(join(bin, 'curl'), 'not executable');
    const packages = await DnfAptPackages.onThisMachine(options());
    expect(await packages.missingTools(['curl', 'tar', 'flock'])).toEqual(['curl', 'flock']);
  }));
});

describe('install', () => {
  test('dnf installs without weak dependencies, the packages after --, its output in dnf.log', () => withPath(async () => {
    standIn('dnf');
    const packages = await DnfAptPackages.onThisMachine(options());
    await expect(packages.install(['libgomp.so.1()(64bit)', '--repofrompath=x'])).resolves.toEqual({ ok: true });
    expect(calls('dnf')).toEqual([['DEBIAN_FRONTEND=unset', 'install', '-y', '--setopt=install_weak_deps=False', '--', 'libgomp.so.1()(64bit)', '--repofrompath=x']]);
    expect(readFileSync(join(logDir, 'dnf.log'), 'utf8')).toBe('dnf says hello\n');
  }));

  test('apt-get updates, then installs without recommends, non-interactive, the packages after --', () => withPath(async () => {
    standIn('apt-get');
    const packages = await DnfAptPackages.onThisMachine(options());
    await expect(packages.install(['libgomp1'])).resolves.toEqual({ ok: true });
    expect(calls('apt-get')).toEqual([
      ['DEBIAN_FRONTEND=unset', 'update'],
      ['DEBIAN_FRONTEND=noninteractive', 'install', '-y', '--no-install-recommends', '--', 'libgomp1'],
    ]);
    expect(readFileSync(join(logDir, 'apt.log'), 'utf8')).toBe('apt-get says hello\napt-get says hello\n');
  }));

  test('a failed install names its log, whose last line says which command ended how', () => withPath(async () => {
    standIn('apt-get', 100);
    const packages = await DnfAptPackages.onThisMachine(options());
    const log = join(logDir, 'apt.log');
    await expect(packages.install(['curl'])).resolves.toEqual({ ok: false, detail: log });
    // The update failed: no install was tried.
    expect(calls('apt-get')).toHaveLength(1);
    expect(readFileSync(log, 'utf8').trim().split('\n').pop()).toBe('graviton-llm boot: apt-get update: exit 100');
  }));

  test('an install past the time limit is not started', () => withPath(async () => {
    standIn('dnf');
    // The limit on the clock the runner reads (a limit on the wall clock would race it on a loaded machine).
    const clock = new FakeClock(Date.now());
    const packages = await DnfAptPackages.onThisMachine(options({ exec: new Exec({ clock }), limitMs: () => clock.now() - 1 }));
    expect(await packages.install(['tar'])).toEqual({ ok: false, detail: join(logDir, 'dnf.log') });
    expect(calls('dnf')).toEqual([]);
  }));
});

describe('the toolchain identity', () => {
  test('os-release fields: the first KEY= line, quotes dropped; unknown where absent', () => {
    const text = 'NAME="Amazon Linux"\nVERSION_ID="2023"\nID="amzn"\nID_LIKE="fedora"\n';
    expect(osReleaseField(text, 'ID')).toBe('amzn');
    expect(osReleaseField(text, 'VERSION_ID')).toBe('2023');
    expect(osReleaseField(text, 'BUILD_ID')).toBe('unknown');
    expect(osReleaseField(undefined, 'ID')).toBe('unknown');
  });

  test('Amazon Linux: dnf\'s release version', () => withPath(async () => {
    writeFileSync(join(dir, 'os-release'), 'ID="amzn"\nVERSION_ID="2023"\n');
    writeFileSync(join(dir, 'releasever'), ' 2023.6.20250107\n');
    standIn('rpm');
    const packages = await DnfAptPackages.onThisMachine(options());
    expect(await packages.toolchainIdentity()).toBe('gcc14 from amzn release 2023.6.20250107');
    expect(calls('rpm')).toEqual([]);
  }));

  test('Amazon Linux without dnf\'s vars: the system-release package\'s version, from rpm', () => withPath(async () => {
    writeFileSync(join(dir, 'os-release'), 'ID="amzn"\nVERSION_ID="2023"\n');
    standIn('rpm', 0, '2023.5.20240805');
    const packages = await DnfAptPackages.onThisMachine(options());
    expect(await packages.toolchainIdentity()).toBe('gcc14 from amzn release 2023.5.20240805');
    expect(calls('rpm')).toEqual([['DEBIAN_FRONTEND=unset', '-q', '--qf', '%{VERSION}', 'system-release']]);
  }));

  test('Amazon Linux where rpm fails too: VERSION_ID', () => withPath(async () => {
    writeFileSync(join(dir, 'os-release'), 'ID="amzn"\nVERSION_ID="2023"\n');
    standIn('rpm', 1);
    expect(await (await DnfAptPackages.onThisMachine(options())).toolchainIdentity()).toBe('gcc14 from amzn release 2023');
  }));

  test('Debian: /etc/debian_version', async () => {
    writeFileSync(join(dir, 'os-release'), 'ID=debian\nVERSION_ID="12"\n');
    writeFileSync(join(dir, 'debian_version'), '12.8\n');
    expect(await (await DnfAptPackages.onThisMachine(options())).toolchainIdentity()).toBe('default g++ from debian 12.8');
  });
});
