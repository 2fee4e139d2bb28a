/** The cache's object names in-process (the bash boot's names: a stack updated from it keeps its cache). */
import { buildCacheRel, modelCacheRel, quantizedCacheRel, type QuantizedCacheInput } from '../../../../runtime/boot/cache/keys';

const SHA = 'a'.repeat(64);
const COMMIT = 'de3ff815ea7d559ee917f063901b8986f038abc6';
const INPUT: QuantizedCacheInput = { modelSha256: SHA, quantizeTo: 'Q4_0', llamaCppCommit: COMMIT, llamaCppRef: 'b6500' };

test('a build is named by its key, a source model by its SHA-256', () => {
  expect(buildCacheRel('0123456789abcdef0123456789abcdef')).toBe('builds/0123456789abcdef0123456789abcdef.tar.gz');
  expect(modelCacheRel(SHA)).toBe(`models/${SHA}.gguf`);
});

test('a quantized model is named by its source, its type and the llama.cpp commit that quantized it', () => {
  expect(quantizedCacheRel(INPUT)).toBe(`quantized/${SHA}-Q4_0-llama.cpp-${COMMIT}.gguf`);
  const others = [{ modelSha256: 'b'.repeat(64) }, { quantizeTo: 'Q8_0' }, { llamaCppCommit: 'c'.repeat(40) }].map((o) => quantizedCacheRel({ ...INPUT, ...o }));
  expect(new Set([quantizedCacheRel(INPUT), ...others]).size).toBe(4);
  // The commit is what quantized it: another name for it is the same file.
  expect(quantizedCacheRel({ ...INPUT, llamaCppRef: 'v0.5.0' })).toBe(quantizedCacheRel(INPUT));
});

test('a source tree without a commit is named by its ref, slashes made underscores so the name stays one file', () => {
  expect(quantizedCacheRel({ ...INPUT, llamaCppCommit: '', llamaCppRef: 'my-branch/feature/x' })).toBe(`quantized/${SHA}-Q4_0-llama.cpp-my-branch_feature_x.gguf`);
});
