/**
 * Statistics of a settings comparison repeated over rounds: each figure's
 * median and spread across the rounds, and a verdict that calls two settings
 * equal ("parity") whenever their spreads overlap. One quiet run makes a
 * noisy host's luck look like a speed-up; the spread says how far a figure
 * moved between rounds on the same host, and only a difference larger than
 * that is reported as one. Pure functions, unit-tested with synthetic numbers.
 */

export interface Spread {
  readonly rounds: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median and range of one figure over the rounds; undefined when no round produced it. */
export function spreadOf(values: readonly (number | undefined)[]): Spread | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return { rounds: v.length, median: v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1] };
}

export type Better = 'higher' | 'lower';

export type Verdict =
  | { readonly kind: 'parity'; readonly ratio: number }
  /** `a` (the first settings) is better beyond the spread of either; ratio is a's median over b's. */
  | { readonly kind: 'a better' | 'b better'; readonly ratio: number };

/**
 * Parity when the two ranges overlap (the rounds of one reach into the other's);
 * otherwise the better one by the figure's direction. The ratio is always
 * a's median over b's, for the record.
 */
export function verdictOf(a: Spread, b: Spread, better: Better): Verdict {
  const ratio = b.median !== 0 ? a.median / b.median : Number.NaN;
  if (a.min <= b.max && b.min <= a.max) return { kind: 'parity', ratio };
  const aHigher = a.min > b.max;
  return { kind: aHigher === (better === 'higher') ? 'a better' : 'b better', ratio };
}

/** The figures compared at each load level, and which way is better. */
export const COMPARED_FIGURES = {
  outputTokensPerS: { label: 'Output tok/s', better: 'higher' },
  ttftP50Ms: { label: 'TTFT p50 (ms)', better: 'lower' },
  ttftP90Ms: { label: 'TTFT p90 (ms)', better: 'lower' },
  tpotP50Ms: { label: 'TPOT p50 (ms)', better: 'lower' },
  tpotP90Ms: { label: 'TPOT p90 (ms)', better: 'lower' },
} as const satisfies Record<string, { label: string; better: Better }>;

export type FigureName = keyof typeof COMPARED_FIGURES;

/** One round's figures of one settings at one concurrency. */
export type RoundFigures = Partial<Record<FigureName, number>>;

export interface ComparedFigure {
  readonly concurrency: number;
  readonly figure: FigureName;
  readonly a?: Spread;
  readonly b?: Spread;
  readonly verdict?: Verdict;
}

/**
 * Every figure at every concurrency: the spread of `a`'s rounds and of `b`'s,
 * and the verdict where both have one.
 */
export function compareRounds(
  a: ReadonlyMap<number, readonly RoundFigures[]>,
  b: ReadonlyMap<number, readonly RoundFigures[]>,
): ComparedFigure[] {
  const levels = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  return levels.flatMap((concurrency) =>
    (Object.keys(COMPARED_FIGURES) as FigureName[]).map((figure) => {
      const sa = spreadOf((a.get(concurrency) ?? []).map((r) => r[figure]));
      const sb = spreadOf((b.get(concurrency) ?? []).map((r) => r[figure]));
      return { concurrency, figure, ...(sa ? { a: sa } : {}), ...(sb ? { b: sb } : {}), ...(sa && sb ? { verdict: verdictOf(sa, sb, COMPARED_FIGURES[figure].better) } : {}) };
    }),
  );
}

/**
 * The promise the kit's settings keep: never slower than llama-server's
 * defaults for a single client. The problem in words, or undefined.
 */
export function lossAtConcurrencyOne(figures: readonly ComparedFigure[], aName: string, bName: string): string | undefined {
  const f = figures.find((x) => x.concurrency === 1 && x.figure === 'outputTokensPerS');
  if (f?.verdict?.kind !== 'b better') return undefined;
  return `${aName} output tok/s at concurrency 1 (median ${f.a!.median.toFixed(1)}, ${f.a!.min.toFixed(1)}-${f.a!.max.toFixed(1)}) `
    + `is below ${bName}'s (median ${f.b!.median.toFixed(1)}, ${f.b!.min.toFixed(1)}-${f.b!.max.toFixed(1)}) in every round`;
}

const num = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
const cell = (s: Spread | undefined) => (s ? `${num(s.median)} (${num(s.min)}-${num(s.max)})` : '-');

function verdictText(v: Verdict | undefined, aName: string, bName: string): string {
  if (!v) return '-';
  const r = `${v.ratio.toFixed(2)}x`;
  if (v.kind === 'parity') return `parity (${r}; ranges overlap)`;
  return `${v.kind === 'a better' ? aName : bName} better (${r})`;
}

/** Markdown: one row per concurrency and figure, median (min-max) of each, the ratio and the verdict. */
export function renderComparison(figures: readonly ComparedFigure[], aName: string, bName: string): string {
  const rounds = Math.max(0, ...figures.flatMap((f) => [f.a?.rounds ?? 0, f.b?.rounds ?? 0]));
  return [
    `Median (min-max) over ${rounds} interleaved rounds each; "parity" where the two ranges overlap.`,
    '',
    `| Concurrency | Figure | ${aName} | ${bName} | Verdict (${aName}/${bName} medians) |`,
    '|---|---|---|---|---|',
    ...figures.map((f) => `| ${f.concurrency} | ${COMPARED_FIGURES[f.figure].label} | ${cell(f.a)} | ${cell(f.b)} | ${verdictText(f.verdict, aName, bName)} |`),
  ].join('\n');
}

