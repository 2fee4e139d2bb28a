/**
 * The boot script's input: a file of `KEY=value` lines that the user data
 * writes to /etc/graviton-llm/boot.env and the script reads as data (it never
 * sources or evals it). Rendering it here, from the validated configuration,
 * keeps every value's origin in typed code and out of bash string splicing.
 *
 * Values may contain only characters that need no quoting anywhere (no
 * spaces, quotes, `$`, backticks or newlines); a value outside that set is a
 * bug in the caller and throws.
 */

/** Every key the boot script reads, with why it needs it. */
export const BOOT_ENV_KEYS = {
  GLLM_MODE: '`aws` on an instance; `local` on a developer machine (no IMDS, SSM, S3 or cfn-signal)',
  GLLM_INSTANCE_TYPE: 'configured instance type, checked against the running CPU',
  GLLM_GENERATION: 'Graviton generation number of that type',
  GLLM_CPU_PART: 'expected /proc/cpuinfo CPU part; a build is never run on another core',
  GLLM_ARM_ARCH: 'GGML_CPU_ARM_ARCH for the llama.cpp build',
  GLLM_LLAMA_CPP_REPOSITORY: 'git repository of llama.cpp',
  GLLM_LLAMA_CPP_REF: 'llama.cpp release tag or commit to build (its name, for the logs)',
  GLLM_LLAMA_CPP_COMMIT: 'the commit GLLM_LLAMA_CPP_REF names: fetched, checked and the build keyed on it (local mode: may be empty for a source tree)',
  GLLM_CACHE_URI: 's3://bucket/prefix (aws) or a directory (local) holding cached builds and models',
  GLLM_MODEL_SOURCE: 'https:// or s3:// location of the GGUF file',
  GLLM_MODEL_SHA256: 'expected SHA-256 of that file',
  GLLM_MODEL_SIZE_BYTES: 'expected size of that file',
  GLLM_MODEL_FILE: 'file name the model is cached and served under',
  GLLM_QUANTIZE_TO: 'quantize an F16 source to this type on the instance, or empty',
  GLLM_HF_TOKEN_PARAMETER: 'SSM parameter holding a Hugging Face token, or empty',
  GLLM_API_KEY_PARAMETER: 'SSM SecureString parameter holding the API key',
  GLLM_PORT: 'port llama-server listens on',
  GLLM_PARALLEL_SLOTS: 'llama-server --parallel',
  GLLM_CONTEXT_PER_SLOT: 'context tokens of each slot (llama-server --ctx-size is this times the slots)',
  GLLM_PROMPT_CACHE_MIB: 'llama-server --cache-ram: MiB of RAM for the prompt cache, sized by the memory fit check from what it leaves; 0 turns the cache off',
  GLLM_HEALTH_TIMEOUT_SECONDS: 'how long to wait for /health before giving up (never past the boot deadline)',
  GLLM_BOOT_DEADLINE_SECONDS: 'the whole boot must end within this many seconds of the machine\'s start (aws: the init process\'s start; local: the boot\'s own); every step, wait and retry stops at it',
  GLLM_STACK_NAME: 'CloudFormation stack to signal',
  GLLM_SIGNAL_RESOURCE: 'logical id of the Auto Scaling group to signal',
  GLLM_REGION: 'AWS region of the stack',
  GLLM_BOOT_LOG_GROUP: 'CloudWatch log group for this script\'s log',
  GLLM_SERVER_LOG_GROUP: 'CloudWatch log group for llama-server\'s log',
  GLLM_AGENT_CONFIG_PARAMETER: 'SSM parameter holding the CloudWatch agent configuration (JSON), or empty to ship the two logs only',
  GLLM_PROMETHEUS_CONFIG_PARAMETER: 'SSM parameter holding the agent\'s Prometheus scrape configuration, or empty',
  GLLM_AUTOSCALING_GROUP: 'name of the Auto Scaling group the instance belongs to',
  GLLM_LIFECYCLE_HOOK: 'launch lifecycle hooks to complete once serving (or abandon on failure), comma-separated: the group\'s own first, then hooks of earlier kit versions that may still exist; or empty',
  GLLM_METRIC_NAMESPACE: 'CloudWatch namespace of the boot failure metric',
  GLLM_BOOT_FAILURE_METRIC: 'metric a failed boot publishes (value 1, fleet dimension), or empty to publish none',
} as const;

/**
 * Keys the boot script accepts in `local` mode only (and rejects in `aws`
 * mode): each redirects something an instance takes from itself, so that the
 * script runs unprivileged on a developer machine and in tests.
 */
export const LOCAL_BOOT_ENV_KEYS = {
  GLLM_WORK_DIR: 'directory holding the build, model, logs, key copy and pid file (instances use fixed system paths)',
  GLLM_LLAMA_CPP_SOURCE_DIR: 'llama.cpp source tree or git repository used instead of cloning GLLM_LLAMA_CPP_REPOSITORY',
  GLLM_API_KEY_FILE: 'file holding the API key (instances read GLLM_API_KEY_PARAMETER from SSM)',
  GLLM_CPUINFO_PATH: 'file read instead of /proc/cpuinfo by the CPU check (tests)',
} as const;

export type BootEnvKey = keyof typeof BOOT_ENV_KEYS;
export type LocalBootEnvKey = keyof typeof LOCAL_BOOT_ENV_KEYS;
export type BootEnvironment = Record<BootEnvKey, string> & Partial<Record<LocalBootEnvKey, string>>;

/** Characters that are inert in a shell word and in a systemd EnvironmentFile. */
export const SAFE_VALUE = /^[A-Za-z0-9_.,:/+@%=?&~\-]*$/;

/**
 * Renders the environment file. CloudFormation tokens (the bucket name, the
 * region) are allowed: they resolve to plain names at deploy time.
 */
export function renderBootEnvironment(env: BootEnvironment, isToken: (value: string) => boolean = () => false): string {
  const localKeys = (Object.keys(LOCAL_BOOT_ENV_KEYS) as LocalBootEnvKey[]).filter((key) => env[key] !== undefined);
  if (localKeys.length > 0 && env.GLLM_MODE !== 'local') {
    throw new Error(`boot environment: ${localKeys.join(', ')} only allowed with GLLM_MODE=local`);
  }
  const keys: (BootEnvKey | LocalBootEnvKey)[] = [...(Object.keys(BOOT_ENV_KEYS) as BootEnvKey[]), ...localKeys];
  const lines = keys.map((key) => {
    const value = env[key];
    if (value === undefined) {
      throw new Error(`boot environment: ${key} is missing`);
    }
    if (!isToken(value) && !SAFE_VALUE.test(value)) {
      throw new Error(`boot environment: ${key} has characters the boot script does not accept: ${JSON.stringify(value)}`);
    }
    return `${key}=${value}`;
  });
  return `${lines.join('\n')}\n`;
}
