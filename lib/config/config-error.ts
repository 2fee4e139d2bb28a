/** One thing wrong with the configuration: the field, the value given, and what is allowed. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `customModel.sha256`. */
  readonly field: string;
  /** What was given, as the user wrote it; undefined when the field was missing. */
  readonly given?: unknown;
  /** What is allowed, or what to do instead. */
  readonly expected: string;
  /**
   * Where the value was given, when the configuration is read from several
   * places: a file (`config/environments/prod.json`) or the command line (`-c amiId`).
   * @default - not named
   */
  readonly source?: string;
}

/**
 * A user error in the configuration. The CDK app prints its message and exits
 * non-zero without a stack trace: the message is the whole story.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(['Invalid graviton-llm configuration:', ...problems.map((p) => `  - ${formatProblem(p)}`)].join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }

  /** The fields named, for tests and tooling. */
  get fields(): string[] {
    return this.problems.map((p) => p.field);
  }
}

export function formatProblem(p: ConfigProblem): string {
  const given = p.given === undefined ? 'nothing was given' : `got ${formatValue(p.given)}`;
  return `${p.field}: ${given}; ${p.expected}${p.source ? ` (from ${p.source})` : ''}`;
}

function formatValue(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
