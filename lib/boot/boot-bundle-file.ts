/**
 * The boot program's bundle file that the fleet ships as its asset and
 * `npm run local` runs (runtime/boot/main.ts, bundled by lib/boot/boot-bundle.ts).
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import * as path from 'node:path';

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
