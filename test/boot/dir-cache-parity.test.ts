/**
 * While both programs exist, a developer's cache directory may be written by
 * one and read by the other: boot.sh's local cache functions and the
 * TypeScript DirCache (runtime/boot/adapters/dir-cache.ts) must read each
 * other's objects and SHA-256 records.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirCache } from '../../runtime/boot/adapters/dir-cache';
import { REPO_ROOT } from '../support/synth';

const SCRIPT = path.join(REPO_ROOT, 'lib', 'boot', 'boot.sh');
const SHA = 'e'.repeat(64);

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-cache-parity-'));
  root = path.join(dir, 'cache');
  mkdirSync(path.join(dir, 'work'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `body` with boot.sh's functions loaded, in local mode over the cache directory. */
function bash(body: string): string {
  const r = spawnSync('bash', ['-c', `source "$0"; exec 3>&1; CFG[GLLM_MODE]=local; CFG[GLLM_CACHE_URI]=$1; LOG_FILE=/dev/null; ${body}`, SCRIPT, root], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
}

function file(name: string, text: string): string {
  const f = path.join(dir, 'work', name);
  writeFileSync(f, text);
  return f;
}

test('boot.sh reads what the TypeScript cache wrote: one version, its size, its SHA-256', async () => {
  await new DirCache(root).put(file('t', 'tarball'), 'builds/key.tar.gz', 'if-absent', SHA);
  const dest = path.join(dir, 'work', 'read');
  const out = bash(`cache_versions builds/key.tar.gz; echo "VERSIONS=\${CACHE_VERSIONS[*]}"; cache_read_version builds/key.tar.gz local ${dest}; echo "SHA=$CACHE_READ_SHA256"`);
  expect(out).toContain('VERSIONS=local - 7');
  expect(out).toContain(`SHA=${SHA}`);
  expect(readFileSync(dest, 'utf8')).toBe('tarball');
});

test('the TypeScript cache reads what boot.sh wrote, and both keep the first object written if absent', async () => {
  const cache = new DirCache(root);
  bash(`cache_put ${file('q', 'quantized')} quantized/q.gguf if-absent ${SHA}`);
  const listed = await cache.versions('quantized/q.gguf');
  expect(listed).toEqual({ ok: true, versions: [{ id: 'local', etag: '-', size: 9 }] });
  await expect(cache.readVersion('quantized/q.gguf', { id: 'local', etag: '-', size: 9 }, path.join(dir, 'work', 'r'))).resolves.toEqual({ ok: true, sha256: SHA });
  await expect(cache.put(file('other', 'other'), 'quantized/q.gguf', 'if-absent')).resolves.toEqual({ kind: 'kept-existing' });
  expect(bash(`cache_put ${file('other2', 'other2')} quantized/q.gguf if-absent`)).toContain('cache already holds quantized/q.gguf; keeping that one');
  expect(readFileSync(path.join(root, 'quantized', 'q.gguf'), 'utf8')).toBe('quantized');
});

test('a replacement without a SHA-256 drops the record, in both', async () => {
  const cache = new DirCache(root);
  await cache.put(file('a', 'a'), 'models/m.gguf', 'always', SHA);
  bash(`cache_put ${file('b', 'b')} models/m.gguf always`);
  await expect(cache.readVersion('models/m.gguf', { id: 'local', etag: '-', size: 1 }, path.join(dir, 'work', 'r'))).resolves.toEqual({ ok: true, sha256: undefined });
  bash(`cache_put ${file('c', 'c')} models/m.gguf always ${SHA}`);
  await cache.put(file('d', 'd'), 'models/m.gguf', 'always');
  expect(bash(`cache_read_version models/m.gguf local ${path.join(dir, 'work', 'r2')}; echo "SHA=[$CACHE_READ_SHA256]"`)).toContain('SHA=[]');
});
