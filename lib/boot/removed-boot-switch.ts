/**
 * The context key `@graviton-llm/boot:program` picked the bash boot script or
 * the TypeScript boot program while both existed (issue 22). The bash boot is
 * gone; instances always run the TypeScript program. A stack that still names
 * `bash` is refused, so that nobody who pinned the bash boot gets the other
 * program without knowing; `typescript` (what every stack now runs) and other
 * values are passed by like any CDK-style key.
 */
import type { Construct } from 'constructs';

import { formatPropProblem, type PropProblem } from '../base/problems';

/** The removed context key. */
export const REMOVED_BOOT_PROGRAM_KEY = '@graviton-llm/boot:program';

/** What is wrong with `given` as the removed key's value: only `bash`, the program that is gone. */
export function removedBootProgramProblems(given: unknown): PropProblem[] {
  if (given !== 'bash') return [];
  return [{
    field: REMOVED_BOOT_PROGRAM_KEY,
    given,
    expected: 'the bash boot script was removed: instances run the TypeScript boot program (runtime/boot/); remove the key from cdk.json and -c options',
  }];
}

/**
 * Throws when `scope`'s context still asks for the bash boot. The kit's apps
 * refuse it before building (a ConfigError, lib/app/build-app.ts); a
 * construct built in another app throws here, with the same words.
 */
export function refuseRemovedBootProgram(scope: Construct): void {
  const problems = removedBootProgramProblems(scope.node.tryGetContext(REMOVED_BOOT_PROGRAM_KEY));
  if (problems.length > 0) throw new Error(`Invalid context: ${problems.map(formatPropProblem).join('; ')}`);
}
