/**
 * The build phase's cache hit with the real programs and adapters: the
 * directory cache holds a tarball of the tests' llama-server (the kit's
 * build of the pinned release, warm in GRAVITON_LLM_CACHE; compiled there
 * first where it is not), and the phase lists it with the real tar, unpacks
 * it, runs the real ldd and llama-server --version through core/exec.ts. No
 * compile runs here: compiling llama.cpp on this machine takes longer than a
 * unit test may (build.test.ts drives the compile with stand-in programs).
 * Run with GRAVITON_LLM_CACHE=/work/cache (or wherever the warm builds are):
 * with a cold cache, the support code clones and compiles first.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { DirCache } from '../../runtime/boot/adapters/dir-cache';
import { LinuxPlatform } from '../../runtime/boot/adapters/linux-platform';
import { DnfAptPackages } from '../../runtime/boot/adapters/packages';
import { buildKey, buildKeyMaterial } from '../../runtime/boot/build/key';
import { buildCacheRel } from '../../runtime/boot/cache/keys';
import { systemClock } from '../../runtime/boot/core/clock';
import { Exec } from '../../runtime/boot/core/exec';
import { buildPhase } from '../../runtime/boot/phases/build';
import { buildLlamaCpp, nativeBuildMachine } from '../support/llama-cpp-build';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';

jest.setTimeout(10 * 60 * 1000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'build-warm-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a cached build of the real llama-server is checked with the real programs and installed', async () => {
  const source = await ensureLlamaCppSource();
  const built = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server'] });
  const machine = nativeBuildMachine();
  const platform = new LinuxPlatform();
  const exec = new Exec({ clock: systemClock });
  const limitMs = () => Date.now() + 5 * 60_000;
  const layout = { installRoot: join(dir, 'opt'), stateDir: join(dir, 'state'), logDir: join(dir, 'log'), buildWork: join(dir, 'state', 'build-work') };
  mkdirSync(layout.logDir, { recursive: true });
  const packages = await DnfAptPackages.onThisMachine({ exec, limitMs, logDir: layout.logDir, root: false });
  const osRelease = await platform.osRelease();
  const toolchain = await packages.toolchainIdentity();
  const material = buildKeyMaterial({ llamaCppCommit: '', llamaCppRef: source.tag, machine, os: `${osRelease.id}-${osRelease.versionId}`, toolchain, targets: ['llama-server'] });
  const key = buildKey(material);

  // What a compiling boot caches: bin/ and the three text files.
  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'bin'), { recursive: true });
  copyFileSync(built.binaries['llama-server'], join(tree, 'bin', 'llama-server'));
  chmodSync(join(tree, 'bin', 'llama-server'), 0o755);
  writeFileSync(join(tree, 'manifest.txt'), material);
  writeFileSync(join(tree, 'toolchain.txt'), 'the tests\' compiler\n');
  writeFileSync(join(tree, 'runtime-libraries.txt'), 'libc.so.6\n');
  const cacheDir = join(dir, 'cache');
  mkdirSync(join(cacheDir, 'builds'), { recursive: true });
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-czf', join(cacheDir, buildCacheRel(key)), '-C', tree, '.']);

  const lines: string[] = [];
  const events: string[] = [];
  const out = await buildPhase.run({
    llamaCppRef: source.tag,
    llamaCppCommit: '',
    source: { kind: 'directory', dir: source.dir },
    quantizeTo: '',
    machine,
    bootDeadlineSeconds: 3600,
    layout,
    serviceUser: undefined,
    exec,
    limitMs,
    clock: systemClock,
    random: Math.random,
    cache: { cache: new DirCache(cacheDir), log: (m) => lines.push(m), record: (e, d) => events.push(`${e} ${d}`) },
    packages,
    platform,
    toolchain: () => packages.toolchainIdentity(),
    log: (m) => lines.push(m),
  });

  expect(out.key).toBe(key);
  // The lookup, then the hit: the facts the boot result's build section is made of.
  expect(events).toEqual([`build-lookup ${buildCacheRel(key)}`, `cache-hit ${buildCacheRel(key)}`]);
  expect(lines).toContain(`build: cache hit ${buildCacheRel(key)} (no compile); needs at run time: libc.so.6 `);
  expect(readFileSync(join(out.buildDir, 'manifest.txt'), 'utf8')).toBe(material);
  // Sealed: nobody but the owner may write to it.
  expect((execFileSync('stat', ['-c', '%a', out.llamaServer], { encoding: 'utf8' })).trim()).toBe('755');
  expect(existsSync(join(layout.stateDir, `build-${key}.tar.gz`))).toBe(false);
});
