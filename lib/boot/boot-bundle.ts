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

import { usageErrors } from '../command-line/flags';

/** The boot program's entry. */
export const BOOT_ENTRY = path.join(__dirname, '..', '..', 'runtime', 'boot', `main${path.extname(__filename)}`);

const REPOSITORY_ROOT = path.join(__dirname, '..', '..');

/** The oldest Node the boot runs on: Debian 12's nodejs 18.19. */
export const BOOT_NODE_TARGET = 'node18';

/**
 * Writes the bundle to `outfile`, with esbuild's Node 18 CommonJS output. The
 * same sources give the same bytes at the same path (the fleet's asset hash
 * depends on it); the inline source map names the sources relative to `outfile`.
 */
export function bundleBootProgram(outfile: string): void {
  buildSync({
    entryPoints: [BOOT_ENTRY],
    outfile,
    // The comments naming each source file are relative to this, not to wherever the bundler was started.
    absWorkingDir: REPOSITORY_ROOT,
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
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    process.stdout.write('usage: npm run bundle:boot -- [OUTFILE]   (default .cache/boot/boot.js)\n');
    process.exit(0);
  }
  // Checked before anything is written: a flag is not a file name, and there is one OUTFILE at most.
  const errors = [
    ...args.filter((a) => a.startsWith('-')).map((a) => `${a}: got an option; expected only OUTFILE, a file path`),
    ...(args.length > 1 ? [`OUTFILE: got ${args.length} paths; expected one`] : []),
  ];
  if (errors.length > 0) {
    process.stderr.write(`${usageErrors('bundle-boot', errors)}\n`);
    process.exit(2);
  }
  const outfile = path.resolve(args[0] ?? path.join(__dirname, '..', '..', '.cache', 'boot', 'boot.js'));
  bundleBootProgram(outfile);
  process.stdout.write(`${outfile}\n`);
}
