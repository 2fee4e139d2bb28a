/**
 * The percentile the kit reports everywhere (the bench, the smoke tests), in
 * one place so that a p90 means the same thing in every report. Pure.
 */

/**
 * The p-th percentile (0..100) by linear interpolation between closest ranks
 * (numpy's default, "type 7"), so p50 of [1, 2] is 1.5 and small samples do
 * not jump from one sample to the next. Undefined for an empty sample.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}
