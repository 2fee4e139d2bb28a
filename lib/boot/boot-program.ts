/**
 * Which boot program instances run, chosen at synth, and the TypeScript
 * program's bundle file that the fleet ships as its asset.
 *
 * TRANSITIONAL: while both programs exist, the instance box runs every
 * scenario against either. Once the TypeScript program passes them all the
 * default becomes `typescript`, then bash and this switch go (issue 22).
 *
 *   npx cdk synth -c @graviton-llm/boot:program=typescript
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import * as path from 'node:path';

import type { Construct } from 'constructs';

import { formatPropProblem, type PropProblem } from '../base/problems';

/** The context key that picks the boot program (a CDK-style key: the configuration loader passes it by). */
export const BOOT_PROGRAM_KEY = '@graviton-llm/boot:program';
export const BOOT_PROGRAMS = ['bash', 'typescript'] as const;
export type BootProgram = (typeof BOOT_PROGRAMS)[number];
/** bash until the TypeScript program passes every box scenario. */
export const DEFAULT_BOOT_PROGRAM: BootProgram = 'bash';

/** What is wrong with `given` as the key's value: nothing when it is unset or one of the programs. */
export function bootProgramProblems(given: unknown): PropProblem[] {
  if (given === undefined || (BOOT_PROGRAMS as readonly unknown[]).includes(given)) return [];
  return [{
    field: BOOT_PROGRAM_KEY,
    given,
    expected: `expected one of ${BOOT_PROGRAMS.map((p) => `"${p}"`).join(', ')} (default "${DEFAULT_BOOT_PROGRAM}"): the program instances boot with`,
  }];
}

/**
 * The boot program `scope`'s context names, else the default. The kit's apps
 * refuse a bad value before building (a ConfigError, lib/app/build-app.ts);
 * a construct built in another app throws here, with the same words.
 */
export function bootProgramOf(scope: Construct): BootProgram {
  const given: unknown = scope.node.tryGetContext(BOOT_PROGRAM_KEY);
  const problems = bootProgramProblems(given);
  if (problems.length > 0) throw new Error(`Invalid context: ${problems.map(formatPropProblem).join('; ')}`);
  return (given ?? DEFAULT_BOOT_PROGRAM) as BootProgram;
}

/** The prebuilt bundle in the built package, beside this module (npm run build writes it). */
export const PACKAGED_BUNDLE_NAME = 'boot-program.bundle.js';

/**
 * The boot program's bundle for the stack's asset. In the built package
 * (this module is JavaScript) it is the prebuilt file beside it. From the
 * sources (tests, `cdk synth` with tsx) it is bundled now into a fixed path
 * under .cache/boot/, written under a temporary name and renamed, as test
 * files synthesize in parallel; the output depends only on the sources, so
 * every writer writes the same bytes and the asset hash is stable.
 */
export function bootBundleFile(): string {
  bundled ??= findOrBundle();
  return bundled;
}
let bundled: string | undefined;

function findOrBundle(): string {
  if (path.extname(__filename) !== '.ts') {
    const packaged = path.join(__dirname, PACKAGED_BUNDLE_NAME);
    if (!existsSync(packaged)) throw new Error(`the boot program's bundle ${packaged} is missing: the package was built without it (npm run build writes it)`);
    return packaged;
  }
  const out = path.join(__dirname, '..', '..', '.cache', 'boot', 'boot.js');
  mkdirSync(path.dirname(out), { recursive: true });
  const scratch = `${out}.${process.pid}.tmp`;
  // Loaded here only: the built package runs its prebuilt bundle and needs no bundler for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { bundleBootProgram } = require('./boot-bundle') as typeof import('./boot-bundle');
  bundleBootProgram(scratch);
  renameSync(scratch, out);
  return out;
}
