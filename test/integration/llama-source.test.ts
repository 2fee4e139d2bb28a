/**
 * Instances build a commit, not a tag. The catalog's commit for the default
 * release is the one node-llama-cpp bundles for that tag (the source every
 * other test builds), and the boot's build phase fetches exactly that commit
 * from a git repository, with the real git, and refuses one the repository
 * does not hold.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { DirCache } from '../../runtime/boot/adapters/dir-cache';
import { LinuxPlatform } from '../../runtime/boot/adapters/linux-platform';
import { DnfAptPackages } from '../../runtime/boot/adapters/packages';
import { systemClock } from '../../runtime/boot/core/clock';
import { Exec } from '../../runtime/boot/core/exec';
import { buildPhase } from '../../runtime/boot/phases/build';
import { ensureBoxGitRepository } from '../support/instance-box/stand-ins';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';
import { FakeClock } from '../runtime/boot/support/fake-clock';
import { failureOf } from '../runtime/boot/support/phase-failure';

let source: LlamaCppSource;
let repo: string;
let dir: string;
const PATH = process.env.PATH;
/** Says the source is there and stops the build: what is under test ends where the compile would begin. */
const CMAKE_STAND_IN = 'stand-in cmake: not configuring';

beforeAll(async () => {
  source = await ensureLlamaCppSource();
  repo = await ensureBoxGitRepository(source);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-llama-source-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'cmake'), `#!/bin/sh\necho '${CMAKE_STAND_IN}'\nexit 1\n`);
  chmodSync(path.join(bin, 'cmake'), 0o755);
  process.env.PATH = `${bin}:${PATH}`;
}, 10 * 60 * 1000);
afterAll(() => {
  process.env.PATH = PATH;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The build phase of an instance's boot (a miss in an empty cache, so it
 * compiles), fetching `commit` from `repository` (a local path here; instances
 * use GLLM_LLAMA_CPP_REPOSITORY, https, the same way).
 */
function build(commit: string, repository: string, log: string[]) {
  const root = mkdtempSync(path.join(dir, `build-${commit.slice(0, 8)}-`));
  const logDir = path.join(root, 'log');
  const exec = new Exec({ clock: systemClock });
  const limitMs = () => Date.now() + 5 * 60 * 1000;
  return {
    root,
    run: buildPhase.run({
      llamaCppRef: LLAMA_CPP_DEFAULT_REF,
      llamaCppCommit: commit,
      source: { kind: 'repository', url: repository },
      quantizeTo: '',
      machine: { machine: 'x86_64' },
      bootDeadlineSeconds: 300,
      layout: { installRoot: path.join(root, 'opt'), stateDir: path.join(root, 'state'), logDir, buildWork: path.join(root, 'state', 'build-work') },
      serviceUser: undefined,
      exec,
      limitMs,
      // The git fetch's retries wait on this clock: no real time passes between tries.
      clock: new FakeClock(),
      random: () => 0,
      cache: { cache: new DirCache(path.join(root, 'cache')), log: (m) => log.push(m), record: () => undefined },
      packages: new DnfAptPackages({ exec, limitMs, logDir, root: false }, undefined),
      platform: new LinuxPlatform(),
      toolchain: async () => 'test toolchain',
      log: (m) => log.push(m),
    }),
  };
}

test('the catalog pins the default release to the commit node-llama-cpp bundles for it', () => {
  expect(source.tag).toBe(LLAMA_CPP_DEFAULT_REF);
  const head = spawnSync('git', ['-C', source.dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  expect(head.stdout.trim()).toBe(LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF]);
});

test('the boot fetches the pinned commit and checks it', async () => {
  const commit = LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF];
  const log: string[] = [];
  const { root, run } = build(commit, repo, log);
  const failure = await failureOf(run, 'build');
  expect(log).toContain(`source: fetching ${LLAMA_CPP_DEFAULT_REF} (commit ${commit}) from ${repo}`);
  // The fetch and its check passed: the phase went on to configure (the stand-in stops it there).
  expect(failure.message).toMatch(new RegExp(`^cmake configure failed: .*${CMAKE_STAND_IN}`));
  const head = spawnSync('git', ['-C', path.join(root, 'state', 'build-work', 'src'), 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  expect(head.stdout.trim()).toBe(commit);
});

test('a commit the repository does not hold fails the boot, naming ref, commit and repository', async () => {
  const missing = '0123456789abcdef0123456789abcdef01234567';
  const log: string[] = [];
  const { root, run } = build(missing, repo, log);
  const failure = await failureOf(run, 'build');
  expect(failure.message).toBe(`git fetch of ${LLAMA_CPP_DEFAULT_REF} (commit ${missing}) from ${repo} failed; see ${path.join(root, 'log', 'build.log')}`);
  expect(log.join('\n')).not.toContain(CMAKE_STAND_IN);
});
