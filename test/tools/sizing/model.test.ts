import { findGravitonInstance, type GravitonInstance } from '../../../lib/catalogs/graviton-instances';
import { kvCacheBytesPerToken } from '../../../lib/catalogs/model-architectures';
import { findCatalogModel } from '../../../lib/catalogs/model-catalog';
import { PUBLISHED_FIGURES, SOCKET_MEMORY } from '../../../tools/sizing/data';
import {
  calibrationFigures,
  estimateInstance,
  fitTwo,
  generationConstants,
  kvBytesPerToken,
  modelSpec,
  peakBandwidth,
  weightBytesPerToken,
} from '../../../tools/sizing/model';

const instance = (t: string): GravitonInstance => {
  const i = findGravitonInstance(t);
  if (!i) throw new Error(t);
  return i;
};
const GB = 1e9;

describe('memory bandwidth arithmetic', () => {
  test('peak = channels x MT/s x 8 bytes, doubled for two-socket sizes', () => {
    expect(peakBandwidth(instance('c6g.large'))).toBeCloseTo(8 * 3200e6 * 8); // 204.8 GB/s
    expect(peakBandwidth(instance('c7g.16xlarge'))).toBeCloseTo(307.2 * GB);
    expect(peakBandwidth(instance('c8g.24xlarge'))).toBeCloseTo(537.6 * GB);
    expect(peakBandwidth(instance('c8g.48xlarge'))).toBeCloseTo(2 * 537.6 * GB);
  });

  test('weights read per token: the whole file for tied embeddings, less the input embedding otherwise', () => {
    const oneB = modelSpec('llama-3.2-1b', 'Q4_0');
    expect(oneB.sizeBasis).toBe('catalog');
    expect(oneB.sizeBytes).toBe(findCatalogModel('llama-3.2-1b-instruct-q4_0')!.sizeBytes);
    expect(weightBytesPerToken(oneB)).toBe(oneB.sizeBytes);
    const eightB = modelSpec('llama-3.1-8b', 'Q4_K_M');
    expect(weightBytesPerToken(eightB)).toBeCloseTo(eightB.sizeBytes - (128256 * 4096 * 4.9) / 8);
  });

  test('a size the catalog lacks is derived from parameters x bits per weight', () => {
    const m = modelSpec('llama-3.1-8b', 'Q4_0');
    expect(m.sizeBasis).toBe('derived');
    expect(m.sizeBytes).toBe(Math.round((8.03e9 * 4.5) / 8));
  });

  test('the bound is peak bandwidth / (weights + KV read) per token', () => {
    const m = modelSpec('llama-3.2-1b', 'Q4_0');
    const i = instance('c7g.2xlarge');
    const e = estimateInstance(i, m, generationConstants(), { contextTokens: 1000, prefillSpeedup: 1 })!;
    expect(kvBytesPerToken(m, 1000)).toBe(kvCacheBytesPerToken(m.architecture) * 1000);
    expect(e.boundTps).toBeCloseTo(307.2e9 / (m.sizeBytes + kvBytesPerToken(m, 1000)));
    expect(e.singleStreamTps).toBeLessThan(e.boundTps);
  });
});

describe('fit to published figures', () => {
  test('fitTwo solves two exact equations and refuses degenerate ones', () => {
    const f = fitTwo([
      { a: 1, b: 2, t: 1 * 3 + 2 * 5 },
      { a: 2, b: 1, t: 2 * 3 + 1 * 5 },
    ])!;
    expect(f.x1).toBeCloseTo(3);
    expect(f.x2).toBeCloseTo(5);
    expect(fitTwo([{ a: 1, b: 2, t: 3 }])).toBeUndefined();
    expect(fitTwo([{ a: 1, b: 2, t: 3 }, { a: 2, b: 4, t: 6 }])).toBeUndefined();
  });

  test('Graviton3 and 4 are fitted, Graviton2 derived, and no fitted bandwidth beats the physical peak', () => {
    const k = generationConstants();
    expect(k.get(3)?.basis).toBe('fitted');
    expect(k.get(4)?.basis).toBe('fitted');
    expect(k.get(2)?.basis).toBe('derived');
    for (const g of [2, 3, 4] as const) {
      const peak = SOCKET_MEMORY[g]!.channels * 8e6 * { 2: 3200, 3: 4800, 4: 5600 }[g];
      expect(k.get(g)!.bandwidth).toBeLessThan(peak);
    }
  });

  test('the fitted model reproduces every calibration figure within 10%', () => {
    const k = generationConstants();
    for (const g of [3, 4] as const) {
      for (const f of calibrationFigures(g)) {
        const i = instance(f.instanceType);
        const m = modelSpec(f.architecture, f.quantization);
        // Only the fitted step, not the figure itself: ask for a neighbour that has no figure of its own.
        const e = estimateInstance({ ...i, instanceType: `${i.instanceType}-nofigure` }, m, k, { contextTokens: 0, prefillSpeedup: 1 })!;
        expect(e.basis).toBe('fitted');
        expect(Math.abs(e.singleStreamTps / f.tokensPerS - 1)).toBeLessThan(0.1);
      }
    }
  });

  test('the 70B figure, not used in the fit, is underestimated by less than 30%', () => {
    const f = PUBLISHED_FIGURES.find((p) => p.architecture === 'llama-3.3-70b' && !p.flashAttention)!;
    const i = instance(f.instanceType);
    const e = estimateInstance({ ...i, instanceType: 'x' }, modelSpec(f.architecture, f.quantization), generationConstants(), {
      contextTokens: 0,
      prefillSpeedup: 1,
    })!;
    expect(e.singleStreamTps).toBeLessThan(f.tokensPerS);
    expect(e.singleStreamTps / f.tokensPerS).toBeGreaterThan(0.7);
  });

  test('an exact published figure replaces the fitted single stream, and batching adds per-sequence cost', () => {
    const e = estimateInstance(instance('c7g.16xlarge'), modelSpec('llama-3.1-8b', 'Q4_0'), generationConstants(), {
      contextTokens: 512,
      prefillSpeedup: 1,
    })!;
    expect(e.basis).toBe('published');
    expect(e.singleStreamTps).toBeCloseTo(45.5);
    expect(e.step(4)).toBeGreaterThan(e.step(1));
    // Four sequences per step produce more tokens per second than one.
    expect(4 / e.step(4)).toBeGreaterThan(1 / e.step(1));
  });
});
