/**
 * The boot program's input: a file of `KEY=value` lines that the user data
 * writes to /etc/graviton-llm/boot.env and the program reads as data (the
 * trampoline sources it, which the value pattern makes inert). Rendering it here, from the validated configuration,
 * keeps every value's origin in typed code and out of bash string splicing.
 * The keys and the value pattern are the boot's contract
 * (runtime/boot/contract.ts), which the boot reads the file with.
 *
 * Values may contain only characters that need no quoting anywhere (no
 * spaces, quotes, `$`, backticks or newlines); a value outside that set is a
 * bug in the caller and throws.
 */
import {
  BOOT_ENV_KEYS, type BootEnvironment, type BootEnvKey, LOCAL_BOOT_ENV_KEYS, type LocalBootEnvKey, ROLE_BOOT_ENV_KEYS, type RoleBootEnvKey, SAFE_VALUE,
} from '../../runtime/boot/contract';

/**
 * Renders the environment file. CloudFormation tokens (the bucket name, the
 * region) are allowed: they resolve to plain names at deploy time.
 */
export function renderBootEnvironment(env: BootEnvironment, isToken: (value: string) => boolean = () => false): string {
  const localKeys = (Object.keys(LOCAL_BOOT_ENV_KEYS) as LocalBootEnvKey[]).filter((key) => env[key] !== undefined);
  if (localKeys.length > 0 && env.GLLM_MODE !== 'local') {
    throw new Error(`boot environment: ${localKeys.join(', ')} only allowed with GLLM_MODE=local`);
  }
  // The builder's keys where the stack gives them (an instance's only): absent, the boot does what it did before them.
  const roleKeys = (Object.keys(ROLE_BOOT_ENV_KEYS) as RoleBootEnvKey[]).filter((key) => env[key] !== undefined);
  if (roleKeys.length > 0 && env.GLLM_MODE !== 'aws') {
    throw new Error(`boot environment: ${roleKeys.join(', ')} only allowed with GLLM_MODE=aws`);
  }
  const keys: (BootEnvKey | LocalBootEnvKey | RoleBootEnvKey)[] = [...(Object.keys(BOOT_ENV_KEYS) as BootEnvKey[]), ...roleKeys, ...localKeys];
  const lines = keys.map((key) => {
    const value = env[key];
    if (value === undefined) {
      throw new Error(`boot environment: ${key} is missing`);
    }
    if (!isToken(value) && !SAFE_VALUE.test(value)) {
      throw new Error(`boot environment: ${key} has characters the boot program does not accept: ${JSON.stringify(value)}`);
    }
    return `${key}=${value}`;
  });
  return `${lines.join('\n')}\n`;
}
