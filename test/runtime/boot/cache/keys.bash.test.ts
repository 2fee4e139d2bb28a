/**
 * Side by side: the names boot.sh gives the cache's objects (quantized_cache_rel;
 * the build's in fetch_cached_build, the source model's in ensure_model)
 * against runtime/boot/cache/keys.ts, on the same configurations. The
 * functions that would fetch are stood in for by ones that print the name
 * they are given.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildCacheRel, modelCacheRel, quantizedCacheRel } from '../../../../runtime/boot/cache/keys';
import { type BootEnvironment } from '../../../../runtime/boot/contract';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { AWS_ENV, LOCAL_ENV, envText } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-cache-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function envFile(env: BootEnvironment): string {
  const file = path.join(dir, `boot-${files++}.env`);
  writeFileSync(file, envText(env));
  return file;
}

const COMMIT = AWS_ENV.GLLM_LLAMA_CPP_COMMIT;
const ROWS: readonly Partial<BootEnvironment>[] = [
  { GLLM_QUANTIZE_TO: 'Q4_0' },
  { GLLM_QUANTIZE_TO: 'Q4_K_M', GLLM_MODEL_SHA256: 'b'.repeat(64) },
  { GLLM_QUANTIZE_TO: 'Q8_0', GLLM_LLAMA_CPP_REF: 'b6500', GLLM_LLAMA_CPP_COMMIT: 'c'.repeat(40) },
  { GLLM_MODE: 'local', GLLM_QUANTIZE_TO: 'Q4_0', GLLM_LLAMA_CPP_COMMIT: '', GLLM_LLAMA_CPP_REF: 'v0.5.0' },
  { GLLM_MODE: 'local', GLLM_QUANTIZE_TO: 'Q4_0', GLLM_LLAMA_CPP_COMMIT: '', GLLM_LLAMA_CPP_REF: 'my-branch/feature' },
  { GLLM_MODE: 'local', GLLM_QUANTIZE_TO: 'Q4_0', GLLM_LLAMA_CPP_COMMIT: '', GLLM_LLAMA_CPP_REF: 'a/b//c/' },
  { GLLM_MODE: 'local', GLLM_QUANTIZE_TO: 'Q4_0', GLLM_LLAMA_CPP_COMMIT: COMMIT, GLLM_LLAMA_CPP_REF: 'my-branch/feature' },
];
const envOf = (row: Partial<BootEnvironment>): BootEnvironment => ({ ...(row.GLLM_MODE === 'local' ? LOCAL_ENV : AWS_ENV), ...row });

test.each(ROWS.map((row) => [JSON.stringify(row), row] as const))('quantized_cache_rel and quantizedCacheRel name alike: %s', (_name, row) => {
  const env = envOf(row);
  const r = inBootShell('parse_env "$1"; quantized_cache_rel', [envFile(env)]);
  expect(r.stderr).toBe('');
  expect(`${quantizedCacheRel({
    modelSha256: env.GLLM_MODEL_SHA256, quantizeTo: env.GLLM_QUANTIZE_TO, llamaCppCommit: env.GLLM_LLAMA_CPP_COMMIT, llamaCppRef: env.GLLM_LLAMA_CPP_REF,
  })}\n`).toBe(r.stdout);
});

test.each(['0123456789abcdef0123456789abcdef', 'f'.repeat(32)])('fetch_cached_build and buildCacheRel name build %s alike', (key) => {
  const r = inBootShell('parse_env "$1"; cache_first_good() { printf -- "--\\0%s\\0" "$2"; return 1; }; fetch_cached_build "$2" /nonexistent material /nonexistent.tar.gz', [envFile(AWS_ENV), key]);
  expect(wordsAfterMarker(r.stdout)).toEqual([buildCacheRel(key)]);
});

test.each(['a'.repeat(64), '0123456789abcdef'.repeat(4)])('ensure_model and modelCacheRel name source model %s alike', (sha) => {
  const models = path.join(dir, `models-${files++}`);
  mkdirSync(models);
  const r = inBootShell(
    'parse_env "$1"; MODEL_DIR=$2; stamp_ok() { return 1; }; cache_get() { printf -- "--\\0%s\\0" "$1"; exit 0; }; ensure_model',
    [envFile({ ...AWS_ENV, GLLM_MODEL_SHA256: sha }), models],
  );
  expect(wordsAfterMarker(r.stdout)).toEqual([modelCacheRel(sha)]);
});
