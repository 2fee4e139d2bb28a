import { findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { ARCHITECTURES } from '../../lib/catalogs/model-architectures';
import { GIB, MIB, PROMPT_CACHE_ALLOWANCE_FRACTION, PROMPT_CACHE_MAX_MIB, promptCacheRoomMiB, fits, memoryNeed, promptCacheMiB, sizesThatFit, usableBytes } from '../../lib/sizing/memory-fit';

const threeB = { modelBytes: 2_019_377_696, architecture: ARCHITECTURES['llama-3.2-3b'], parallelSlots: 4, contextTokensPerSlot: 4096 };

test('need = model + KV cache for every slot + compute buffers', () => {
  const need = memoryNeed(threeB);
  expect(need.kvCacheBytes).toBe(114688 * 4 * 4096);
  expect(need.totalBytes).toBe(need.modelBytes + need.kvCacheBytes + need.computeBytes);
  expect(need.computeBytes).toBeGreaterThan(512 * 1024 ** 2);
});

test('usable memory keeps the OS reserve and 10% headroom', () => {
  const i = findGravitonInstance('c7g.2xlarge')!;
  expect(usableBytes(i)).toBeCloseTo(16 * GIB * 0.9 - GIB, 0);
});

test('the 3B default fits c7g.xlarge and up, not c7g.large', () => {
  const need = memoryNeed(threeB);
  expect(fits(need, findGravitonInstance('c7g.large')!)).toBe(false);
  expect(fits(need, findGravitonInstance('c7g.xlarge')!)).toBe(true);
});

test('sizes that fit start with the same generation and the smallest memory', () => {
  const need = memoryNeed({ ...threeB, modelBytes: 8_540_775_840, architecture: ARCHITECTURES['llama-3.1-8b'] });
  const list = sizesThatFit(need, findGravitonInstance('c7g.large')!);
  expect(list.length).toBeGreaterThan(0);
  expect(list[0].generationSpec.generation).toBe(3);
  for (const i of list) {
    expect(fits(need, i)).toBe(true);
  }
  expect(list.map((i) => i.instanceType)).toEqual(expect.arrayContaining(['r7g.large', 'm7g.xlarge', 'c7g.2xlarge']));
  expect(list.map((i) => i.family)).not.toContain('c7gd');
});

describe('the RAM prompt cache (llama-server --cache-ram)', () => {
  const oneB = { modelBytes: 1_321_083_104, architecture: ARCHITECTURES['llama-3.2-1b'], parallelSlots: 4, contextTokensPerSlot: 4096 };

  test('gets what the fit check leaves after an allowance for the server\'s own memory, in whole MiB, so need + allowance + cache stays within the usable memory', () => {
    const need = memoryNeed(oneB);
    const large = findGravitonInstance('c7g.large')!;
    const cache = promptCacheMiB(need, large);
    expect(PROMPT_CACHE_ALLOWANCE_FRACTION).toBe(0.1);
    expect(cache).toBe(Math.floor((usableBytes(large) - need.totalBytes * 1.1) / MIB));
    expect(cache).toBeGreaterThan(0);
    // llama-server's default would not fit: the kit's value is what keeps the server's memory bounded.
    expect(cache).toBeLessThan(PROMPT_CACHE_MAX_MIB);
    expect(need.totalBytes * 1.1 + cache * MIB).toBeLessThanOrEqual(usableBytes(large));
    expect(promptCacheRoomMiB(need, large)).toBe(cache);
  });

  test('is capped at llama-server\'s own default on large instances, and 0 where nothing is left', () => {
    expect(promptCacheMiB(memoryNeed(oneB), findGravitonInstance('r7g.4xlarge')!)).toBe(PROMPT_CACHE_MAX_MIB);
    const tight = memoryNeed(threeB);
    const xlarge = findGravitonInstance('c7g.xlarge')!;
    expect(promptCacheMiB({ ...tight, totalBytes: usableBytes(xlarge) }, xlarge)).toBe(0);
    expect(promptCacheMiB({ ...tight, totalBytes: usableBytes(xlarge) + GIB }, xlarge)).toBe(0);
  });
});
