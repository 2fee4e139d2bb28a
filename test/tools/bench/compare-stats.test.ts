import { compareRounds, lossAtConcurrencyOne, renderComparison, spreadOf, verdictOf, type RoundFigures } from '../../../tools/bench/compare-stats';

const tps = (...values: number[]): RoundFigures[] => values.map((outputTokensPerS) => ({ outputTokensPerS }));

describe('spreadOf', () => {
  test('median of an odd and an even count, min and max, ignoring missing figures', () => {
    expect(spreadOf([3, 1, 2])).toEqual({ rounds: 3, median: 2, min: 1, max: 3 });
    expect(spreadOf([4, 1, undefined, 3, 2, Number.NaN])).toEqual({ rounds: 4, median: 2.5, min: 1, max: 4 });
    expect(spreadOf([undefined])).toBeUndefined();
  });
});

describe('verdictOf', () => {
  test('overlapping ranges are parity, whatever the medians', () => {
    // The re-run: kit 24.1 vs defaults 23.5 at concurrency 1, each a few tenths either way.
    const v = verdictOf(spreadOf([24.1, 23.6, 24.4])!, spreadOf([23.5, 23.9, 23.2])!, 'higher');
    expect(v.kind).toBe('parity');
    expect(v.ratio).toBeCloseTo(24.1 / 23.5, 5);
    // Touching ends overlap too.
    expect(verdictOf(spreadOf([2, 3])!, spreadOf([1, 2])!, 'higher').kind).toBe('parity');
  });

  test('separate ranges name the better settings by the figure\'s direction', () => {
    const fast = spreadOf([30, 31, 32])!;
    const slow = spreadOf([22, 23, 24])!;
    expect(verdictOf(fast, slow, 'higher')).toEqual({ kind: 'a better', ratio: 31 / 23 });
    expect(verdictOf(slow, fast, 'higher').kind).toBe('b better');
    // For a latency, lower wins.
    expect(verdictOf(fast, slow, 'lower').kind).toBe('b better');
    expect(verdictOf(slow, fast, 'lower').kind).toBe('a better');
  });

  test('one quiet round that looks like a 1.33x speed-up is parity once the other rounds are in', () => {
    const kit = spreadOf([31.4, 24.0, 23.8])!;
    const defaults = spreadOf([23.6, 23.9, 24.2])!;
    expect(verdictOf(kit, defaults, 'higher').kind).toBe('parity');
  });
});

describe('compareRounds and the concurrency-1 promise', () => {
  const kit = new Map([[1, tps(24.1, 24.3, 23.9)], [4, tps(27.4, 27.0, 27.9)], [8, tps(36, 37, 38)]]);
  const defaults = new Map([[1, tps(23.5, 24.0, 23.7)], [4, tps(27.7, 27.2, 28.0)], [8, tps(29.5, 30.0, 29.1)]]);

  test('gives every figure at every level, with a verdict where both settings have figures', () => {
    const figures = compareRounds(kit, defaults);
    const tpsAt = (c: number) => figures.find((f) => f.concurrency === c && f.figure === 'outputTokensPerS')!;
    expect(tpsAt(1).verdict?.kind).toBe('parity');
    expect(tpsAt(4).verdict?.kind).toBe('parity');
    expect(tpsAt(8).verdict?.kind).toBe('a better');
    // No TTFT in the synthetic rounds: no spread, no verdict.
    expect(figures.find((f) => f.concurrency === 1 && f.figure === 'ttftP90Ms')).toEqual({ concurrency: 1, figure: 'ttftP90Ms' });
    expect(lossAtConcurrencyOne(figures, 'kit', 'defaults')).toBeUndefined();
    const table = renderComparison(figures, 'kit', 'defaults');
    expect(table).toContain('over 3 interleaved rounds');
    expect(table).toContain('| 1 | Output tok/s | 24.1 (23.9-24.3) | 23.7 (23.5-24.0) | parity (1.02x; ranges overlap) |');
    expect(table).toContain('| 8 | Output tok/s | 37.0 (36.0-38.0) | 29.5 (29.1-30.0) | kit better (1.25x) |');
  });

  test('a kit slower than the defaults in every round at concurrency 1 is reported as a loss', () => {
    const figures = compareRounds(new Map([[1, tps(20, 20.5, 21)]]), new Map([[1, tps(23, 24, 25)]]));
    expect(lossAtConcurrencyOne(figures, 'kit', 'defaults')).toMatch(/kit output tok\/s at concurrency 1 \(median 20\.5, 20\.0-21\.0\) is below defaults's \(median 24\.0/);
  });
});
