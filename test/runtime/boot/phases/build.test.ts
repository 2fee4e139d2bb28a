import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { buildKey, buildKeyMaterial } from '../../../../runtime/boot/build/key';
import type { CacheUse } from '../../../../runtime/boot/cache/policy';
import { systemClock } from '../../../../runtime/boot/core/clock';
import { Exec, type ExecRequest, type ExecResult } from '../../../../runtime/boot/core/exec';
import { buildPhase, type BuildPhaseInput } from '../../../../runtime/boot/phases/build';
import type { Cache, CachePutOutcome, CacheReadOutcome, CacheVersion, CacheVersionsOutcome, CacheWriteMode, InstallOutcome, Packages } from '../../../../runtime/boot/ports';
import { FakeClock } from '../support/fake-clock';
import { failureOf } from '../support/phase-failure';

const COMMIT = 'a'.repeat(40);
const OTHER_COMMIT = 'b'.repeat(40);
const MACHINE = { machine: 'aarch64', armArch: 'armv8.4-a+sve' } as const;
const TOOLCHAIN = 'gcc14 from amzn release 2023.6.20250101';

/** The key material of the build the tests' inputs ask for. */
function materialFor(commit = COMMIT, targets = ['llama-server']): string {
  return buildKeyMaterial({ llamaCppCommit: commit, llamaCppRef: 'b6600', machine: MACHINE, os: 'amzn-2023', toolchain: TOOLCHAIN, targets });
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'build-phase-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A build tree as a tarball: bin/llama-server, a manifest, its libraries; `extra` adds to the tree before packing. */
function tarball(material: string, extra?: (tree: string) => void): Buffer {
  const tree = mkdtempSync(join(dir, 'tree-'));
  mkdirSync(join(tree, 'bin'));
  writeFileSync(join(tree, 'bin', 'llama-server'), '#!/bin/sh\necho version: 1\n', { mode: 0o755 });
  writeFileSync(join(tree, 'manifest.txt'), material);
  writeFileSync(join(tree, 'runtime-libraries.txt'), 'libc.so.6\nlibgomp.so.1\n');
  extra?.(tree);
  const file = join(dir, `t-${Math.random()}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', tree, '.']);
  return readFileSync(file);
}

/** A versioned cache in memory holding bytes (tarballs), oldest version first. */
class BytesCache implements Cache {
  readonly location = 's3://fake-bucket/cache';
  readonly puts: { rel: string; mode: CacheWriteMode; bytes: Buffer }[] = [];
  constructor(readonly objects: Record<string, { id: string; bytes: Buffer }[]> = {}) {}
  async get(): Promise<never> {
    throw new Error('the build phase reads versions only');
  }
  async versions(rel: string): Promise<CacheVersionsOutcome> {
    return { ok: true, versions: (this.objects[rel] ?? []).map((v) => ({ id: v.id, etag: `etag-${v.id}`, size: v.bytes.length })) };
  }
  async readVersion(rel: string, version: CacheVersion, dest: string): Promise<CacheReadOutcome> {
    writeFileSync(dest, this.objects[rel].find((v) => v.id === version.id)!.bytes);
    return { ok: true, sha256: undefined };
  }
  async put(src: string, rel: string, mode: CacheWriteMode): Promise<CachePutOutcome> {
    this.puts.push({ rel, mode, bytes: readFileSync(src) });
    return { kind: 'written' };
  }
}

type Handler = (req: ExecRequest) => Partial<ExecResult> | Promise<Partial<ExecResult>>;

/**
 * The programs the phase runs: tar, gzip, chmod and install for real (on the
 * tests' files), the rest (git, cmake, the compiler, ldd, llama-server) as
 * handlers say. Every request is recorded.
 */
class FakeExec {
  readonly calls: ExecRequest[] = [];
  private readonly real = new Exec({ clock: systemClock });
  readonly handlers: Record<string, Handler> = {
    'id': () => ({}),
    'ldd': () => ({ stdout: '\tlibc.so.6 => /lib64/libc.so.6 (0x0001)\n' }),
    'llama-server': () => ({ stdout: 'version: 1 (abc)\n' }),
    'gcc14-gcc': () => ({}),
    'gcc14-g++': (req) => ({ stdout: req.args?.[0] === '--version' ? 'g++ (GCC) 14.2.1\nCopyright\n' : req.args?.[0] === '-dumpmachine' ? 'aarch64-amazon-linux\n' : '14.2.1\n' }),
    'git': (req) => (req.args?.includes('rev-parse') ? { stdout: `${COMMIT}\n` } : {}),
    'cmake': async (req) => {
      // The compile leaves the targets in build/bin.
      if (req.args?.[0] === '--build') {
        const bin = join(req.args[1], 'bin');
        mkdirSync(bin, { recursive: true });
        for (const t of req.args.slice(req.args.indexOf('--target') + 1)) writeFileSync(join(bin, t), '#!/bin/sh\necho compiled\n', { mode: 0o755 });
      }
      return {};
    },
  };

  async run(req: ExecRequest): Promise<ExecResult> {
    this.calls.push(req);
    const name = req.program.split('/').pop()!;
    if (['tar', 'gzip', 'chmod'].includes(name)) return this.real.run({ ...req, limitMs: Date.now() + 60_000 });
    const handler = this.handlers[name];
    if (handler === undefined) throw new Error(`no stand-in for ${req.program}`);
    const got = await handler(req);
    return {
      step: req.step, program: req.program, argv: [req.program, ...(req.args ?? [])], exitCode: 0, signal: undefined, timedOut: false, startError: undefined, stdout: '', stderr: '', ...got,
    };
  }

  /** The argument vectors run of `program` (by its base name). */
  ran(program: string): string[][] {
    return this.calls.filter((c) => c.program.split('/').pop() === program).map((c) => [...(c.args ?? [])]);
  }
}

class FakePackages implements Packages {
  readonly installs: string[][] = [];
  constructor(readonly manager: 'dnf' | 'apt-get' | undefined = 'dnf', public missing: string[] = ['ninja', 'ccache']) {}
  async missingTools(tools: readonly string[]): Promise<readonly string[]> {
    return tools.filter((t) => this.missing.includes(t));
  }
  async install(packages: readonly string[]): Promise<InstallOutcome> {
    this.installs.push([...packages]);
    return { ok: true };
  }
}

function setup(cache: BytesCache, overrides: Partial<BuildPhaseInput> = {}) {
  const lines: string[] = [];
  const events: string[] = [];
  /** What the boot's result is made of (core/log.ts BootEventData), in order. */
  const data: unknown[] = [];
  const exec = new FakeExec();
  const packages = new FakePackages();
  const clock = new FakeClock();
  const cacheUse: CacheUse = { cache, log: (m) => lines.push(m), record: (e, d, f) => { events.push(`${e} ${d}`); if (f) data.push(f); } };
  const root = join(dir, 'root');
  const input: BuildPhaseInput = {
    llamaCppRef: 'b6600',
    llamaCppCommit: COMMIT,
    source: { kind: 'repository', url: 'https://github.com/ggml-org/llama.cpp' },
    quantizeTo: '',
    machine: MACHINE,
    bootDeadlineSeconds: 3600,
    layout: { installRoot: join(root, 'opt'), stateDir: join(root, 'state'), logDir: join(root, 'log'), buildWork: join(root, 'state', 'build-work') },
    serviceUser: undefined,
    exec,
    limitMs: () => clock.now() + 3_600_000,
    clock,
    random: () => 0,
    cache: cacheUse,
    packages,
    platform: { osRelease: async () => ({ id: 'amzn', versionId: '2023' }), cpuCount: () => 4, isRoot: () => false },
    toolchain: async () => TOOLCHAIN,
    log: (m) => lines.push(m),
    ...overrides,
  };
  return { input, lines, events, data, exec, packages, clock, root };
}

const KEY = buildKey(materialFor());
const REL = `builds/${KEY}.tar.gz`;


describe('a cached build', () => {
  test('that passes its checks is installed under its key, unpacked and run as the service user, with no compile', async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor()) }] });
    const { input, lines, events, data, exec, packages } = setup(cache);
    // A scale-out instance that finds its build in the cache needs no build tools.
    packages.missing = ['cmake', 'git', 'make', 'gcc14-gcc', 'gcc14-g++', 'gcc', 'g++', 'cc', 'c++'];
    const out = await buildPhase.run(input);
    expect(packages.installs).toEqual([]);
    expect(out.key).toBe(KEY);
    expect(out.buildDir).toBe(join(input.layout.installRoot, KEY));
    expect(readFileSync(join(out.buildDir, 'manifest.txt'), 'utf8')).toBe(materialFor());
    expect(existsSync(out.llamaServer)).toBe(true);
    expect(exec.ran('cmake')).toEqual([]);
    expect(cache.puts).toEqual([]);
    expect(lines).toContain(`build: cache hit ${REL} (no compile); needs at run time: libc.so.6 libgomp.so.1 `);
    expect(events).toContain(`cache-hit ${REL}`);
    expect(data).toEqual([{ kind: 'build', key: KEY, from: 'cache' }, { kind: 'cache-take', object: REL, version: { id: 'v1', position: 1, of: 1 } }]);
    const unpack = exec.calls.find((c) => c.program === 'tar' && c.args?.[0] === '-xzf')!;
    expect(unpack).toMatchObject({ asServiceUser: true, stdinFile: join(input.layout.stateDir, `build-${KEY}.tar.gz`) });
    expect(exec.calls.filter((c) => c.program === 'ldd' || c.program.endsWith('/llama-server')).every((c) => c.asServiceUser)).toBe(true);
    // Nothing is left behind: no tarball, no staging directory.
    expect(existsSync(join(input.layout.stateDir, `build-${KEY}.tar.gz`))).toBe(false);
    expect(execFileSync('ls', ['-A', input.layout.installRoot], { encoding: 'utf8' }).trim()).toBe(KEY);
  });

  test("for another key's material is discarded, compiled here, and the replacement cached as a new version", async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor(OTHER_COMMIT)) }] });
    const { input, lines, events, data, exec } = setup(cache);
    const out = await buildPhase.run(input);
    // For the boot's result: looked up in the cache, a version discarded, compiled, the replacement written.
    expect(data).toEqual([
      { kind: 'build', key: KEY, from: 'cache' },
      { kind: 'cache-discard', object: REL, version: 'v1', problem: `its manifest is not this build key's (llama.cpp-commit=${OTHER_COMMIT})` },
      { kind: 'build', key: KEY, from: 'compile' },
      { kind: 'cache-write', object: REL, outcome: 'written' },
    ]);
    expect(events).toContain(`cache-discard ${REL} version v1: its manifest is not this build key's (llama.cpp-commit=${OTHER_COMMIT})`);
    expect(lines).toContain(`build: discarding cached ${REL} version v1: its manifest is not this build key's (llama.cpp-commit=${OTHER_COMMIT}); compiling a replacement`);
    expect(exec.ran('cmake')).toHaveLength(2);
    expect(readFileSync(out.llamaServer, 'utf8')).toContain('compiled');
    expect(cache.puts.map((p) => [p.rel, p.mode])).toEqual([[REL, 'always']]);
  });

  test('is unpacked without the tarball\'s owners or modes, then sealed: the service user may run its programs but change nothing', async () => {
    const loose = (tree: string) => {
      for (const d of ['.', 'bin']) chmodSync(join(tree, d), 0o777);
      chmodSync(join(tree, 'bin', 'llama-server'), 0o777);
      chmodSync(join(tree, 'manifest.txt'), 0o666);
    };
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor(), loose) }] });
    const { input, exec } = setup(cache);
    const out = await buildPhase.run(input);
    const unpack = exec.calls.find((c) => c.program === 'tar' && c.args?.[0] === '-xzf')!;
    expect(unpack.args).toEqual(['-xzf', '-', '-C', expect.any(String), '--no-same-owner', '--no-same-permissions']);
    const mode = (f: string) => (statSync(join(out.buildDir, f)).mode & 0o7777).toString(8);
    expect(Object.fromEntries(['.', 'bin', 'bin/llama-server', 'manifest.txt'].map((f) => [f, mode(f)])))
      .toEqual({ '.': '755', bin: '755', 'bin/llama-server': '755', 'manifest.txt': '644' });
  });

  test.each([
    ['a symbolic link', (tree: string) => symlinkSync('/etc/passwd', join(tree, 'bin', 'passwd')), /^it holds a symbolic link \(\.\/bin\/passwd -> \/etc\/passwd\)$/],
    ['a setuid program', (tree: string) => chmodSync(join(tree, 'bin', 'llama-server'), 0o4755), /^it holds \.\/bin\/llama-server with the setuid, setgid or sticky bit \(-rwsr-xr-x\)$/],
  ])('holding %s is refused before it is unpacked, and compiled here instead', async (_what, extra, problem) => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor(), extra) }] });
    const { input, events, exec } = setup(cache);
    await buildPhase.run(input);
    const discard = events.find((e) => e.startsWith('cache-discard'))!;
    expect(discard.replace(`cache-discard ${REL} version v1: `, '')).toMatch(problem);
    expect(exec.calls.some((c) => c.program === 'tar' && c.args?.[0] === '-xzf')).toBe(false);
    expect(exec.ran('cmake')).toHaveLength(2);
  });

  test('that loads a library this machine lacks gets it installed (the soname, after the rule) and is used', async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor()) }] });
    const { input, lines, exec, packages } = setup(cache);
    let installed = false;
    const origInstall = packages.install.bind(packages);
    packages.install = async (p) => ((installed = true), origInstall(p));
    exec.handlers.ldd = () => ({ stdout: `\tlibgomp.so.1 => ${installed ? '/lib64/libgomp.so.1 (0x1)' : 'not found'}\n` });
    await buildPhase.run(input);
    expect(packages.installs).toEqual([['libgomp.so.1()(64bit)']]);
    expect(lines).toEqual(expect.arrayContaining(['the build loads shared libraries this machine lacks: libgomp.so.1', 'run-time libraries installed']));
    expect(exec.ran('cmake')).toEqual([]);
  });

  test('whose library stays missing discards that version: it is compiled here', async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor()) }] });
    const { input, events, exec } = setup(cache);
    // Missing while the cached build is checked; the compiled one loads what this machine has.
    exec.handlers.ldd = (req) => ({ stdout: req.args![0].includes('.install-') && exec.ran('cmake').length === 0 ? '\tlibgomp.so.1 => not found\n' : '\tlibc.so.6 => /lib64/libc.so.6\n' });
    await buildPhase.run(input);
    expect(events).toContain(`cache-discard ${REL} version v1: it loads libgomp.so.1, which this machine lacks and could not install (the image must carry it, or reach its package repositories)`);
    expect(exec.ran('cmake')).toHaveLength(2);
  });

  test('loading a name that is not a shared library\'s is refused, and nothing reaches the installer', async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor()) }] });
    const { input, events, exec, packages } = setup(cache);
    exec.handlers.ldd = (req) => ({ stdout: exec.ran('cmake').length === 0 && req.args![0].includes('.install-') ? '\t--repofrompath=x,https://evil => not found\n' : '' });
    await buildPhase.run(input);
    expect(packages.installs.flat().some((p) => p.includes('repofrompath'))).toBe(false);
    expect(events.find((e) => e.startsWith('cache-discard'))).toMatch(/which is not the name of a shared library$/);
  });
});

describe('a cache miss', () => {
  test('compiles with the kit\'s defines, seals and describes the build, and caches it as the first version', async () => {
    const cache = new BytesCache();
    const { input, lines, exec } = setup(cache);
    const out = await buildPhase.run(input);
    expect(lines).toContain(`build: cache miss ${REL}; compiling`);
    const [configure, compile] = exec.ran('cmake');
    expect(configure).toContain('-DGGML_CPU_ARM_ARCH=armv8.4-a+sve');
    expect(configure).not.toContain('-G');
    expect(compile).toEqual(['--build', join(input.layout.buildWork, 'build'), '--config', 'Release', '-j', '4', '--target', 'llama-server']);
    expect(exec.calls.find((c) => c.program === 'cmake')!.env).toMatchObject({ CC: 'gcc14-gcc', CXX: 'gcc14-g++' });
    // The -march probe of aarch64.
    expect(exec.ran('gcc14-gcc')).toEqual([['-march=armv8.4-a+sve', '-x', 'c', '-o', '/dev/null', '-']]);
    expect(readFileSync(join(out.buildDir, 'manifest.txt'), 'utf8')).toBe(materialFor());
    expect(readFileSync(join(out.buildDir, 'toolchain.txt'), 'utf8')).toBe('g++ (GCC) 14.2.1 aarch64-amazon-linux\n');
    expect(readFileSync(join(out.buildDir, 'runtime-libraries.txt'), 'utf8')).toBe('libc.so.6\n');
    expect(cache.puts.map((p) => [p.rel, p.mode])).toEqual([[REL, 'if-absent']]);
    // What is cached is what a later boot takes: it passes the listing's checks and the key's.
    const later = setup(new BytesCache({ [REL]: [{ id: 'v1', bytes: cache.puts[0].bytes }] }));
    later.input = { ...later.input, layout: { ...later.input.layout, installRoot: join(dir, 'other') } };
    await buildPhase.run(later.input);
    expect(later.exec.ran('cmake')).toEqual([]);
    expect(existsSync(join(input.layout.buildWork))).toBe(false);
  });

  test('packs the same files into the same bytes', async () => {
    const first = setup(new BytesCache());
    await buildPhase.run(first.input);
    const second = setup(new BytesCache(), { layout: { ...first.input.layout, installRoot: join(dir, 'again') } });
    await buildPhase.run(second.input);
    expect(first.input.cache.cache).not.toBe(second.input.cache.cache);
    expect((first.input.cache.cache as BytesCache).puts[0].bytes.equals((second.input.cache.cache as BytesCache).puts[0].bytes)).toBe(true);
  });

  test('on x86_64, builds ggml\'s portable baseline: no -march probe, no Arm define, with Ninja and ccache where they are there', async () => {
    const { input, exec, packages, lines } = setup(new BytesCache(), { machine: { machine: 'x86_64' } });
    packages.missing = [];
    await buildPhase.run(input);
    expect(exec.ran('gcc14-gcc')).toEqual([]);
    const [configure] = exec.ran('cmake');
    expect(configure.slice(4, 6)).toEqual(['-G', 'Ninja']);
    expect(configure.some((a) => a.startsWith('-DGGML_CPU_ARM_ARCH'))).toBe(false);
    expect(configure.slice(-2)).toEqual(['-DCMAKE_C_COMPILER_LAUNCHER=ccache', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache']);
    expect(exec.calls.find((c) => c.program === 'cmake')!.env).toMatchObject({ CCACHE_BASEDIR: input.layout.buildWork, CCACHE_NOHASHDIR: 'true' });
    expect(lines).toContain('ccache: on');
  });

  test('builds llama-quantize too where the model is quantized here', async () => {
    const { input, exec } = setup(new BytesCache(), { quantizeTo: 'Q4_K_M' });
    const out = await buildPhase.run(input);
    expect(out.targets).toEqual(['llama-server', 'llama-quantize']);
    expect(exec.ran('cmake')[1].slice(-2)).toEqual(['llama-server', 'llama-quantize']);
    expect(existsSync(join(out.buildDir, 'bin', 'llama-quantize'))).toBe(true);
  });

  test('a fetch that brings another commit than the pinned one fails the boot', async () => {
    const { input, exec } = setup(new BytesCache());
    exec.handlers.git = (req) => (req.args?.includes('rev-parse') ? { stdout: `${OTHER_COMMIT}\n` } : {});
    const f = await failureOf(buildPhase.run(input));
    expect(f.phase).toBe('build');
    expect(f.reason).toBe(`git fetch of b6600 from https://github.com/ggml-org/llama.cpp gave commit ${OTHER_COMMIT}, not ${COMMIT}`);
    expect(exec.ran('git')[1]).toEqual(['-C', join(input.layout.buildWork, 'src'), 'fetch', '--quiet', '--depth', '1', 'https://github.com/ggml-org/llama.cpp', COMMIT]);
  });

  test('a fetch that keeps failing is retried, then fails the boot naming the build log', async () => {
    const { input, exec, lines, clock } = setup(new BytesCache());
    exec.handlers.git = (req) => (req.args?.includes('fetch') ? { exitCode: 128 } : {});
    const f = await failureOf(buildPhase.run(input));
    expect(f.reason).toBe(`git fetch of b6600 (commit ${COMMIT}) from https://github.com/ggml-org/llama.cpp failed; see ${join(input.layout.logDir, 'build.log')}`);
    expect(exec.ran('git').filter((a) => a.includes('fetch'))).toHaveLength(6);
    expect(clock.sleeps).toHaveLength(5);
    expect(lines).toContain(`git fetch of ${COMMIT} failed (exit 128) 6 times`);
  });

  test('a compile that fails names the first error line of the build log', async () => {
    const { input, exec } = setup(new BytesCache());
    exec.handlers.cmake = (req) => {
      if (req.args?.[0] !== '--build') return {};
      writeFileSync(req.appendOutputTo!, '[ 10%] Building ggml.c\nggml.c:1:1: error: unknown type name\nmake: *** Error 1\n', { flag: 'a' });
      return { exitCode: 2 };
    };
    const f = await failureOf(buildPhase.run(input));
    expect(f.reason).toBe('compile failed: ggml.c:1:1: error: unknown type name');
  });

  test('a configure that fails names the build log\'s last lines', async () => {
    const { input, exec } = setup(new BytesCache());
    exec.handlers.cmake = (req) => {
      writeFileSync(req.appendOutputTo!, 'a\nb\nCMake Error: no compiler\n', { flag: 'a' });
      return { exitCode: 1 };
    };
    expect((await failureOf(buildPhase.run(input))).reason).toBe('cmake configure failed: a b CMake Error: no compiler');
  });

  test('a compile stopped at the time limit says so', async () => {
    const { input, exec, clock } = setup(new BytesCache());
    exec.handlers.cmake = (req) => (req.args?.[0] === '--build' ? (clock.advance(61_500), { exitCode: undefined, signal: 'SIGTERM', timedOut: true }) : {});
    expect((await failureOf(buildPhase.run(input))).reason).toBe('compile did not finish within the boot deadline of 3600 s (after 61.500 s)');
  });

  test('a compiler that rejects the generation\'s -march fails before CMake runs', async () => {
    const { input, exec } = setup(new BytesCache());
    exec.handlers['gcc14-gcc'] = () => ({ exitCode: 1 });
    const f = await failureOf(buildPhase.run(input));
    expect(f.reason).toBe(`gcc14-gcc rejects -march=armv8.4-a+sve (see ${join(input.layout.logDir, 'build.log')}); Graviton4 and later need GCC 12 or newer`);
    expect(exec.ran('cmake')).toEqual([]);
  });

  test('a build just compiled that does not run here fails the boot', async () => {
    const { input, exec } = setup(new BytesCache());
    exec.handlers['llama-server'] = () => ({ exitCode: undefined, signal: 'SIGILL', stderr: '' });
    const f = await failureOf(buildPhase.run(input));
    expect(f.reason).toBe('the build just compiled does not run here: its llama-server --version exits 132: killed by SIGILL');
  });

  test('a local boot that is not root and lacks CMake is told to install it', async () => {
    const { input, packages } = setup(new BytesCache());
    packages.missing = ['cmake', 'ninja', 'ccache'];
    const f = await failureOf(buildPhase.run(input));
    expect(f.reason).toBe('missing build tools: cmake (local mode installs nothing without root: install them and re-run)');
  });

  test('a local source tree without a pinned commit is built as it is', async () => {
    const src = join(dir, 'llama.cpp');
    mkdirSync(join(src, '.git'), { recursive: true });
    writeFileSync(join(src, 'CMakeLists.txt'), 'project(x)\n');
    writeFileSync(join(src, '.git', 'HEAD'), 'junk\n');
    const { input, exec, lines } = setup(new BytesCache(), { llamaCppCommit: '', source: { kind: 'directory', dir: src } });
    exec.handlers.git = (req) => (req.args?.includes('--verify') ? { exitCode: 1 } : {});
    let copied: string[] = [];
    exec.handlers.cmake = async (req) => {
      if (req.args?.[0] === '-S') copied = execFileSync('ls', ['-A', req.args[1]], { encoding: 'utf8' }).trim().split('\n');
      else {
        mkdirSync(join(req.args![1], 'bin'), { recursive: true });
        await copyFile('/bin/true', join(req.args![1], 'bin', 'llama-server'));
      }
      return {};
    };
    const out = await buildPhase.run(input);
    expect(lines).toContain(`source: ${src} has no git ref b6600; using its working tree as b6600`);
    expect(copied).toEqual(['CMakeLists.txt']);
    expect(out.key).toBe(buildKey(buildKeyMaterial({ llamaCppCommit: '', llamaCppRef: 'b6600', machine: MACHINE, os: 'amzn-2023', toolchain: TOOLCHAIN, targets: ['llama-server'] })));
  });

  test('a local source that lacks the pinned commit fails', async () => {
    const src = join(dir, 'llama.cpp');
    mkdirSync(src);
    const { input, exec } = setup(new BytesCache(), { source: { kind: 'directory', dir: src } });
    exec.handlers.git = () => ({ exitCode: 1 });
    expect((await failureOf(buildPhase.run(input))).reason).toBe(`${src} does not hold commit ${COMMIT} (b6600)`);
  });
});

describe('an installed build (a re-run)', () => {
  test('that passes its checks is reused without looking at the cache', async () => {
    const first = setup(new BytesCache());
    await buildPhase.run(first.input);
    const cache = new BytesCache();
    const again = setup(cache, { layout: first.input.layout });
    const versions = jest.spyOn(cache, 'versions');
    const out = await buildPhase.run(again.input);
    expect(again.lines).toContain(`build: installed build ${out.key} reused (no compile)`);
    expect(again.data).toEqual([{ kind: 'build', key: out.key, from: 'installed' }]);
    expect(versions).not.toHaveBeenCalled();
    expect(again.exec.ran('cmake')).toEqual([]);
  });

  test('that fails its checks is discarded and built again', async () => {
    const first = setup(new BytesCache());
    const out = await buildPhase.run(first.input);
    writeFileSync(join(out.buildDir, 'manifest.txt'), 'llama.cpp-commit=other\n');
    const again = setup(new BytesCache(), { layout: first.input.layout });
    await buildPhase.run(again.input);
    expect(again.lines).toContain(`build: discarding installed build ${out.key}: its manifest is not this build key's (llama.cpp-commit=other)`);
    expect(again.exec.ran('cmake')).toHaveLength(2);
  });
});

test('an instance\'s boot makes sure its service user exists before running any build program as it', async () => {
  const { input, exec } = setup(new BytesCache(), { serviceUser: 'llama' });
  exec.handlers.id = () => ({ exitCode: 1 });
  exec.handlers.useradd = () => ({});
  await buildPhase.run(input);
  expect(exec.ran('useradd')).toEqual([['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/sbin/nologin', 'llama']]);
  expect(exec.calls.findIndex((c) => c.program === 'useradd')).toBeLessThan(exec.calls.findIndex((c) => c.asServiceUser));
});

describe('whom the build is trusted from (the trusted builder)', () => {
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const pinsOf = (versionId: string, bytes: Buffer) => ({
    version: 1 as const, buildKey: KEY,
    build: { object: REL, versionId, sha256: sha(bytes) },
    model: { object: `models/${'a'.repeat(64)}.gguf`, versionId: 'vm', sha256: 'a'.repeat(64) },
  });
  const PINS_FILE = '/etc/graviton-llm/pins.json';

  test('a pinned fleet instance installs exactly the pinned version, never a later one, with no compile and no cache write', async () => {
    const good = tarball(materialFor());
    const planted = tarball(materialFor(), (tree) => writeFileSync(join(tree, 'bin', 'llama-server'), '#!/bin/sh\necho planted\n', { mode: 0o755 }));
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: good }, { id: 'v2', bytes: planted }] });
    const { input, data, exec, packages } = setup(cache, { trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf('v1', good) } });
    // A fleet instance has no build tools; it needs none.
    packages.missing = ['cmake', 'git', 'make', 'gcc14-gcc', 'gcc14-g++', 'gcc', 'g++', 'cc', 'c++'];
    const out = await buildPhase.run(input);
    expect(readFileSync(out.llamaServer, 'utf8')).toContain('version: 1');
    expect(exec.ran('cmake')).toEqual([]);
    expect(packages.installs).toEqual([]);
    expect(cache.puts).toEqual([]);
    expect(data).toEqual([{ kind: 'build', key: KEY, from: 'pinned' }]);
    expect(out.published).toBeUndefined();
  });

  test('a pinned version of other bytes fails the boot at once, naming the key, the expected and the actual digest', async () => {
    const good = tarball(materialFor());
    const rewritten = tarball(materialFor(), (tree) => writeFileSync(join(tree, 'x'), 'x'));
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: rewritten }] });
    const { input, exec } = setup(cache, { trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf('v1', good) } });
    const failure = await failureOf(buildPhase.run(input));
    expect(failure.reason).toBe(`pinned build ${REL} version v1 has SHA-256 ${sha(rewritten)}, but the pins in ${PINS_FILE} expect ${sha(good)}; not using it`);
    expect(exec.ran('cmake')).toEqual([]);
    expect(cache.puts).toEqual([]);
  });

  test('pins of another build key fail before anything is read', async () => {
    const good = tarball(materialFor());
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: good }] });
    const pins = { ...pinsOf('v1', good), buildKey: 'f'.repeat(32) };
    const { input } = setup(cache, { trust: { kind: 'pinned', pinsFile: PINS_FILE, pins } });
    expect((await failureOf(buildPhase.run(input))).reason).toMatch(new RegExp(`pins build f{32}, but this instance's build key is ${KEY}`));
  });

  test('a pinned build that passes its digest but not its checks fails, and is not installed', async () => {
    const other = tarball(materialFor(OTHER_COMMIT));
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: other }] });
    const { input } = setup(cache, { trust: { kind: 'pinned', pinsFile: PINS_FILE, pins: pinsOf('v1', other) } });
    expect((await failureOf(buildPhase.run(input))).reason).toMatch(new RegExp(`^pinned build ${REL} version v1 fails its checks: its manifest is not this build key's`));
    expect(existsSync(join(input.layout.installRoot, KEY))).toBe(false);
  });

  test('a builder compiles even where the cache holds the build, and publishes it, returning the version and digest it pins', async () => {
    const cache = new BytesCache({ [REL]: [{ id: 'v1', bytes: tarball(materialFor()) }] });
    const published: { rel: string; sha256: string; bytes: Buffer }[] = [];
    const publisher = { publish: async (src: string, rel: string, sha256: string) => { published.push({ rel, sha256, bytes: readFileSync(src) }); return { ok: true as const, versionId: 'v2' }; } };
    const { input, data, exec } = setup(cache, { trust: { kind: 'builder', publisher } });
    const out = await buildPhase.run(input);
    expect(exec.ran('cmake')).toHaveLength(2);
    expect(published).toHaveLength(1);
    expect(published[0].rel).toBe(REL);
    expect(published[0].sha256).toBe(sha(published[0].bytes));
    expect(out.published).toEqual({ object: REL, versionId: 'v2', sha256: published[0].sha256 });
    expect(cache.puts).toEqual([]);
    expect(data).toEqual([{ kind: 'build', key: KEY, from: 'compile' }, { kind: 'published', what: 'build', object: REL, versionId: 'v2', sha256: published[0].sha256 }]);
  });

  test('a builder whose publish fails fails: it has nothing to report', async () => {
    const publisher = { publish: async () => ({ ok: false as const, detail: 'AccessDenied' }) };
    const { input } = setup(new BytesCache(), { trust: { kind: 'builder', publisher } });
    expect((await failureOf(buildPhase.run(input))).reason).toBe(`cannot publish the build ${REL} to s3://fake-bucket/cache: AccessDenied`);
  });
});
