/**
 * What a llama.cpp build is keyed on: everything that changes the compiled
 * output, so a cached build is only ever reused where it would have been
 * built identically. The key is the SHA-256 of this material; the material
 * itself is the build's manifest, checked again when a cached build is used.
 *
 * The material is, byte for byte, that of the bash boot of earlier versions:
 * the builds it cached keep their keys.
 *
 * Pure: the OS and the toolchain, which the boot reads from the machine, come
 * in as inputs.
 */
import { createHash } from 'node:crypto';

import { type BuildMachine, kitCmakeDefines } from './defines';

/**
 * Bump when anything that changes the cached tarball but is not in the CMake
 * defines changes (its layout, the staging steps).
 */
export const BUILD_OPTIONS_VERSION = 1;

/** The programs a boot builds: the server, and the quantizer where the model is quantized on the instance. */
export function buildTargets(quantizeTo: string): string[] {
  return quantizeTo === '' ? ['llama-server'] : ['llama-server', 'llama-quantize'];
}

export interface BuildKeyInput {
  /** GLLM_LLAMA_CPP_COMMIT; empty for a local source tree built as it is. */
  readonly llamaCppCommit: string;
  /** GLLM_LLAMA_CPP_REF: named in the material only for a source tree (a commit has one content, whatever its name). */
  readonly llamaCppRef: string;
  readonly machine: BuildMachine;
  /** `ID-VERSION_ID` of /etc/os-release (`unknown` for a field it lacks). */
  readonly os: string;
  /** The compiler the boot installs, as build/toolchain.ts names it. */
  readonly toolchain: string;
  /** See buildTargets. */
  readonly targets: readonly string[];
}

/** The build's key material: one `name=value` line each, newline-terminated, as it is hashed and kept in manifest.txt. */
export function buildKeyMaterial(input: BuildKeyInput): string {
  const arch = input.machine.machine === 'aarch64' ? `aarch64:${input.machine.armArch}` : `${input.machine.machine}:ggml-portable`;
  return [
    `llama.cpp-commit=${input.llamaCppCommit || `none (source tree ${input.llamaCppRef})`}`,
    `arch=${arch}`,
    `os=${input.os}`,
    `toolchain=${input.toolchain}`,
    `targets=${input.targets.join(' ')}`,
    `build-options-version=${BUILD_OPTIONS_VERSION}`,
    `cmake=${kitCmakeDefines(input.machine).join(' ')}`,
  ].map((line) => `${line}\n`).join('');
}

/** The build's key: the first 32 hex digits of the material's SHA-256, which names the build in the cache and on disk. */
export function buildKey(material: string): string {
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}
