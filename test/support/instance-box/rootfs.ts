/**
 * The instance box's root file system: Debian 12 (systemd 252, as on Amazon
 * Linux 2023) made by debootstrap once and cached under .cache/box, keyed by
 * what makes it. A box never writes to it: each one mounts an overlay on top.
 *
 * What an AL2023 instance has before the user data runs goes in here (the AWS
 * CLI, curl, the compiler and build tools the boot would otherwise install),
 * so the boot's install step finds everything, as on an instance whose image
 * already carries it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { BUILD_TOOLS } from '../../../runtime/boot/phases/deps';
import { COMPILER_COMMANDS } from '../../../runtime/boot/build/toolchain';
import { cacheRoot, withLock } from '../llama-cpp-source';

const run = promisify(execFile);

export type BoxArch = 'amd64' | 'arm64';

const SUITE = 'bookworm';
/**
 * python3-cffi-backend: debootstrap's resolver does not follow the virtual package python3-cryptography needs.
 * nodejs (18.19): the Node the TypeScript boot program runs on here, the oldest it targets (an AL2023
 * instance's trampoline installs nodejs24 with dnf, which this Debian box cannot run).
 */
const PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'curl', 'ca-certificates', 'awscli', 'python3-cffi-backend',
  'cmake', 'g++', 'make', 'git', 'ccache', 'nodejs',
];
/**
 * A box's removePaths for an image without a compiler or build tools, as a
 * fresh Amazon Linux 2023 instance is: every command the boot's deps phase
 * looks for (runtime/boot/phases/deps.ts's BUILD_TOOLS and the compilers of
 * build/toolchain.ts), ccache, and GCC's own programs (cc1, cc1plus,
 * collect2 under /usr/lib/gcc) so that no versioned driver left behind
 * (gcc-12) compiles either. The box reaches no package repository, so a boot
 * that tried to compile there fails.
 */
export const WITHOUT_BUILD_TOOLS: readonly string[] = [
  ...[...BUILD_TOOLS, ...COMPILER_COMMANDS, 'ccache'].map((t) => `/usr/bin/${t}`),
  '/usr/lib/gcc',
];

/** Bump when the way the tree is made changes. */
const ROOTFS_VERSION = 2;

/** The mirror apt on this machine already uses, so the box needs no other host. */
async function debianMirror(): Promise<string> {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = await fs.readFile(file, 'utf8');
    const m = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text) ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\s+bookworm/m.exec(text);
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

export function rootfsKey(arch: BoxArch): string {
  return createHash('sha256').update(JSON.stringify({ arch, SUITE, PACKAGES, ROOTFS_VERSION })).digest('hex').slice(0, 12);
}

/** Returns the cached root file system for `arch`, making it first if needed (a minute or two; longer for arm64). */
export async function ensureRootfs(arch: BoxArch): Promise<string> {
  const dir = path.join(cacheRoot(), 'box', `rootfs-${SUITE}-${arch}-${rootfsKey(arch)}`);
  return withLock(`${dir}.lock`, async () => {
    if (existsSync(path.join(dir, '.complete'))) return dir;
    const scratch = `${dir}.partial`;
    await fs.rm(scratch, { recursive: true, force: true });
    const started = Date.now();
    try {
      await run('debootstrap', [
        '--variant=minbase', `--arch=${arch}`, `--include=${PACKAGES.join(',')}`, SUITE, scratch, await debianMirror(),
      ], { maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      const log = path.join(scratch, 'debootstrap', 'debootstrap.log');
      const tail = existsSync(log) ? (await fs.readFile(log, 'utf8')).split('\n').slice(-30).join('\n') : '';
      throw new Error(`debootstrap of the ${arch} box root file system failed: ${(err as Error).message}\n${tail}`);
    }
    await fs.writeFile(path.join(scratch, '.complete'), new Date().toISOString());
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rename(scratch, dir);
    console.log(`instance box: ${arch} root file system made in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return dir;
  });
}
