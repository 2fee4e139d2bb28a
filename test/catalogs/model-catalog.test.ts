import { ARCHITECTURES, kvCacheBytesPerToken, minimumModelFileBytes } from '../../lib/catalogs/model-architectures';
import { CATALOG_MODELS, DEFAULT_MODEL_ID, findCatalogModel, modelDownloadUrl } from '../../lib/catalogs/model-catalog';

test('every entry is complete and pinned by size and SHA-256', () => {
  const ids = new Set<string>();
  for (const m of CATALOG_MODELS) {
    expect(ids.has(m.id)).toBe(false);
    ids.add(m.id);
    expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isSafeInteger(m.sizeBytes)).toBe(true);
    // A commit, never a branch such as `main`, which its owner can move.
    expect([m.id, m.revision]).toEqual([m.id, expect.stringMatching(/^[0-9a-f]{40}$/)]);
    expect(m.file.endsWith('.gguf')).toBe(true);
    expect(m.id).toBe(`${m.architecture}-instruct-${m.quantization.toLowerCase()}`);
    expect(ARCHITECTURES[m.architecture]).toBeDefined();
  }
  expect(new Set(CATALOG_MODELS.map((m) => m.sha256)).size).toBe(CATALOG_MODELS.length);
});

test('file sizes are plausible for the parameter count and quantization', () => {
  const bitsPerWeight = { Q4_0: 4.5, Q4_K_M: 4.85, Q8_0: 8.5, F16: 16 };
  for (const m of CATALOG_MODELS) {
    const expected = ARCHITECTURES[m.architecture].parametersBillions * 1e9 * bitsPerWeight[m.quantization] / 8;
    // Embeddings and output layers are often kept at higher precision, so allow a wide band.
    expect(m.sizeBytes / expected).toBeGreaterThan(0.8);
    expect(m.sizeBytes / expected).toBeLessThan(1.35);
  }
});

test('the default model is in the catalog and downloads from a pinned Hugging Face revision', () => {
  const m = findCatalogModel(DEFAULT_MODEL_ID)!;
  expect(m.architecture).toBe('llama-3.2-3b');
  expect(modelDownloadUrl(m)).toBe(`https://huggingface.co/bartowski/Llama-3.2-3B-Instruct-GGUF/resolve/${m.revision}/Llama-3.2-3B-Instruct-Q4_K_M.gguf`);
});

test('KV cache per token follows the attention shape', () => {
  // Llama 3.2 3B: 28 layers x 8 KV heads x 128 dims x (K and V) x 2 bytes.
  expect(kvCacheBytesPerToken(ARCHITECTURES['llama-3.2-3b'])).toBe(114688);
  expect(kvCacheBytesPerToken(ARCHITECTURES['llama-3.2-1b'])).toBe(32768);
});

test('every catalog model passes the custom-model size floor of its architecture and quantization', () => {
  // The floor refuses a customModel.sizeBytes far below what the weights take; a real file is never below it.
  for (const m of CATALOG_MODELS) {
    expect(m.sizeBytes).toBeGreaterThanOrEqual(minimumModelFileBytes(ARCHITECTURES[m.architecture], m.quantization));
    expect(m.sizeBytes).toBeLessThan(minimumModelFileBytes(ARCHITECTURES[m.architecture], m.quantization) * 3);
  }
});
