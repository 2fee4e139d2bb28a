/**
 * Bundles the TypeScript boot program (runtime/boot/main.ts) into one
 * JavaScript file that Node 18 runs with nothing installed beside it: an
 * instance has Node and the AWS CLI, no node_modules. The boot imports only
 * Node's built-ins (test/app/layering.test.ts), so the bundle holds only the
 * kit's own code.
 *
 *   npx tsx lib/boot/boot-bundle.ts [OUTFILE]    # default .cache/boot/boot.js
 */
import * as path from 'node:path';

import { buildSync } from 'esbuild';

/** The boot program's entry. */
export const BOOT_ENTRY = path.join(__dirname, '..', '..', 'runtime', 'boot', `main${path.extname(__filename)}`);

/** The oldest Node the boot runs on: Debian 12's nodejs 18.19. */
export const BOOT_NODE_TARGET = 'node18';

/** Writes the bundle to `outfile`, with esbuild's Node 18 CommonJS output. */
export function bundleBootProgram(outfile: string): void {
  buildSync({
    entryPoints: [BOOT_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    target: BOOT_NODE_TARGET,
    format: 'cjs',
    // A stack trace from an instance's log names the source's lines.
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}

if (require.main === module) {
  const outfile = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', '.cache', 'boot', 'boot.js'));
  bundleBootProgram(outfile);
  process.stdout.write(`${outfile}\n`);
}
