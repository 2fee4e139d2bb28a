import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { depsPhase, type DepsPhaseInput, ensureBuildTools } from '../../../../runtime/boot/phases/deps';
import type { InstallOutcome, Packages } from '../../../../runtime/boot/ports';
import { failureOf } from '../support/phase-failure';

/** A machine whose PATH lacks `missing`; installing a package brings the tools `brings` says, and fails for those in `failing`. */
class FakePackages implements Packages {
  readonly installs: string[][] = [];
  constructor(
    readonly manager: 'dnf' | 'apt-get' | undefined,
    public missing: string[],
    private readonly brings: Record<string, string[]> = {},
    private readonly failing: string[] = [],
  ) {}
  async missingTools(tools: readonly string[]): Promise<readonly string[]> {
    return tools.filter((t) => this.missing.includes(t));
  }
  async install(packages: readonly string[]): Promise<InstallOutcome> {
    this.installs.push([...packages]);
    if (packages.some((p) => this.failing.includes(p))) return { ok: false, detail: `/var/log/graviton-llm/${this.manager === 'dnf' ? 'dnf' : 'apt'}.log` };
    const brought = packages.flatMap((p) => this.brings[p] ?? []);
    this.missing = this.missing.filter((t) => !brought.includes(t));
    return { ok: true };
  }
}

const REQUIRED = ['tar', 'gzip', 'curl', 'sha256sum', 'flock', 'setsid', 'aws', 'systemctl', 'useradd', 'setpriv'];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'deps-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function input(packages: FakePackages, overrides: Partial<DepsPhaseInput> = {}) {
  const lines: string[] = [];
  const value: DepsPhaseInput = {
    requiredTools: REQUIRED,
    optionalPackages: [],
    packages,
    platform: { isRoot: () => true },
    log: (m) => lines.push(m),
    ...overrides,
  };
  return { value, lines };
}


describe('the deps phase', () => {
  test('with every tool there installs nothing', async () => {
    const packages = new FakePackages('dnf', []);
    const { value, lines } = input(packages);
    await depsPhase.run(value);
    expect(packages.installs).toEqual([]);
    expect(lines).toEqual(['run-time tools already present; nothing to install']);
  });

  test('installs the run-time packages with dnf where a tool is missing, and looks again', async () => {
    const packages = new FakePackages('dnf', ['flock', 'setpriv'], { 'util-linux': ['flock', 'setpriv'] });
    const { value, lines } = input(packages);
    await depsPhase.run(value);
    expect(packages.installs).toEqual([['tar', 'gzip', 'util-linux', 'shadow-utils']]);
    expect(lines).toEqual(['installing run-time tools with dnf: flock setpriv']);
  });

  test('installs Debian\'s packages with apt-get', async () => {
    const packages = new FakePackages('apt-get', ['curl'], { curl: ['curl'] });
    await depsPhase.run(input(packages).value);
    expect(packages.installs).toEqual([['tar', 'gzip', 'curl', 'ca-certificates', 'coreutils', 'util-linux']]);
  });

  test('fails where the install fails, naming the manager\'s log', async () => {
    const packages = new FakePackages('apt-get', ['curl'], {}, ['curl']);
    expect((await failureOf(depsPhase.run(input(packages).value))).reason).toBe('apt-get install failed; see /var/log/graviton-llm/apt.log');
  });

  test('fails where a tool is still missing after the install', async () => {
    const packages = new FakePackages('dnf', ['aws', 'flock'], { 'util-linux': ['flock'] });
    const f = await failureOf(depsPhase.run(input(packages).value));
    expect(f).toMatchObject({ phase: 'deps', reason: 'still missing after install: aws' });
  });

  test('a boot that is not root installs nothing: it names what is missing', async () => {
    const packages = new FakePackages(undefined, ['curl', 'flock']);
    const f = await failureOf(depsPhase.run(input(packages, { platform: { isRoot: () => false } }).value));
    expect(f.reason).toBe('missing tools: curl flock (local mode installs nothing without root: install them and re-run)');
    expect(packages.installs).toEqual([]);
  });

  test('root without dnf or apt-get cannot install', async () => {
    const f = await failureOf(depsPhase.run(input(new FakePackages(undefined, ['curl'])).value));
    expect(f.reason).toBe('no dnf or apt-get to install: curl');
  });

  test('with dnf, an optional package whose program is not there is installed on its own; its failure is only logged', async () => {
    const present = join(dir, 'agent-ctl');
    writeFileSync(present, '#!/bin/sh\n', { mode: 0o755 });
    const packages = new FakePackages('dnf', [], {}, ['aws-cfn-bootstrap']);
    const { value, lines } = input(packages, {
      optionalPackages: [
        { package: 'aws-cfn-bootstrap', program: join(dir, 'cfn-signal') },
        { package: 'amazon-cloudwatch-agent', program: present },
        { package: 'ccache', program: join(dir, 'ccache') },
      ],
    });
    await depsPhase.run(value);
    expect(packages.installs).toEqual([['aws-cfn-bootstrap'], ['ccache']]);
    expect(lines).toEqual(['optional package aws-cfn-bootstrap not installed; continuing']);
  });

  test('optional packages are dnf\'s only', async () => {
    const packages = new FakePackages('apt-get', []);
    await depsPhase.run(input(packages, { optionalPackages: [{ package: 'aws-cfn-bootstrap', program: join(dir, 'cfn-signal') }] }).value);
    expect(packages.installs).toEqual([]);
  });
});

describe('the build tools, on a cache miss', () => {
  const tools = (packages: FakePackages, osId = 'amzn', root = true) => {
    const lines: string[] = [];
    return { run: () => ensureBuildTools({ phase: 'build', osId, packages, platform: { isRoot: () => root }, log: (m) => lines.push(m) }), lines };
  };

  test('present: nothing installed, GCC 14 preferred', async () => {
    const packages = new FakePackages('dnf', ['cc', 'c++']);
    const { run, lines } = tools(packages);
    await expect(run()).resolves.toEqual({ cc: 'gcc14-gcc', cxx: 'gcc14-g++' });
    expect(lines).toEqual(['build tools already present; nothing to install']);
    expect(packages.installs).toEqual([]);
  });

  test('on Amazon Linux, the default GCC is not enough: gcc14 is installed, then ccache on its own', async () => {
    const packages = new FakePackages('dnf', ['gcc14-gcc', 'gcc14-g++', 'git'], { 'gcc14': ['gcc14-gcc'], 'gcc14-c++': ['gcc14-g++'], 'git': ['git'] }, ['ccache']);
    const { run, lines } = tools(packages);
    await expect(run()).resolves.toEqual({ cc: 'gcc14-gcc', cxx: 'gcc14-g++' });
    expect(packages.installs).toEqual([['gcc14', 'gcc14-c++', 'cmake', 'git', 'make'], ['ccache']]);
    expect(lines).toEqual(['installing build tools with dnf', 'optional package ccache not installed; continuing']);
  });

  test('on Debian the system compiler does', async () => {
    const packages = new FakePackages('apt-get', ['gcc14-gcc', 'gcc14-g++']);
    await expect(tools(packages, 'debian').run()).resolves.toEqual({ cc: 'gcc', cxx: 'g++' });
    expect(packages.installs).toEqual([]);
  });

  test('apt-get installs build-essential where there is no compiler', async () => {
    const packages = new FakePackages('apt-get', ['gcc14-gcc', 'gcc14-g++', 'gcc', 'g++', 'cc', 'c++'], { 'build-essential': ['gcc', 'g++', 'cc', 'c++'] });
    await expect(tools(packages, 'debian').run()).resolves.toEqual({ cc: 'gcc', cxx: 'g++' });
    expect(packages.installs).toEqual([['build-essential', 'cmake', 'git', 'make']]);
  });

  test('a failed install fails the phase that asked, naming the log', async () => {
    const packages = new FakePackages('dnf', ['cmake'], {}, ['cmake']);
    const f = await failureOf(tools(packages).run());
    expect(f).toMatchObject({ phase: 'build', reason: 'dnf install of the build tools failed; see /var/log/graviton-llm/dnf.log' });
  });

  test('no compiler after the install fails', async () => {
    const packages = new FakePackages('apt-get', ['gcc14-gcc', 'gcc14-g++', 'gcc', 'g++', 'cc', 'c++']);
    expect((await failureOf(tools(packages, 'debian').run())).reason).toBe('no C/C++ compiler after install');
  });

  test('a boot that is not root names the tools and the compiler it lacks', async () => {
    const packages = new FakePackages(undefined, ['git', 'gcc14-gcc', 'gcc14-g++', 'gcc', 'g++', 'cc', 'c++']);
    expect((await failureOf(tools(packages, 'debian', false).run())).reason).toBe('missing build tools: git C/C++ compiler (local mode installs nothing without root: install them and re-run)');
  });
});
