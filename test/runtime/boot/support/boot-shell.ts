/**
 * boot.sh's functions, for the side-by-side tables that hold the TypeScript
 * boot to the bash one while both exist. Sourced, the script defines its
 * functions and stops (it boots only when executed), as lib/boot's bridges
 * and test/boot/boot-script.test.ts use it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const BOOT_SH = path.resolve(__dirname, '..', '..', '..', '..', 'lib', 'boot', 'boot.sh');

export interface BootShellRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `body` in a bash that has sourced boot.sh, with fd 3 (the boot's log)
 * on stdout as in the boot; `args` are $1... of `body`.
 */
export function inBootShell(body: string, args: readonly string[] = []): BootShellRun {
  const r = spawnSync('bash', ['-c', `source "$0"; exec 3>&1; ${body}`, BOOT_SH, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The NUL-separated words `body` printed after the marker line `--\0` (what boot.sh logged comes before it). */
export function wordsAfterMarker(out: string): string[] {
  const at = out.indexOf('--\0');
  if (at < 0) throw new Error(`no marker in: ${out}`);
  return out.slice(at + 3).split('\0').slice(0, -1);
}
