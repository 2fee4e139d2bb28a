/**
 * The user data lines an instance runs, defined once for the fleet's launch
 * template and the builder's instance: they only write files (the boot
 * environment, the builder's signal URL, the fleet's pins) and the
 * trampoline, which runs the boot program; everything else is in the
 * program. Each file is written from a quoted heredoc or from base64, so no
 * value is read by the shell.
 */
import * as path from 'node:path';
import { type BootEnvironment } from '../../runtime/boot/contract';
import { INSTANCE_FILES, INSTANCE_LAYOUT } from '../../runtime/boot/layout';
import { renderBootEnvironment } from './boot-environment';
import { renderTrampoline } from './trampoline';

/** The trampoline, kept as cloud-init's per-boot script. */
export const PER_BOOT_SCRIPT_PATH = '/var/lib/cloud/scripts/per-boot/graviton-llm.sh';

/**
 * The first lines: strict mode, the directories, and boot.env from `env`
 * (CloudFormation tokens allowed: they resolve to plain names at deploy time).
 */
export function bootEnvironmentCommands(env: BootEnvironment, isToken: (value: string) => boolean): string[] {
  return [
    'set -euo pipefail',
    `install -d -m 0755 ${path.posix.dirname(INSTANCE_FILES.bootEnv)} ${path.posix.dirname(INSTANCE_FILES.bootProgram)}`,
    `cat > ${INSTANCE_FILES.bootEnv} <<'GLLM_ENV'`,
    renderBootEnvironment(env, isToken).trimEnd(),
    'GLLM_ENV',
  ];
}

/**
 * The builder's wait condition handle URL (a presigned URL, which holds `&`,
 * so a file of its own rather than a boot.env value). Created 0600 first:
 * whoever reads it can signal the wait condition, that is write the fleet's pins.
 */
export function builderSignalCommands(handleUrl: string): string[] {
  return [
    `install -m 0600 /dev/null ${INSTANCE_FILES.builderSignal}`,
    `cat > ${INSTANCE_FILES.builderSignal} <<'GLLM_SIGNAL'`,
    handleUrl,
    'GLLM_SIGNAL',
  ];
}

/**
 * The fleet's pins: the builder's wait condition Data, given base64-encoded
 * (`Fn::Base64`), so that none of its quotes and backslashes meets a shell or
 * a heredoc; 0644 root, read by the boot as data.
 */
export function pinsFileCommands(dataBase64: string): string[] {
  return [
    `install -m 0644 /dev/null ${INSTANCE_FILES.pins}`,
    `echo '${dataBase64}' | base64 -d > ${INSTANCE_FILES.pins}`,
  ];
}

/** Where the boot program's bundle is, and its SHA-256 (hex), which the trampoline checks before it runs it. */
export interface BootBundleLocation {
  /** The bundle's S3 URI (the stack's asset; CloudFormation tokens allowed). */
  readonly url: string;
  readonly sha256: string;
}

/** The last lines: the trampoline written as the per-boot script, and run. */
export function trampolineCommands(bundle: BootBundleLocation): string[] {
  const trampoline = renderTrampoline({
    BOOT_ENV: INSTANCE_FILES.bootEnv,
    BUNDLE: INSTANCE_FILES.bootProgram,
    RESULT: INSTANCE_FILES.bootResult,
    LOG_DIR: INSTANCE_LAYOUT.logDir,
    BUNDLE_URL: bundle.url,
    BUNDLE_SHA256: bundle.sha256,
  });
  return [
    `install -d -m 0755 ${path.posix.dirname(PER_BOOT_SCRIPT_PATH)}`,
    `cat > ${PER_BOOT_SCRIPT_PATH} <<'GLLM_TRAMPOLINE'`,
    trampoline.trimEnd(),
    'GLLM_TRAMPOLINE',
    `chmod 0755 ${PER_BOOT_SCRIPT_PATH}`,
    `exec ${PER_BOOT_SCRIPT_PATH}`,
  ];
}
