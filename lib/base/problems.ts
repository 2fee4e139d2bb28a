/**
 * One thing wrong with a construct's props: the prop, the value given, and
 * what is allowed. The configuration layer reports the same problems with the
 * file or flag a value came from (ConfigProblem extends this), so a check is
 * written once, here, next to the construct that owns the value.
 */
export interface PropProblem {
  /** Dotted path of the prop, e.g. `minCapacity` or `customModel.quantizeTo`. */
  readonly field: string;
  /** What was given; undefined when the prop was missing. */
  readonly given?: unknown;
  /** What is allowed, or what to do instead. */
  readonly expected: string;
}

/** `field: got VALUE; EXPECTED`, the form every problem is printed in. */
export function formatPropProblem(p: PropProblem): string {
  const given = p.given === undefined ? 'nothing was given' : `got ${formatValue(p.given)}`;
  return `${p.field}: ${given}; ${p.expected}`;
}

function formatValue(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * Props a construct refuses, all of them at once, each with what was received
 * and what is expected.
 *
 * TypeScript and JavaScript only: jsii cannot model a subclass of Error, so in
 * other languages the same message arrives as the runtime's own error.
 *
 * @jsii ignore
 */
export class PropsError extends Error {
  readonly problems: readonly PropProblem[];

  constructor(owner: string, problems: readonly PropProblem[]) {
    super([`${owner}: invalid props:`, ...problems.map((p) => `  - ${formatPropProblem(p)}`)].join('\n'));
    this.name = 'PropsError';
    this.problems = problems;
  }
}

/** Throws a PropsError naming `owner` (a construct's class and path) when there is any problem. */
export function throwIfProblems(owner: string, problems: readonly PropProblem[]): void {
  if (problems.length > 0) {
    throw new PropsError(owner, problems);
  }
}
