/**
 * The boot's contract in-process: what parseBootEnvironment makes of a file,
 * typed, and how it names every problem. Which files it accepts is held to
 * boot.sh by contract.bash.test.ts.
 */
import { BOOT_ENV_KEYS, type BootConfig, LOCAL_BOOT_ENV_KEYS, parseBootEnvironment, SAFE_VALUE } from '../../../runtime/boot/contract';
import { AWS_ENV, LOCAL_ENV, dropKey, envText, setKey } from './support/environments';

function config(text: string): BootConfig {
  const parsed = parseBootEnvironment(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function problems(text: string) {
  const parsed = parseBootEnvironment(text);
  if (parsed.ok) throw new Error('accepted');
  return parsed.problems;
}

test('an instance\'s file becomes its typed configuration: numbers as numbers, the hooks as a list, no local keys', () => {
  const c = config(envText({ ...AWS_ENV, GLLM_LIFECYCLE_HOOK: 'own,older', GLLM_PORT: '8080' }));
  expect(c).toMatchObject({
    mode: 'aws', generation: 3, port: 8080, parallelSlots: 4, contextPerSlot: 4096, promptCacheMiB: 1024, modelSizeBytes: 1234,
    healthTimeoutSeconds: 600, bootDeadlineSeconds: 600, lifecycleHooks: ['own', 'older'], cacheUri: 's3://bucket/cache', quantizeTo: '',
  });
  expect(c).not.toHaveProperty('workDir');
  expect(config(envText({ ...AWS_ENV, GLLM_LIFECYCLE_HOOK: '' })).lifecycleHooks).toEqual([]);
});

test('a local file carries its work directory and key file, and the optional local keys only where given', () => {
  const c = config(envText(LOCAL_ENV));
  expect(c).toMatchObject({ mode: 'local', workDir: '/tmp/gllm/work', apiKeyFile: '/tmp/gllm/key', promptCacheMiB: 1024 });
  expect(c).not.toHaveProperty('cpuinfoPath');
  expect(config(envText({ ...LOCAL_ENV, GLLM_CPUINFO_PATH: '/x/cpuinfo', GLLM_LLAMA_CPP_SOURCE_DIR: '/src' })))
    .toMatchObject({ cpuinfoPath: '/x/cpuinfo', llamaCppSourceDir: '/src' });
});

test('every problem is listed, each naming the key, the value given and what it must be, in boot.sh\'s order', () => {
  const text = setKey(setKey(setKey(envText(AWS_ENV), 'GLLM_PORT', '80'), 'GLLM_MODEL_SHA256', 'ABC'), 'GLLM_REGION', 'EU');
  expect(problems(text)).toEqual([
    { key: 'GLLM_REGION', given: 'EU', expected: 'a region' },
    { key: 'GLLM_PORT', given: '80', expected: '1024 or more' },
    { key: 'GLLM_MODEL_SHA256', given: 'ABC', expected: '64 lowercase hex digits' },
  ]);
});

test('a problem of a line names the line; a missing key has no value given; a key is named once', () => {
  const text = `not a line\n${dropKey(dropKey(envText(AWS_ENV), 'GLLM_REGION'), 'GLLM_STACK_NAME')}GLLM_PORT=x\nGLLM_PORT=y\nGLLM_STACK_NAME=a b\n`;
  const found = problems(text);
  const lines = text.split('\n');
  expect(found[0]).toEqual({ line: 1, given: 'not a line', expected: expect.stringContaining('KEY=value') });
  expect(found).toContainEqual({ key: 'GLLM_PORT', line: lines.indexOf('GLLM_PORT=x') + 1, given: 'x', expected: expect.stringContaining('set once (first on line') });
  expect(found.filter((p) => p.key === 'GLLM_PORT')).toHaveLength(1);
  expect(found).toContainEqual({ key: 'GLLM_STACK_NAME', line: lines.indexOf('GLLM_STACK_NAME=a b') + 1, given: 'a b', expected: expect.stringContaining('only the characters') });
  // Given, though refused: not missing as well.
  expect(found.filter((p) => p.key === 'GLLM_STACK_NAME')).toHaveLength(1);
  expect(found).toContainEqual({ key: 'GLLM_REGION', expected: `set: ${BOOT_ENV_KEYS.GLLM_REGION}` });
});

test('a mode neither aws nor local is named, and the rules of both modes still run', () => {
  expect(problems(setKey(setKey(envText(AWS_ENV), 'GLLM_MODE', 'cloud'), 'GLLM_GENERATION', '0'))).toEqual([
    { key: 'GLLM_MODE', given: 'cloud', expected: 'aws or local' },
    { key: 'GLLM_GENERATION', given: '0', expected: 'a positive integer (no leading zero, at most 15 digits)' },
  ]);
});

test('local mode asks for its work directory and key file; aws mode refuses every local-only key', () => {
  const local = envText(LOCAL_ENV);
  expect(problems(dropKey(dropKey(local, 'GLLM_WORK_DIR'), 'GLLM_API_KEY_FILE')).map((p) => p.key)).toEqual(['GLLM_WORK_DIR', 'GLLM_API_KEY_FILE']);
  const aws = `${envText(AWS_ENV)}${Object.keys(LOCAL_BOOT_ENV_KEYS).map((k) => `${k}=/x`).join('\n')}\n`;
  expect(problems(aws).map((p) => [p.key, p.expected])).toEqual(Object.keys(LOCAL_BOOT_ENV_KEYS).map((k) => [k, 'absent: accepted in local mode only']));
});

test('counts are whole positive numbers as lib/ writes them, exact in JavaScript', () => {
  for (const value of ['0', '000', '010', '1.5', '1e3', '0x10', '+1', '1000000000000000', String(2 ** 53)]) {
    expect(problems(setKey(envText(AWS_ENV), 'GLLM_MODEL_SIZE_BYTES', value)))
      .toEqual([{ key: 'GLLM_MODEL_SIZE_BYTES', given: value, expected: 'a positive integer (no leading zero, at most 15 digits)' }]);
  }
  expect(config(setKey(envText(AWS_ENV), 'GLLM_MODEL_SIZE_BYTES', '999999999999999')).modelSizeBytes).toBe(999999999999999);
});

test('the value pattern takes the characters a shell word and an EnvironmentFile leave alone, and nothing else', () => {
  expect(SAFE_VALUE.test('s3://b/p_1.2,x:y+z@a%b=c?d&e~f-g')).toBe(true);
  for (const c of [' ', '"', '\'', '$', '`', '\\', ';', '|', '*', '#', '\t', '\r', '\n', '\u00e9']) expect(SAFE_VALUE.test(`a${c}b`)).toBe(false);
});
