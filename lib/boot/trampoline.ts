import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The user-data trampoline for the TypeScript boot program (see the file's
 * own header): lib/boot/trampoline.sh in the sources, beside this module in
 * the built package (the build copies it there).
 */
export const TRAMPOLINE_TEMPLATE = path.join(__dirname, 'trampoline.sh');

/** The values the trampoline is rendered with; each replaces its `@NAME@` in the template. */
export interface TrampolineValues {
  /** The boot environment file the user data writes, which the program reads. */
  readonly BOOT_ENV: string;
  /** Where the bundle is kept on the instance. */
  readonly BUNDLE: string;
  /** The boot result the program writes on every boot it runs (runtime/boot/result.ts). */
  readonly RESULT: string;
  /** The boot's log directory (runtime/boot/layout.ts), where the trampoline logs a Node install. */
  readonly LOG_DIR: string;
  /** The bundle's S3 URI (the stack's asset; CloudFormation tokens allowed). */
  readonly BUNDLE_URL: string;
  /** The bundle's SHA-256, hex: the trampoline runs no other file. */
  readonly BUNDLE_SHA256: string;
}

/** The trampoline with its values filled in; a placeholder left unfilled, or a value that needs quoting, throws. */
export function renderTrampoline(values: TrampolineValues): string {
  const template = readFileSync(TRAMPOLINE_TEMPLATE, 'utf8');
  const text = template.replace(/@([A-Z0-9_]+)@/g, (whole, name: string) => {
    if (!(name in values)) throw new Error(`${TRAMPOLINE_TEMPLATE}: no value for ${whole}`);
    const value = values[name as keyof TrampolineValues];
    // Values sit unquoted or inside single quotes: nothing the shell would read as syntax.
    if (!/^[A-Za-z0-9_./:${}\[\]-]+$/.test(value)) throw new Error(`trampoline value ${name}=${JSON.stringify(value)} has characters that need quoting`);
    return value;
  });
  return text;
}
