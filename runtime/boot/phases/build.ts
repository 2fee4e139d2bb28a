/**
 * The build phase: a llama.cpp build that runs here, in the install root
 * under its build key: already installed (a re-run), from the cache, or
 * compiled and then cached. An installed or cached build that fails its
 * checks is discarded and compiled again, and the rebuild cached for the next
 * instance: one bad object must not fail every instance that reads it.
 *
 * The decisions are the pure rules' (build/, cache/);
 * every program runs through core/exec.ts under the boot's time limit, and
 * a cached build's (tar unpacking it, ldd, its llama-server) as the service
 * user where the boot has one.
 */
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { buildContentsProblem, serverVersionProblem, type UnpackedEntry, unpackedEntriesProblem } from '../build/check';
import { type BuildMachine, kitCmakeDefines } from '../build/defines';
import { buildKey, buildKeyMaterial, buildTargets } from '../build/key';
import { installFailedLine, LIBRARIES_INSTALLED_LINE, lddMissing, lddNeeded, missingLibrariesDecision, stillMissingProblem } from '../build/libraries';
import { TAR_LIST_ARGS, TAR_LIST_ENV, tarballListingProblem, unreadableTarballProblem } from '../build/tarball';
import type { Compiler } from '../build/toolchain';
import { buildCacheRel } from '../cache/keys';
import { type CacheUse, firstGoodVersion, putInCache } from '../cache/policy';
import type { Clock } from '../core/clock';
import { describeExit, type Exec, type ExecRequest, type ExecResult } from '../core/exec';
import { secondsText } from '../core/log';
import { type Phase, PhaseFailure } from '../core/phase';
import { type Attempt, retry } from '../core/retry';
import type { BootLayout } from '../layout';
import type { CachePublisher, Packages, Platform } from '../ports';
import { readPinned } from '../cache/pinned';
import { sha256OfFile } from '../model/sha256-file';
import { type ArtifactTrust, buildPinProblem, type PinnedObject } from '../pins';
import { ensureBuildTools } from './deps';

export const BUILD_PHASE = 'build';

/** Where the llama.cpp source comes from. */
export type SourceOrigin =
  /** The pinned commit, fetched shallow from the repository and checked. */
  | { readonly kind: 'repository'; readonly url: string }
  /** A source tree or git repository on this machine (GLLM_LLAMA_CPP_SOURCE_DIR, local mode). */
  | { readonly kind: 'directory'; readonly dir: string };

export interface BuildPhaseInput {
  /**
   * Whom the build is taken from; absent: the cache's rules. Pinned: the
   * installed build, else exactly the pinned version, checked by digest and
   * by the build's own checks. Builder: a compile, always (no cached or
   * installed build proves what it was compiled from), published.
   */
  readonly trust?: ArtifactTrust;
  /** GLLM_LLAMA_CPP_REF: the release's name, for the logs. */
  readonly llamaCppRef: string;
  /** GLLM_LLAMA_CPP_COMMIT: what is fetched and checked; empty for a source tree built as it is. */
  readonly llamaCppCommit: string;
  readonly source: SourceOrigin;
  /** GLLM_QUANTIZE_TO: llama-quantize is built too where it is not empty. */
  readonly quantizeTo: string;
  /** The machine the build is for (the cpu phase's, with GLLM_ARM_ARCH on aarch64). */
  readonly machine: BuildMachine;
  /** GLLM_BOOT_DEADLINE_SECONDS, for the failure's reason. */
  readonly bootDeadlineSeconds: number;
  readonly layout: Pick<BootLayout, 'installRoot' | 'stateDir' | 'logDir' | 'buildWork'>;
  /**
   * The service user, where the boot runs as root and has one (an
   * instance): it owns the empty directory a cached build is unpacked into,
   * and must exist before a build's program runs as it. The Exec runs
   * asServiceUser programs as the same user.
   */
  readonly serviceUser: string | undefined;
  /** Runs the build's programs (core/exec.ts's Exec, made with the service user). */
  readonly exec: Pick<Exec, 'run'>;
  /** Deadline.timeLimitMs: when every program is stopped. */
  readonly limitMs: () => number;
  readonly clock: Clock;
  /** In [0, 1), as Math.random: the git fetch's retries. */
  readonly random: () => number;
  readonly cache: CacheUse;
  readonly packages: Packages;
  readonly platform: Pick<Platform, 'osRelease' | 'cpuCount' | 'isRoot'>;
  /** The build key's toolchain line (adapters/packages.ts's toolchainIdentity). */
  readonly toolchain: () => Promise<string>;
  readonly log: (message: string) => void;
}

export interface BuildPhaseOutput {
  readonly key: string;
  /** The installed build: bin/, manifest.txt ... */
  readonly buildDir: string;
  readonly llamaServer: string;
  /** The programs built (key.ts's buildTargets). */
  readonly targets: readonly string[];
  /** The builder's published build (trust builder only). */
  readonly published?: PinnedObject;
}

function fail(reason: string): never {
  throw new PhaseFailure(BUILD_PHASE, reason);
}

const exists = (file: string) => stat(file).then(() => true, () => false);
const firstLine = (text: string) => text.split('\n')[0];
const lastLine = (text: string) => {
  const lines = text.replace(/\n+$/, '').split('\n');
  return lines[lines.length - 1];
};

/** One run of the build phase: its inputs, and what it learnt on the way. */
class Build {
  readonly targets: readonly string[];
  private buildLog: string;

  constructor(private readonly input: BuildPhaseInput) {
    this.targets = buildTargets(input.quantizeTo);
    this.buildLog = join(input.layout.logDir, 'build.log');
  }

  run(req: Omit<ExecRequest, 'limitMs' | 'step'>): Promise<ExecResult> {
    return this.input.exec.run({ step: BUILD_PHASE, limitMs: this.input.limitMs(), ...req });
  }

  /** Runs a program that must succeed, or fails the phase with `reason` and how it ended. */
  async mustRun(req: Omit<ExecRequest, 'limitMs' | 'step'>, reason: string): Promise<ExecResult> {
    const r = await this.run(req);
    if (r.exitCode !== 0) fail(`${reason}: ${req.program} ${describeExit(r)}${r.stderr ? `: ${lastLine(r.stderr)}` : ''}`);
    return r;
  }

  /** The service user exists. */
  async ensureServiceUser(user: string): Promise<void> {
    if ((await this.run({ program: 'id', args: ['-u', user] })).exitCode === 0) return;
    await this.mustRun({ program: 'useradd', args: ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/sbin/nologin', user] }, `cannot create the service user ${user}`);
  }

  // ------------------------------------------------------------ checks ---

  /** ldd's output for each target of the build in `dir` that is executable, as the service user (ldd may run what it inspects). */
  private async lddOutputs(dir: string): Promise<string[]> {
    const outputs: string[] = [];
    for (const t of this.targets) {
      const program = join(dir, 'bin', t);
      if (!(await isExecutableFile(program))) continue;
      outputs.push((await this.run({ program: 'ldd', args: [program], asServiceUser: true })).stdout);
    }
    return outputs;
  }

  /** What the build in `dir` lacks of the shared libraries it loads, installed where it may be; undefined where nothing is missing. */
  async runtimeLibrariesProblem(dir: string): Promise<string | undefined> {
    const { packages, log } = this.input;
    const decision = missingLibrariesDecision(lddMissing(await this.lddOutputs(dir)), packages.manager);
    if (decision.kind === 'none-missing') return undefined;
    if (decision.kind === 'refused') return decision.problem;
    log(decision.line);
    if (packages.manager !== undefined && decision.packages.length > 0) {
      const got = await packages.install(decision.packages);
      if (!got.ok) log(installFailedLine(packages.manager, decision.packages, got.detail));
    }
    const problem = stillMissingProblem(lddMissing(await this.lddOutputs(dir)));
    if (problem === undefined) log(LIBRARIES_INSTALLED_LINE);
    return problem;
  }

  /** What is wrong with the build in `dir` for key material `material`; undefined where it may be used. */
  async checkBuild(dir: string, material: string): Promise<string | undefined> {
    const manifest = await readFile(join(dir, 'manifest.txt'), 'utf8').catch(() => undefined);
    const executables: string[] = [];
    for (const t of this.targets) if (await isExecutableFile(join(dir, 'bin', t))) executables.push(t);
    const contents = buildContentsProblem({ manifest, material, targets: this.targets, executables });
    if (contents !== undefined) return contents;
    const libraries = await this.runtimeLibrariesProblem(dir);
    if (libraries !== undefined) return libraries;
    const r = await this.run({ program: join(dir, 'bin', 'llama-server'), args: ['--version'], asServiceUser: true });
    return serverVersionProblem(shellStatus(r), `${r.stdout}${r.stderr}` || describeExit(r));
  }

  /** Root owns the build and alone may write to it: the service user runs its programs but cannot change them. */
  async seal(dir: string): Promise<void> {
    if (this.input.platform.isRoot()) await this.mustRun({ program: 'chown', args: ['-R', 'root:root', '--', dir] }, 'cannot seal the build');
    await this.mustRun({ program: 'chmod', args: ['-R', 'u=rwX,go=rX', '--', dir] }, 'cannot seal the build');
  }

  /**
   * Unpacks the untrusted `tarball` into the empty `dir`: listed first and
   * refused unless tarball.ts passes it, unpacked by the service user (who
   * can create nothing it could not create anyway), checked on the disk, then
   * sealed. What is wrong, or undefined.
   */
  async extract(tarball: string, dir: string): Promise<string | undefined> {
    const listed = await this.run({ program: 'tar', args: [...TAR_LIST_ARGS, tarball], env: TAR_LIST_ENV });
    if (listed.exitCode !== 0) return unreadableTarballProblem(`${listed.stdout}${listed.stderr}` || describeExit(listed)).text;
    const listing = tarballListingProblem(listed.stdout);
    if (listing !== undefined) return listing.text;
    const user = this.input.serviceUser;
    if (user !== undefined && this.input.platform.isRoot()) await this.mustRun({ program: 'chown', args: [`${user}:${user}`, '--', dir] }, 'cannot hand the build directory to the service user');
    // The boot opens the tarball; the service user only reads it from its standard input.
    const unpacked = await this.run({ program: 'tar', args: ['-xzf', '-', '-C', dir, '--no-same-owner', '--no-same-permissions'], stdinFile: tarball, asServiceUser: true });
    if (unpacked.exitCode !== 0) return `not a readable tar.gz (${firstLine(`${unpacked.stderr}${unpacked.stdout}` || describeExit(unpacked))})`;
    const odd = unpackedEntriesProblem(await walk(dir));
    if (odd !== undefined) return odd;
    await this.seal(dir);
    return undefined;
  }

  /** Unpacks and checks; leaves `dir` empty where the build fails. */
  async unpackChecked(tarball: string, dir: string, material: string): Promise<string | undefined> {
    const problem = (await this.extract(tarball, dir)) ?? (await this.checkBuild(dir, material));
    if (problem !== undefined) await emptyDirectory(dir);
    return problem;
  }

  // ------------------------------------------------------------ source ---

  /** The source, in `dest`. */
  async fetchSource(dest: string): Promise<void> {
    const { source, llamaCppRef: ref, llamaCppCommit: commit, log } = this.input;
    await rm(dest, { recursive: true, force: true });
    if (source.kind === 'directory') {
      await this.copySourceDir(source.dir, dest);
      if (!(await exists(join(dest, 'CMakeLists.txt')))) fail(`${source.dir} is not a llama.cpp source tree (no CMakeLists.txt)`);
      return;
    }
    // The commit, never the tag: a tag can be moved to other code after the
    // stack was deployed. What arrived is checked against what was asked for.
    log(`source: fetching ${ref} (commit ${commit}) from ${source.url}`);
    const fetched = await retry(`git fetch of ${commit}`, () => this.gitFetchOnce(source.url, commit, dest), {
      clock: this.input.clock, random: this.input.random, limitMs: this.input.limitMs(), log,
    });
    if (!fetched.ok) fail(`git fetch of ${ref} (commit ${commit}) from ${source.url} failed; see ${this.buildLog}`);
    const head = await this.run({ program: 'git', args: ['-C', dest, 'rev-parse', 'HEAD'] });
    const got = head.stdout.trim();
    if (got !== commit) fail(`git fetch of ${ref} from ${source.url} gave commit ${got}, not ${commit}`);
  }

  /** One try at a shallow fetch of `commit` into a fresh `dest`. */
  private async gitFetchOnce(url: string, commit: string, dest: string): Promise<Attempt<void>> {
    await rm(dest, { recursive: true, force: true });
    for (const args of [
      ['init', '--quiet', dest],
      ['-C', dest, 'fetch', '--quiet', '--depth', '1', url, commit],
      ['-C', dest, '-c', 'advice.detachedHead=false', 'checkout', '--quiet', 'FETCH_HEAD'],
    ]) {
      const r = await this.run({ program: 'git', args, appendOutputTo: this.buildLog });
      if (r.exitCode !== 0) return { kind: 'transient', detail: describeExit(r) };
    }
    return { kind: 'done', value: undefined };
  }

  /** A local source: the commit (or ref) out of its git repository, else (no commit pinned) its working tree as it is. */
  private async copySourceDir(dir: string, dest: string): Promise<void> {
    const { llamaCppRef: ref, llamaCppCommit: commit, log } = this.input;
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) fail(`GLLM_LLAMA_CPP_SOURCE_DIR ${dir} is not a directory`);
    const want = commit || ref;
    const archive = `${dest}.tar`;
    await mkdir(dest, { recursive: true });
    const known = await this.run({ program: 'git', args: ['-C', dir, 'rev-parse', '--verify', '--quiet', `${want}^{commit}`] });
    if (known.exitCode === 0) {
      log(`source: ${ref} (${want}) from git repository ${dir}`);
      await this.mustRun({ program: 'git', args: ['-C', dir, 'archive', '--format=tar', '-o', archive, `${want}^{commit}`] }, `cannot export ${want} from ${dir}`);
    } else if (commit === '') {
      // Local mode trusts the caller that this tree is the release it names
      // (a release tarball, or a clone without tags).
      log(`source: ${dir} has no git ref ${ref}; using its working tree as ${ref}`);
      await this.mustRun({ program: 'tar', args: ['-C', dir, '--exclude=.git', '-cf', archive, '.'] }, `cannot copy ${dir}`);
    } else {
      fail(`${dir} does not hold commit ${commit} (${ref})`);
    }
    await this.mustRun({ program: 'tar', args: ['-x', '-f', archive, '-C', dest] }, `cannot copy ${dir}`);
    await rm(archive, { force: true });
  }

  // ----------------------------------------------------------- compile ---

  /** Compiles the targets and installs them in `stage`/bin. */
  async compile(stage: string, compiler: Compiler): Promise<void> {
    const { layout, machine, log, packages, bootDeadlineSeconds } = this.input;
    const src = join(layout.buildWork, 'src');
    const build = join(layout.buildWork, 'build');
    await rm(layout.buildWork, { recursive: true, force: true });
    await mkdir(layout.buildWork, { recursive: true });
    await this.fetchSource(src);
    if (machine.machine === 'aarch64') {
      // One line of C tells a wrong compiler/flag pairing in a second, where
      // CMake would take a minute to fail with a less direct message.
      const probe = await this.run({ program: compiler.cc, args: [`-march=${machine.armArch}`, '-x', 'c', '-o', '/dev/null', '-'], input: 'int main(void){return 0;}\n', appendOutputTo: this.buildLog });
      if (probe.exitCode !== 0) fail(`${compiler.cc} rejects -march=${machine.armArch} (see ${this.buildLog}); Graviton4 and later need GCC 12 or newer`);
    }
    const [noNinja, noCcache] = await packages.missingTools(['ninja', 'ccache']).then((m) => [m.includes('ninja'), m.includes('ccache')]);
    const generator = noNinja ? [] : ['-G', 'Ninja'];
    const launcher = noCcache ? [] : ['-DCMAKE_C_COMPILER_LAUNCHER=ccache', '-DCMAKE_CXX_COMPILER_LAUNCHER=ccache'];
    // Paths relative to the work dir make compiles in another work dir (a
    // re-run, another checkout) hit the same ccache entries.
    const env = { CC: compiler.cc, CXX: compiler.cxx, ...(noCcache ? {} : { CCACHE_BASEDIR: layout.buildWork, CCACHE_NOHASHDIR: 'true' }) };
    if (!noCcache) log('ccache: on');
    const start = this.input.clock.now();
    const version = (await this.run({ program: compiler.cxx, args: ['-dumpfullversion'] })).stdout.trim();
    const jobs = String(this.input.platform.cpuCount());
    log(`compiling ${this.targets.join(' ')} with ${compiler.cxx} (${version}) on ${jobs} CPUs; output in ${this.buildLog}`);
    const configure = await this.run({ program: 'cmake', args: ['-S', src, '-B', build, ...generator, ...kitCmakeDefines(machine), ...launcher], env, appendOutputTo: this.buildLog });
    if (configure.timedOut) fail(`cmake configure did not finish within the boot deadline of ${bootDeadlineSeconds} s`);
    if (configure.exitCode !== 0) fail(`cmake configure failed: ${(await this.buildLogTail(5)).join(' ')}`);
    const compile = await this.run({ program: 'cmake', args: ['--build', build, '--config', 'Release', '-j', jobs, '--target', ...this.targets], env, appendOutputTo: this.buildLog });
    const took = () => secondsText(this.input.clock.now() - start);
    if (compile.timedOut) fail(`compile did not finish within the boot deadline of ${bootDeadlineSeconds} s (after ${took()} s)`);
    if (compile.exitCode !== 0) {
      const text = await readFile(this.buildLog, 'utf8').catch(() => '');
      fail(`compile failed: ${text.split('\n').find((l) => /error|Error/.test(l)) ?? lastLine(text)}`);
    }
    log(`compiled ${this.targets.join(' ')} in ${took()} s`);
    await mkdir(join(stage, 'bin'), { recursive: true });
    for (const t of this.targets) {
      await copyFile(join(build, 'bin', t), join(stage, 'bin', t));
      await chmod(join(stage, 'bin', t), 0o755);
    }
    await rm(layout.buildWork, { recursive: true, force: true });
  }

  private async buildLogTail(n: number): Promise<string[]> {
    const lines = (await readFile(this.buildLog, 'utf8').catch(() => '')).replace(/\n+$/, '').split('\n');
    return lines.slice(-n);
  }

  /**
   * What the key cannot say, written beside the build: the compiler used,
   * and the shared libraries its output loads (a cache hit has no compiler
   * to bring them).
   */
  async describe(stage: string, material: string, compiler: Compiler): Promise<void> {
    await writeFile(join(stage, 'manifest.txt'), material);
    const version = firstLine((await this.run({ program: compiler.cxx, args: ['--version'] })).stdout);
    const target = (await this.run({ program: compiler.cxx, args: ['-dumpmachine'] })).stdout.trim();
    await writeFile(join(stage, 'toolchain.txt'), `${version} ${target}\n`);
    const needed = lddNeeded(await this.lddOutputs(stage));
    await writeFile(join(stage, 'runtime-libraries.txt'), needed.map((l) => `${l}\n`).join(''));
  }

  /**
   * The build as a tarball: the same files give the same bytes (names
   * sorted, no times or owners of this machine), so instances that compile
   * the same code at the same time write identical versions.
   */
  async pack(stage: string, tarball: string): Promise<void> {
    const tar = tarball.replace(/\.gz$/, '');
    await rm(tar, { force: true });
    await this.mustRun({ program: 'tar', args: ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-cf', tar, '-C', stage, '.'] }, 'cannot pack the build');
    await this.mustRun({ program: 'gzip', args: ['-n', '-f', tar] }, 'cannot pack the build');
  }

  // ----------------------------------------------------------- sources ---

  /** The cache's rules: the oldest cached version that passes its checks, unpacked into `staging`; else a compile, cached. */
  async fromCacheOrCompile(rel: string, key: string, material: string, osId: string, tarball: string, staging: string): Promise<void> {
    const { cache, log } = this.input;
    cache.record('build-lookup', rel, { kind: 'build', key, from: 'cache' });
    const found = await firstGoodVersion(cache, {
      what: 'build', rel, dest: tarball, instead: 'compiling', check: (file) => this.unpackChecked(file, staging, material),
    });
    if (found.ok) {
      const libraries = await readFile(join(staging, 'runtime-libraries.txt'), 'utf8').then((t) => t.split('\n').join(' '), () => 'not recorded');
      log(`build: cache hit ${rel} (no compile)${found.taken}; needs at run time: ${libraries}`);
      return;
    }
    cache.record('build-compile', key, { kind: 'build', key, from: 'compile' });
    await this.compileChecked(material, osId, tarball, staging);
    await putInCache(cache, tarball, rel, found.nextWrite);
  }

  /** A compile here, checked and packed into `tarball`: what a build missing from the cache, and every builder's, comes from. */
  async compileChecked(material: string, osId: string, tarball: string, staging: string): Promise<void> {
    const { layout, log } = this.input;
    await mkdir(layout.logDir, { recursive: true });
    await writeFile(join(layout.logDir, 'build.log'), '');
    const compiler = await ensureBuildTools({ phase: BUILD_PHASE, osId, packages: this.input.packages, platform: this.input.platform, log });
    await this.compile(staging, compiler);
    await this.describe(staging, material, compiler);
    await this.seal(staging);
    const problem = await this.checkBuild(staging, material);
    if (problem !== undefined) fail(`the build just compiled does not run here: ${problem}`);
    await this.pack(staging, tarball);
  }

  /** The builder's build: compiled, then published as a new version; the pin of it. */
  async compileAndPublish(publisher: CachePublisher, rel: string, key: string, material: string, osId: string, tarball: string, staging: string): Promise<PinnedObject> {
    const { cache, log } = this.input;
    cache.record('build-compile', key, { kind: 'build', key, from: 'compile' });
    await this.compileChecked(material, osId, tarball, staging);
    const sha256 = await this.sha256(tarball);
    const published = await publisher.publish(tarball, rel, sha256);
    if (!published.ok) fail(`cannot publish the build ${rel} to ${cache.cache.location}: ${published.detail}`);
    log(`build: published ${rel} version ${published.versionId} (SHA-256 ${sha256})`);
    cache.record('published', `${rel} version ${published.versionId}`, { kind: 'published', what: 'build', object: rel, versionId: published.versionId, sha256 });
    return { object: rel, versionId: published.versionId, sha256 };
  }

  /** A pinned fleet instance's build: exactly the pinned version, checked, unpacked into `staging`; anything else fails the boot. */
  async installPinned(pin: PinnedObject, pinsFile: string, key: string, tarball: string, staging: string, material: string): Promise<void> {
    const { cache, log } = this.input;
    cache.record('build-pinned', `${pin.object} version ${pin.versionId}`, { kind: 'build', key, from: 'pinned' });
    const problem = await readPinned({ cache: cache.cache, pin, what: 'build', pinsFile, dest: tarball, sha256: (f) => this.sha256OrNull(f) });
    if (problem !== undefined) fail(problem);
    const bad = await this.unpackChecked(tarball, staging, material);
    if (bad !== undefined) fail(`pinned build ${pin.object} version ${pin.versionId} fails its checks: ${bad}`);
    log(`build: pinned ${pin.object} version ${pin.versionId} (no compile, SHA-256 ${pin.sha256})`);
  }

  private sha256OrNull(file: string): Promise<string | null> {
    return sha256OfFile(file, this.input.limitMs(), this.input.clock);
  }

  private async sha256(file: string): Promise<string> {
    const sum = await this.sha256OrNull(file);
    if (sum === null) fail(`the SHA-256 of ${file} did not finish within the boot deadline of ${this.input.bootDeadlineSeconds} s`);
    return sum;
  }
}

/** The status a shell gives for how the program ended: its exit code, 128 + a signal's number, 124 at the time limit, 127 where it could not start. */
function shellStatus(r: ExecResult): number {
  if (r.exitCode !== undefined) return r.exitCode;
  if (r.signal !== undefined) return 128 + (osConstants.signals[r.signal] ?? 0);
  return r.timedOut ? 124 : 127;
}

/** Whether `file` is an executable regular file. */
async function isExecutableFile(file: string): Promise<boolean> {
  const s = await stat(file).catch(() => undefined);
  return s !== undefined && s.isFile() && (s.mode & 0o111) !== 0;
}

/** Every entry below `dir`, following no link, in walk order. */
async function walk(dir: string, rel = ''): Promise<UnpackedEntry[]> {
  const entries: UnpackedEntry[] = [];
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const s = await lstat(join(dir, path));
    const type = s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
    entries.push({ path, type, mode: s.mode & 0o7777 });
    if (type === 'directory') entries.push(...(await walk(dir, path)));
  }
  return entries;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) await rm(join(dir, name), { recursive: true, force: true });
}

export const buildPhase: Phase<BuildPhaseInput, BuildPhaseOutput> = {
  name: BUILD_PHASE,
  async run(input) {
    const { layout, log, cache } = input;
    const b = new Build(input);
    if (input.serviceUser !== undefined) await b.ensureServiceUser(input.serviceUser);
    const os = await input.platform.osRelease();
    const material = buildKeyMaterial({
      llamaCppCommit: input.llamaCppCommit, llamaCppRef: input.llamaCppRef, machine: input.machine,
      os: `${os.id}-${os.versionId}`, toolchain: await input.toolchain(), targets: b.targets,
    });
    const key = buildKey(material);
    const buildDir = join(layout.installRoot, key);
    let output: BuildPhaseOutput = { key, buildDir, llamaServer: join(buildDir, 'bin', 'llama-server'), targets: b.targets };
    log(`build key ${key} (${material.replace(/\n$/, '').split('\n').join('; ')})`);
    const trust = input.trust ?? { kind: 'cache' };
    if (trust.kind === 'pinned') {
      const problem = buildPinProblem(trust.pinsFile, trust.pins, key);
      if (problem !== undefined) fail(problem);
    }
    if (trust.kind !== 'builder' && await exists(join(buildDir, 'manifest.txt'))) {
      const problem = await b.checkBuild(buildDir, material);
      if (problem === undefined) {
        log(`build: installed build ${key} reused (no compile)`);
        cache.record('build-reused', key, { kind: 'build', key, from: 'installed' });
        return output;
      }
      log(`build: discarding installed build ${key}: ${problem}`);
      cache.record('build-discarded', `${key}: ${problem}`);
      await rm(buildDir, { recursive: true, force: true });
    }
    await mkdir(layout.installRoot, { recursive: true });
    await mkdir(layout.stateDir, { recursive: true });
    const tarball = join(layout.stateDir, `build-${key}.tar.gz`);
    const staging = await mkdtemp(join(layout.installRoot, `.install-${key}.`));
    try {
      // The checks run the binaries as the service user, who must reach them.
      await chmod(staging, 0o755);
      const rel = buildCacheRel(key);
      if (trust.kind === 'pinned') {
        await b.installPinned(trust.pins.build, trust.pinsFile, key, tarball, staging, material);
      } else if (trust.kind === 'builder') {
        const published = await b.compileAndPublish(trust.publisher, rel, key, material, os.id, tarball, staging);
        output = { ...output, published };
      } else {
        await b.fromCacheOrCompile(rel, key, material, os.id, tarball, staging);
      }
      // Renamed into place, so that a half-unpacked build is never taken as installed.
      await rm(buildDir, { recursive: true, force: true });
      await rename(staging, buildDir);
      return output;
    } finally {
      await rm(tarball, { force: true });
      await rm(staging, { recursive: true, force: true });
    }
  },
};
