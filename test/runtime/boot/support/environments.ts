/**
 * Boot environments for the boot's tests: one as the stack renders it for an
 * instance, one as `npm run local` does, and edits of their text.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { renderBootEnvironment } from '../../../../lib/boot/boot-environment';
import { type BootEnvironment, type BootMode } from '../../../../runtime/boot/contract';

export const AWS_ENV: BootEnvironment = {
  GLLM_MODE: 'aws', GLLM_INSTANCE_TYPE: 'c7g.xlarge', GLLM_GENERATION: '3', GLLM_CPU_PART: '0xd40',
  GLLM_ARM_ARCH: 'armv8.4-a+sve+i8mm+bf16+dotprod+fp16', GLLM_LLAMA_CPP_REPOSITORY: 'https://github.com/ggml-org/llama.cpp',
  GLLM_LLAMA_CPP_REF: 'v0.5.0', GLLM_LLAMA_CPP_COMMIT: 'de3ff815ea7d559ee917f063901b8986f038abc6', GLLM_CACHE_URI: 's3://bucket/cache',
  GLLM_MODEL_SOURCE: 'https://example.com/model.gguf', GLLM_MODEL_SHA256: 'a'.repeat(64), GLLM_MODEL_SIZE_BYTES: '1234',
  GLLM_MODEL_FILE: 'model.gguf', GLLM_QUANTIZE_TO: '', GLLM_HF_TOKEN_PARAMETER: '/graviton-llm/hf-token',
  GLLM_API_KEY_PARAMETER: '/graviton-llm/api-key', GLLM_PORT: '8080', GLLM_PARALLEL_SLOTS: '4', GLLM_CONTEXT_PER_SLOT: '4096',
  GLLM_PROMPT_CACHE_MIB: '1024', GLLM_HEALTH_TIMEOUT_SECONDS: '600', GLLM_BOOT_DEADLINE_SECONDS: '600', GLLM_STACK_NAME: 'Stack',
  GLLM_SIGNAL_RESOURCE: 'Group1234', GLLM_REGION: 'eu-west-1', GLLM_BOOT_LOG_GROUP: 'Stack-boot', GLLM_SERVER_LOG_GROUP: 'Stack-server',
  GLLM_AGENT_CONFIG_PARAMETER: '/graviton-llm/agent', GLLM_PROMETHEUS_CONFIG_PARAMETER: '/graviton-llm/prometheus',
  GLLM_AUTOSCALING_GROUP: 'Stack-fleet', GLLM_LIFECYCLE_HOOK: 'graviton-llm-launch', GLLM_METRIC_NAMESPACE: 'GravitonLlm',
  GLLM_BOOT_FAILURE_METRIC: 'BootFailure',
};

export const LOCAL_ENV: BootEnvironment = {
  ...AWS_ENV,
  GLLM_MODE: 'local', GLLM_INSTANCE_TYPE: 'local', GLLM_CACHE_URI: '/tmp/gllm/cache', GLLM_MODEL_SOURCE: 'http://127.0.0.1:9/model.gguf',
  GLLM_HF_TOKEN_PARAMETER: '', GLLM_API_KEY_PARAMETER: 'local', GLLM_PORT: '18080', GLLM_STACK_NAME: 'local', GLLM_SIGNAL_RESOURCE: 'local',
  GLLM_REGION: 'local', GLLM_AGENT_CONFIG_PARAMETER: '', GLLM_PROMETHEUS_CONFIG_PARAMETER: '', GLLM_LIFECYCLE_HOOK: '', GLLM_BOOT_FAILURE_METRIC: '',
  GLLM_WORK_DIR: '/tmp/gllm/work', GLLM_API_KEY_FILE: '/tmp/gllm/key',
};

/** The file lib/ writes for `env`. */
export function envText(env: BootEnvironment): string {
  return renderBootEnvironment(env);
}

/** `text` with `key`'s line set to `value` (any characters: the readers are what is tested). */
export function setKey(text: string, key: string, value: string): string {
  const re = new RegExp(`^${key}=.*$`, 'm');
  if (!re.test(text)) throw new Error(`no ${key} line`);
  return text.replace(re, () => `${key}=${value}`);
}

/** `text` without `key`'s line. */
export function dropKey(text: string, key: string): string {
  const re = new RegExp(`^${key}=.*\\n`, 'm');
  if (!re.test(text)) throw new Error(`no ${key} line`);
  return text.replace(re, '');
}

let envFiles = 0;
/** Writes the mode's environment with `overrides` to a new file in `dir`; its path. */
export function envFileIn(dir: string, mode: BootMode, overrides: Record<string, string> = {}): string {
  const file = path.join(dir, `boot-${envFiles++}.env`);
  writeFileSync(file, envText({ ...(mode === 'aws' ? AWS_ENV : LOCAL_ENV), ...overrides }));
  return file;
}
