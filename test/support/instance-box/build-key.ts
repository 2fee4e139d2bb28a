/**
 * The build key a boot in the box will compute, asked of the boot program's
 * own functions (runtime/boot/build/key.ts) with the facts it reads on the
 * machine, read here from the box's file system: its os-release, its
 * Debian/Amazon Linux release (the toolchain line) and its machine. A box
 * test fills the S3 cache with a build under this key before the boot.
 */
import * as path from 'node:path';

import { DnfAptPackages } from '../../../runtime/boot/adapters/packages';
import { LinuxPlatform } from '../../../runtime/boot/adapters/linux-platform';
import { buildKeyMaterial, buildTargets } from '../../../runtime/boot/build/key';
import type { BuildMachine } from '../../../runtime/boot/build/defines';

/**
 * The key material (manifest.txt's text) for a box whose root file system is
 * `root` and whose `uname -m` is `machine`, booting with `env` (the stack's
 * boot environment: the llama.cpp commit and ref, GLLM_QUANTIZE_TO) as the
 * generation whose -march is `armArch` (on aarch64: the GLLM_ARM_ARCH entry
 * the cpu phase picks by the CPU part, one of several in a mixed-generation stack).
 */
export async function boxBuildKeyMaterial(root: string, machine: string, env: Readonly<Record<string, string>>, armArch?: string): Promise<string> {
  const inBox = (file: string) => path.join(root, file);
  const os = await new LinuxPlatform({ osReleasePath: inBox('/etc/os-release') }).osRelease();
  const packages = new DnfAptPackages({
    exec: { run: () => { throw new Error('the box\'s toolchain line is read from its files: nothing runs'); } },
    limitMs: () => 0,
    logDir: inBox('/var/log/graviton-llm'),
    root: false,
    osReleasePath: inBox('/etc/os-release'),
    debianVersionPath: inBox('/etc/debian_version'),
    releaseverPath: inBox('/etc/dnf/vars/releasever'),
  }, undefined);
  if (machine === 'aarch64' && armArch === undefined) throw new Error('an aarch64 box\'s build key needs the generation\'s -march (armArch)');
  const buildMachine: BuildMachine = machine === 'aarch64' ? { machine: 'aarch64', armArch: armArch! } : { machine: 'x86_64' };
  return buildKeyMaterial({
    llamaCppCommit: env.GLLM_LLAMA_CPP_COMMIT,
    llamaCppRef: env.GLLM_LLAMA_CPP_REF,
    machine: buildMachine,
    os: `${os.id}-${os.versionId}`,
    toolchain: await packages.toolchainIdentity(),
    targets: buildTargets(env.GLLM_QUANTIZE_TO),
  });
}
