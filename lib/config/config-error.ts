import { PropProblem, formatPropProblem, formatText } from '../base/problems';

/**
 * One thing wrong with the configuration: the field, the value given (as the
 * user wrote it), what is allowed, and where the value came from.
 */
export interface ConfigProblem extends PropProblem {
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
  return `${formatPropProblem(p)}${p.source ? ` (from ${formatText(p.source)})` : ''}`;
}
