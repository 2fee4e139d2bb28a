/**
 * Instances build a commit, not a tag. The catalog's commit for the default
 * release is the one node-llama-cpp bundles for that tag (the source every
 * other test builds), and boot.sh's fetch takes exactly that commit from a
 * git repository and refuses one the repository does not hold.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { ensureBoxGitRepository } from '../support/instance-box/stand-ins';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';

const SCRIPT = path.resolve(__dirname, '..', '..', 'lib', 'boot', 'boot.sh');
let source: LlamaCppSource;
let repo: string;
let dir: string;

beforeAll(async () => {
  source = await ensureLlamaCppSource();
  repo = await ensureBoxGitRepository(source);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-llama-source-'));
}, 10 * 60 * 1000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** Runs boot.sh's fetch_source as an aws-mode boot would, against `repository`. */
function fetchSource(commit: string, repository: string) {
  const env = renderBootEnvironment({
    ...localBootEnvironment({
      modelUrl: 'http://127.0.0.1:9/m.gguf', sha256: 'a'.repeat(64), sizeBytes: 1, workDir: path.join(dir, 'work'),
      cacheDir: path.join(dir, 'cache'), llamaRef: LLAMA_CPP_DEFAULT_REF, llamaCommit: commit, port: 18080, slots: 1,
      ctxPerSlot: 512, promptCacheMiB: 0, healthTimeoutSeconds: 60, bootTimeoutSeconds: 600, modelFile: 'm.gguf', quantizeTo: '', generation: 3,
    }, path.join(dir, 'key')),
    GLLM_INSTANCE_TYPE: 'c7g.xlarge',
  });
  const envFile = path.join(dir, `boot-${commit.slice(0, 8)}.env`);
  writeFileSync(envFile, env);
  const dest = path.join(dir, `src-${commit.slice(0, 8)}`);
  // The repository is a local path here; instances use GLLM_LLAMA_CPP_REPOSITORY (https) the same way.
  // One try (no retry fits before the deadline): the retries are tested in boot-script.test.ts.
  const body = [
    `CFG[GLLM_LLAMA_CPP_REPOSITORY]=${repository}; BUILD_LOG=${dir}/build.log; LOG_FILE=${dir}/boot.log`,
    'BOOT_STARTED_MS=$(now_ms); retry_delay_ms() { echo 999999999; }',
    `fetch_source ${dest} && echo "HEAD=$(git -C ${dest} rev-parse HEAD)"`,
  ].join('\n');
  const r = spawnSync('bash', ['-c', `source "$0"; exec 3>&1; parse_env "$1"; set_layout; ${body}`, SCRIPT, envFile], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('the catalog pins the default release to the commit node-llama-cpp bundles for it', () => {
  expect(source.tag).toBe(LLAMA_CPP_DEFAULT_REF);
  const head = spawnSync('git', ['-C', source.dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  expect(head.stdout.trim()).toBe(LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF]);
});

test('the boot fetches the pinned commit and checks it', () => {
  const commit = LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF];
  const r = fetchSource(commit, repo);
  expect(r.out).toContain(`source: fetching ${LLAMA_CPP_DEFAULT_REF} (commit ${commit})`);
  expect(r.out).toContain(`HEAD=${commit}`);
  expect(r.status).toBe(0);
});

test('a commit the repository does not hold fails the boot, naming ref, commit and repository', () => {
  const missing = '0123456789abcdef0123456789abcdef01234567';
  const r = fetchSource(missing, repo);
  expect(r.status).toBe(1);
  expect(r.out).toContain(`ERROR: git fetch of ${LLAMA_CPP_DEFAULT_REF} (commit ${missing}) from ${repo} failed`);
  expect(r.out).not.toContain('HEAD=');
});
