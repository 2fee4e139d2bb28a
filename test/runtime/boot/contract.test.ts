/**
 * The boot's contract in-process: what parseBootEnvironment makes of a file,
 * typed, and how it names every problem; and a table of files, valid and
 * invalid of every kind, with what the parser must make of each (accepted,
 * or the key or line it names first): the verdicts the bash boot of earlier
 * versions gave the same files while both existed, recorded when the two
 * agreed on every row.
 */
import { BOOT_ENV_KEYS, type BootConfig, LOCAL_BOOT_ENV_KEYS, parseBootEnvironment, SAFE_VALUE } from '../../../runtime/boot/contract';
import { AWS_ENV, LOCAL_ENV, dropKey, envText, setKey } from './support/environments';

const AWS = envText(AWS_ENV);
const LOCAL = envText(LOCAL_ENV);

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
    mode: 'aws', generations: [{ generation: 3, cpuPart: '0xd40', armArch: AWS_ENV.GLLM_ARM_ARCH }], port: 8080, parallelSlots: 4, contextPerSlot: 4096, promptCacheMiB: 1024, modelSizeBytes: 1234,
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

test('every problem is listed, each naming the key, the value given and what it must be, in a fixed order', () => {
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

describe('a group of several generations: GLLM_GENERATION, GLLM_CPU_PART and GLLM_ARM_ARCH are parallel comma lists', () => {
  const G3_ARCH = AWS_ENV.GLLM_ARM_ARCH;
  const G4_ARCH = 'armv9-a+sve2+i8mm+bf16';
  const twoGenerations = (over: Record<string, string> = {}) => envText({
    ...AWS_ENV, GLLM_INSTANCE_TYPE: 'c7g.2xlarge,c8g.2xlarge', GLLM_GENERATION: '3,4', GLLM_CPU_PART: '0xd40,0xd4f', GLLM_ARM_ARCH: `${G3_ARCH},${G4_ARCH}`, ...over,
  });

  test('they become one list of generations, in the order given, the first type\'s first', () => {
    expect(config(twoGenerations()).generations).toEqual([
      { generation: 3, cpuPart: '0xd40', armArch: G3_ARCH },
      { generation: 4, cpuPart: '0xd4f', armArch: G4_ARCH },
    ]);
    expect(config(twoGenerations({ GLLM_GENERATION: '4,3', GLLM_CPU_PART: '0xd4f,0xd40', GLLM_ARM_ARCH: `${G4_ARCH},${G3_ARCH}` })).generations.map((g) => g.generation)).toEqual([4, 3]);
  });

  test.each([
    ['a list shorter than GLLM_GENERATION', { GLLM_CPU_PART: '0xd40' },
      { key: 'GLLM_CPU_PART', given: '0xd40', expected: '2 comma-separated entries, one per generation of GLLM_GENERATION (3,4), in its order; 1 given' }],
    ['a list longer than GLLM_GENERATION', { GLLM_ARM_ARCH: `${G3_ARCH},${G4_ARCH},${G4_ARCH}` },
      { key: 'GLLM_ARM_ARCH', given: `${G3_ARCH},${G4_ARCH},${G4_ARCH}`, expected: '2 comma-separated entries, one per generation of GLLM_GENERATION (3,4), in its order; 3 given' }],
    ['a generation twice', { GLLM_GENERATION: '3,3' },
      { key: 'GLLM_GENERATION', given: '3,3', expected: 'each generation once: 3 is listed twice' }],
    ['a CPU part twice', { GLLM_CPU_PART: '0xd40,0xd40' },
      { key: 'GLLM_CPU_PART', given: '0xd40,0xd40', expected: 'each CPU part once (the boot picks its generation by the part its cores report): 0xd40 is listed twice' }],
    ['a bad generation entry', { GLLM_GENERATION: '3,04' },
      { key: 'GLLM_GENERATION', given: '3,04', expected: 'comma-separated, one entry per generation, each a positive integer (no leading zero, at most 15 digits): entry 2 ("04") is not' }],
    ['an empty entry', { GLLM_CPU_PART: '0xd40,' },
      { key: 'GLLM_CPU_PART', given: '0xd40,', expected: 'comma-separated, one entry per generation, each a CPU part like 0xd40: entry 2 ("") is not' }],
    ['a bad arch entry', { GLLM_ARM_ARCH: `native,${G4_ARCH}` },
      { key: 'GLLM_ARM_ARCH', given: `native,${G4_ARCH}`, expected: 'comma-separated, one entry per generation, each an -march value like armv8.4-a+sve: entry 1 ("native") is not' }],
  ])('%s is refused, naming the key and the value', (_name, over, expected) => {
    expect(problems(twoGenerations(over))).toEqual([expected]);
  });

  test('one generation is named as the single value always was', () => {
    expect(problems(setKey(AWS, 'GLLM_CPU_PART', 'd40'))).toEqual([{ key: 'GLLM_CPU_PART', given: 'd40', expected: 'a CPU part like 0xd40' }]);
  });
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

/** What the parser made of a file: accepted, or the key (else the line) it named first. */
type Verdict = 'accepted' | { readonly key?: string; readonly line?: number };

function verdict(text: string): Verdict {
  const parsed = parseBootEnvironment(text);
  if (parsed.ok) return 'accepted';
  const first = parsed.problems[0];
  return first.key === undefined ? { line: first.line } : { key: first.key };
}

const UINT_KEYS = ['GLLM_PORT', 'GLLM_PARALLEL_SLOTS', 'GLLM_CONTEXT_PER_SLOT', 'GLLM_HEALTH_TIMEOUT_SECONDS', 'GLLM_BOOT_DEADLINE_SECONDS', 'GLLM_MODEL_SIZE_BYTES', 'GLLM_GENERATION'];

/** [what the row is, the file]: valid files, then each kind of invalid one. */
const ROWS: readonly (readonly [string, string])[] = [
  ['aws, as the stack renders it', AWS],
  ['local, as npm run local renders it', LOCAL],
  ['local with every local-only key', envText({ ...LOCAL_ENV, GLLM_LLAMA_CPP_SOURCE_DIR: '/src/llama.cpp', GLLM_CPUINFO_PATH: 'relative/cpuinfo' })],
  ['comments and blank lines', `# boot.env\n\n${AWS}\n# end\n`],
  ['a last line without a newline', AWS.trimEnd()],
  ['keys in another order', AWS.trimEnd().split('\n').reverse().join('\n')],
  ['aws, every optional value empty', envText({ ...AWS_ENV, GLLM_QUANTIZE_TO: '', GLLM_HF_TOKEN_PARAMETER: '', GLLM_AGENT_CONFIG_PARAMETER: '', GLLM_PROMETHEUS_CONFIG_PARAMETER: '', GLLM_LIFECYCLE_HOOK: '', GLLM_BOOT_FAILURE_METRIC: '' })],
  ['aws, several hooks, a quantization and an s3 model', envText({ ...AWS_ENV, GLLM_LIFECYCLE_HOOK: 'hook-1,old/hook_2,x', GLLM_QUANTIZE_TO: 'Q4_K_M', GLLM_MODEL_SOURCE: 's3://models/m.gguf' })],
  ['aws, a bucket without a prefix', setKey(AWS, 'GLLM_CACHE_URI', 's3://bucket')],
  ['local, no commit (a source tree) and plain http', envText({ ...LOCAL_ENV, GLLM_LLAMA_CPP_COMMIT: '', GLLM_MODEL_SOURCE: 'http://127.0.0.1:8000/m.gguf' })],
  ['local, a port below 1024 (only aws needs 1024 or more)', setKey(LOCAL, 'GLLM_PORT', '80')],
  ['the prompt cache off', setKey(AWS, 'GLLM_PROMPT_CACHE_MIB', '0')],
  ['the largest prompt cache', setKey(AWS, 'GLLM_PROMPT_CACHE_MIB', '9999999')],
  ['port 65535, a 15-digit size', setKey(setKey(AWS, 'GLLM_PORT', '65535'), 'GLLM_MODEL_SIZE_BYTES', '999999999999999')],
  ['a value with every allowed punctuation mark', setKey(AWS, 'GLLM_BOOT_LOG_GROUP', 'a_b.c,d:e/f+g@h%i=j?k&l~m-n')],

  ['a line that is not KEY=value', `${AWS}export FOO\n`],
  ['a key with a leading space', ` ${AWS}`],
  ['a lower-case key', `${AWS}gllm_port=1\n`],
  ['a line with no key', `=x\n${AWS}`],
  ['a line with no equals sign, first', `GLLM_MODE\n${AWS}`],
  ['an unknown key', `${AWS}GLLM_SURPRISE=1\n`],
  ['a key set twice', `${AWS}GLLM_PORT=8080\n`],
  ['a key set twice to the same value', `${AWS}GLLM_REGION=eu-west-1\n`],
  ['command substitution', setKey(AWS, 'GLLM_MODEL_FILE', 'x$(touch PWNED)')],
  ['a space', setKey(AWS, 'GLLM_STACK_NAME', 'two words')],
  ['a double quote', setKey(AWS, 'GLLM_REGION', 'a"b')],
  ['a single quote', setKey(AWS, 'GLLM_REGION', 'a\'b')],
  ['a backtick', setKey(AWS, 'GLLM_REGION', 'a`id`')],
  ['a tab', setKey(AWS, 'GLLM_REGION', 'eu\twest')],
  ['a non-ASCII letter', setKey(AWS, 'GLLM_BOOT_LOG_GROUP', 'caf\u00e9')],
  ['Windows line endings', AWS.replace(/\n/g, '\r\n')],
  ['GLLM_MODE missing', dropKey(AWS, 'GLLM_MODE')],
  ['the last key missing', dropKey(AWS, 'GLLM_BOOT_FAILURE_METRIC')],
  ['two keys missing', dropKey(dropKey(AWS, 'GLLM_MODEL_SHA256'), 'GLLM_REGION')],
  ['an empty file', ''],
  ['a mode that is neither', setKey(AWS, 'GLLM_MODE', 'cloud')],
  ['an upper-case mode', setKey(AWS, 'GLLM_MODE', 'AWS')],

  ...Object.keys(LOCAL_BOOT_ENV_KEYS).map((key): [string, string] => [`aws with ${key}`, `${AWS}${key}=/tmp/x\n`]),
  ['aws with a local-only key and a bad cache: the key first', `${setKey(AWS, 'GLLM_CACHE_URI', '/var/cache')}GLLM_WORK_DIR=/w\n`],
  ['aws, a cache that is not s3', setKey(AWS, 'GLLM_CACHE_URI', '/var/cache')],
  ['aws, a bucket in upper case', setKey(AWS, 'GLLM_CACHE_URI', 's3://Bucket/cache')],
  ['aws, a cache prefix with a comma', setKey(AWS, 'GLLM_CACHE_URI', 's3://bucket/a,b')],
  ['aws, an http model', setKey(AWS, 'GLLM_MODEL_SOURCE', 'http://example.com/m.gguf')],
  ['aws, a repository over ssh', setKey(AWS, 'GLLM_LLAMA_CPP_REPOSITORY', 'git@github.com:ggml-org/llama.cpp')],
  ['aws, no commit', setKey(AWS, 'GLLM_LLAMA_CPP_COMMIT', '')],
  ['aws, a short commit', setKey(AWS, 'GLLM_LLAMA_CPP_COMMIT', 'de3ff81')],
  ['aws, an upper-case commit', setKey(AWS, 'GLLM_LLAMA_CPP_COMMIT', 'DE3FF815EA7D559EE917F063901B8986F038ABC6')],
  ['aws, no key parameter', setKey(AWS, 'GLLM_API_KEY_PARAMETER', '')],
  ['aws, a stack name starting with a digit', setKey(AWS, 'GLLM_STACK_NAME', '1Stack')],
  ['aws, a logical id with a dash', setKey(AWS, 'GLLM_SIGNAL_RESOURCE', 'Group-1')],
  ['aws, an upper-case region', setKey(AWS, 'GLLM_REGION', 'EU-WEST-1')],
  ['aws, port 80', setKey(AWS, 'GLLM_PORT', '80')],
  ['aws, port 1023', setKey(AWS, 'GLLM_PORT', '1023')],
  ['aws, a port that is a word', setKey(AWS, 'GLLM_PORT', 'eighty')],
  ['aws, an empty port', setKey(AWS, 'GLLM_PORT', '')],
  ['aws, a bad cache and port 80: the cache first', setKey(setKey(AWS, 'GLLM_CACHE_URI', 'cache'), 'GLLM_PORT', '80')],
  ['aws, a bad sha and a bad region: the region first (a mode rule)', setKey(setKey(AWS, 'GLLM_MODEL_SHA256', 'x'), 'GLLM_REGION', 'R')],

  ['local without a work directory', dropKey(LOCAL, 'GLLM_WORK_DIR')],
  ['local, a relative work directory', setKey(LOCAL, 'GLLM_WORK_DIR', 'work')],
  ['local, an s3 cache', setKey(LOCAL, 'GLLM_CACHE_URI', 's3://bucket/cache')],
  ['local, an s3 model', setKey(LOCAL, 'GLLM_MODEL_SOURCE', 's3://models/m.gguf')],
  ['local, a short commit', setKey(LOCAL, 'GLLM_LLAMA_CPP_COMMIT', 'abc')],
  ['local without a key file', dropKey(LOCAL, 'GLLM_API_KEY_FILE')],
  ['local without a key file and an s3 cache: the cache first', setKey(dropKey(LOCAL, 'GLLM_API_KEY_FILE'), 'GLLM_CACHE_URI', 's3://b')],
  ['local without a work directory and a bad sha: the work directory first', setKey(dropKey(LOCAL, 'GLLM_WORK_DIR'), 'GLLM_MODEL_SHA256', 'x')],

  ...UINT_KEYS.flatMap((key) => ['0', '-1', '1.5', 'x', ''].map((value): [string, string] => [`${key}=${value}`, setKey(LOCAL, key, value)])),
  ['port 65536', setKey(LOCAL, 'GLLM_PORT', '65536')],
  // A reader may take 010 as octal (8), where llama-server reads 10.
  ['a count with a leading zero', setKey(LOCAL, 'GLLM_PARALLEL_SLOTS', '010')],
  ['a timeout with leading zeros', setKey(AWS, 'GLLM_HEALTH_TIMEOUT_SECONDS', '0060')],
  ['a port with a leading zero', setKey(AWS, 'GLLM_PORT', '08080')],
  // Bash wraps past 64 bits; JavaScript is exact to 2^53 - 1 (16 digits).
  ['a 16-digit size', setKey(AWS, 'GLLM_MODEL_SIZE_BYTES', '1000000000000000')],
  ['a 20-digit size', setKey(AWS, 'GLLM_MODEL_SIZE_BYTES', '99999999999999999999')],
  ...['-1', 'lots', '1.5', '', '0245', '12345678'].map((value): [string, string] => [`GLLM_PROMPT_CACHE_MIB=${value}`, setKey(AWS, 'GLLM_PROMPT_CACHE_MIB', value)]),
  ['an upper-case sha', setKey(AWS, 'GLLM_MODEL_SHA256', 'A'.repeat(64))],
  ['a short sha', setKey(AWS, 'GLLM_MODEL_SHA256', 'a'.repeat(63))],
  ['a CPU part without 0x', setKey(AWS, 'GLLM_CPU_PART', 'd40')],
  ['an arm arch that is no -march', setKey(AWS, 'GLLM_ARM_ARCH', 'native')],
  ['a ref that is an option', setKey(AWS, 'GLLM_LLAMA_CPP_REF', '--upload-pack=x')],
  ['an empty ref', setKey(AWS, 'GLLM_LLAMA_CPP_REF', '')],
  ['a model file with a path', setKey(AWS, 'GLLM_MODEL_FILE', '../etc/passwd.gguf')],
  ['a model file that is not gguf', setKey(AWS, 'GLLM_MODEL_FILE', 'model.bin')],
  ['a lower-case quantization', setKey(AWS, 'GLLM_QUANTIZE_TO', 'q4_0')],
  ['a token parameter with a comma', setKey(AWS, 'GLLM_HF_TOKEN_PARAMETER', 'a,b')],
  ['an agent parameter with a colon', setKey(AWS, 'GLLM_AGENT_CONFIG_PARAMETER', 'a:b')],
  ['a Prometheus parameter with an equals sign', setKey(AWS, 'GLLM_PROMETHEUS_CONFIG_PARAMETER', 'a=b')],
  ['an empty hook between commas', setKey(AWS, 'GLLM_LIFECYCLE_HOOK', 'a,,b')],
  ['a hook list with a trailing comma', setKey(AWS, 'GLLM_LIFECYCLE_HOOK', 'a,')],
];

/** Each row's verdict, by its name: the bash boot's, which the parser gave too. */
const RECORDED: Readonly<Record<string, Verdict>> = {
  'aws, as the stack renders it': 'accepted',
  'local, as npm run local renders it': 'accepted',
  'local with every local-only key': 'accepted',
  'comments and blank lines': 'accepted',
  'a last line without a newline': 'accepted',
  'keys in another order': 'accepted',
  'aws, every optional value empty': 'accepted',
  'aws, several hooks, a quantization and an s3 model': 'accepted',
  'aws, a bucket without a prefix': 'accepted',
  'local, no commit (a source tree) and plain http': 'accepted',
  'local, a port below 1024 (only aws needs 1024 or more)': 'accepted',
  'the prompt cache off': 'accepted',
  'the largest prompt cache': 'accepted',
  'port 65535, a 15-digit size': 'accepted',
  'a value with every allowed punctuation mark': 'accepted',
  'a line that is not KEY=value': { line: 34 },
  'a key with a leading space': { line: 1 },
  'a lower-case key': { line: 34 },
  'a line with no key': { line: 1 },
  'a line with no equals sign, first': { line: 1 },
  'an unknown key': { key: 'GLLM_SURPRISE' },
  'a key set twice': { key: 'GLLM_PORT' },
  'a key set twice to the same value': { key: 'GLLM_REGION' },
  'command substitution': { key: 'GLLM_MODEL_FILE' },
  'a space': { key: 'GLLM_STACK_NAME' },
  'a double quote': { key: 'GLLM_REGION' },
  'a single quote': { key: 'GLLM_REGION' },
  'a backtick': { key: 'GLLM_REGION' },
  'a tab': { key: 'GLLM_REGION' },
  'a non-ASCII letter': { key: 'GLLM_BOOT_LOG_GROUP' },
  'Windows line endings': { key: 'GLLM_MODE' },
  'GLLM_MODE missing': { key: 'GLLM_MODE' },
  'the last key missing': { key: 'GLLM_BOOT_FAILURE_METRIC' },
  'two keys missing': { key: 'GLLM_MODEL_SHA256' },
  'an empty file': { key: 'GLLM_MODE' },
  'a mode that is neither': { key: 'GLLM_MODE' },
  'an upper-case mode': { key: 'GLLM_MODE' },
  'aws with GLLM_WORK_DIR': { key: 'GLLM_WORK_DIR' },
  'aws with GLLM_LLAMA_CPP_SOURCE_DIR': { key: 'GLLM_LLAMA_CPP_SOURCE_DIR' },
  'aws with GLLM_API_KEY_FILE': { key: 'GLLM_API_KEY_FILE' },
  'aws with GLLM_CPUINFO_PATH': { key: 'GLLM_CPUINFO_PATH' },
  'aws with a local-only key and a bad cache: the key first': { key: 'GLLM_WORK_DIR' },
  'aws, a cache that is not s3': { key: 'GLLM_CACHE_URI' },
  'aws, a bucket in upper case': { key: 'GLLM_CACHE_URI' },
  'aws, a cache prefix with a comma': { key: 'GLLM_CACHE_URI' },
  'aws, an http model': { key: 'GLLM_MODEL_SOURCE' },
  'aws, a repository over ssh': { key: 'GLLM_LLAMA_CPP_REPOSITORY' },
  'aws, no commit': { key: 'GLLM_LLAMA_CPP_COMMIT' },
  'aws, a short commit': { key: 'GLLM_LLAMA_CPP_COMMIT' },
  'aws, an upper-case commit': { key: 'GLLM_LLAMA_CPP_COMMIT' },
  'aws, no key parameter': { key: 'GLLM_API_KEY_PARAMETER' },
  'aws, a stack name starting with a digit': { key: 'GLLM_STACK_NAME' },
  'aws, a logical id with a dash': { key: 'GLLM_SIGNAL_RESOURCE' },
  'aws, an upper-case region': { key: 'GLLM_REGION' },
  'aws, port 80': { key: 'GLLM_PORT' },
  'aws, port 1023': { key: 'GLLM_PORT' },
  'aws, a port that is a word': { key: 'GLLM_PORT' },
  'aws, an empty port': { key: 'GLLM_PORT' },
  'aws, a bad cache and port 80: the cache first': { key: 'GLLM_CACHE_URI' },
  'aws, a bad sha and a bad region: the region first (a mode rule)': { key: 'GLLM_REGION' },
  'local without a work directory': { key: 'GLLM_WORK_DIR' },
  'local, a relative work directory': { key: 'GLLM_WORK_DIR' },
  'local, an s3 cache': { key: 'GLLM_CACHE_URI' },
  'local, an s3 model': { key: 'GLLM_MODEL_SOURCE' },
  'local, a short commit': { key: 'GLLM_LLAMA_CPP_COMMIT' },
  'local without a key file': { key: 'GLLM_API_KEY_FILE' },
  'local without a key file and an s3 cache: the cache first': { key: 'GLLM_CACHE_URI' },
  'local without a work directory and a bad sha: the work directory first': { key: 'GLLM_WORK_DIR' },
  'GLLM_PORT=0': { key: 'GLLM_PORT' },
  'GLLM_PORT=-1': { key: 'GLLM_PORT' },
  'GLLM_PORT=1.5': { key: 'GLLM_PORT' },
  'GLLM_PORT=x': { key: 'GLLM_PORT' },
  'GLLM_PORT=': { key: 'GLLM_PORT' },
  'GLLM_PARALLEL_SLOTS=0': { key: 'GLLM_PARALLEL_SLOTS' },
  'GLLM_PARALLEL_SLOTS=-1': { key: 'GLLM_PARALLEL_SLOTS' },
  'GLLM_PARALLEL_SLOTS=1.5': { key: 'GLLM_PARALLEL_SLOTS' },
  'GLLM_PARALLEL_SLOTS=x': { key: 'GLLM_PARALLEL_SLOTS' },
  'GLLM_PARALLEL_SLOTS=': { key: 'GLLM_PARALLEL_SLOTS' },
  'GLLM_CONTEXT_PER_SLOT=0': { key: 'GLLM_CONTEXT_PER_SLOT' },
  'GLLM_CONTEXT_PER_SLOT=-1': { key: 'GLLM_CONTEXT_PER_SLOT' },
  'GLLM_CONTEXT_PER_SLOT=1.5': { key: 'GLLM_CONTEXT_PER_SLOT' },
  'GLLM_CONTEXT_PER_SLOT=x': { key: 'GLLM_CONTEXT_PER_SLOT' },
  'GLLM_CONTEXT_PER_SLOT=': { key: 'GLLM_CONTEXT_PER_SLOT' },
  'GLLM_HEALTH_TIMEOUT_SECONDS=0': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'GLLM_HEALTH_TIMEOUT_SECONDS=-1': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'GLLM_HEALTH_TIMEOUT_SECONDS=1.5': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'GLLM_HEALTH_TIMEOUT_SECONDS=x': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'GLLM_HEALTH_TIMEOUT_SECONDS=': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'GLLM_BOOT_DEADLINE_SECONDS=0': { key: 'GLLM_BOOT_DEADLINE_SECONDS' },
  'GLLM_BOOT_DEADLINE_SECONDS=-1': { key: 'GLLM_BOOT_DEADLINE_SECONDS' },
  'GLLM_BOOT_DEADLINE_SECONDS=1.5': { key: 'GLLM_BOOT_DEADLINE_SECONDS' },
  'GLLM_BOOT_DEADLINE_SECONDS=x': { key: 'GLLM_BOOT_DEADLINE_SECONDS' },
  'GLLM_BOOT_DEADLINE_SECONDS=': { key: 'GLLM_BOOT_DEADLINE_SECONDS' },
  'GLLM_MODEL_SIZE_BYTES=0': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_MODEL_SIZE_BYTES=-1': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_MODEL_SIZE_BYTES=1.5': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_MODEL_SIZE_BYTES=x': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_MODEL_SIZE_BYTES=': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_GENERATION=0': { key: 'GLLM_GENERATION' },
  'GLLM_GENERATION=-1': { key: 'GLLM_GENERATION' },
  'GLLM_GENERATION=1.5': { key: 'GLLM_GENERATION' },
  'GLLM_GENERATION=x': { key: 'GLLM_GENERATION' },
  'GLLM_GENERATION=': { key: 'GLLM_GENERATION' },
  'port 65536': { key: 'GLLM_PORT' },
  'a count with a leading zero': { key: 'GLLM_PARALLEL_SLOTS' },
  'a timeout with leading zeros': { key: 'GLLM_HEALTH_TIMEOUT_SECONDS' },
  'a port with a leading zero': { key: 'GLLM_PORT' },
  'a 16-digit size': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'a 20-digit size': { key: 'GLLM_MODEL_SIZE_BYTES' },
  'GLLM_PROMPT_CACHE_MIB=-1': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'GLLM_PROMPT_CACHE_MIB=lots': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'GLLM_PROMPT_CACHE_MIB=1.5': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'GLLM_PROMPT_CACHE_MIB=': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'GLLM_PROMPT_CACHE_MIB=0245': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'GLLM_PROMPT_CACHE_MIB=12345678': { key: 'GLLM_PROMPT_CACHE_MIB' },
  'an upper-case sha': { key: 'GLLM_MODEL_SHA256' },
  'a short sha': { key: 'GLLM_MODEL_SHA256' },
  'a CPU part without 0x': { key: 'GLLM_CPU_PART' },
  'an arm arch that is no -march': { key: 'GLLM_ARM_ARCH' },
  'a ref that is an option': { key: 'GLLM_LLAMA_CPP_REF' },
  'an empty ref': { key: 'GLLM_LLAMA_CPP_REF' },
  'a model file with a path': { key: 'GLLM_MODEL_FILE' },
  'a model file that is not gguf': { key: 'GLLM_MODEL_FILE' },
  'a lower-case quantization': { key: 'GLLM_QUANTIZE_TO' },
  'a token parameter with a comma': { key: 'GLLM_HF_TOKEN_PARAMETER' },
  'an agent parameter with a colon': { key: 'GLLM_AGENT_CONFIG_PARAMETER' },
  'a Prometheus parameter with an equals sign': { key: 'GLLM_PROMETHEUS_CONFIG_PARAMETER' },
  'an empty hook between commas': { key: 'GLLM_LIFECYCLE_HOOK' },
  'a hook list with a trailing comma': { key: 'GLLM_LIFECYCLE_HOOK' },
};

describe('the parser reads every file of the table as the bash boot did', () => {
  test('the table has valid and invalid rows of every kind, each with its verdict', () => {
    expect(ROWS.map(([name]) => name).filter((name) => !(name in RECORDED))).toEqual([]);
    const verdicts = Object.values(RECORDED);
    expect(verdicts.filter((v) => v === 'accepted').length).toBeGreaterThanOrEqual(15);
    // Every key the contract has a rule for is named by some row.
    const named = new Set(verdicts.flatMap((v) => (v === 'accepted' || v.key === undefined ? [] : [v.key])));
    expect([...Object.keys(BOOT_ENV_KEYS), 'GLLM_WORK_DIR', 'GLLM_API_KEY_FILE'].filter((key) => ![
      // Any value of inert characters is a valid one of these.
      'GLLM_BOOT_LOG_GROUP', 'GLLM_SERVER_LOG_GROUP', 'GLLM_AUTOSCALING_GROUP', 'GLLM_METRIC_NAMESPACE', 'GLLM_BOOT_FAILURE_METRIC',
        // Its rule (a list of types) is newer than the bash boot, so no row of the table: its own tests below.
      'GLLM_INSTANCE_TYPE',
  ].includes(key) && !named.has(key))).toEqual([]);
  });

  test.each(ROWS.map(([name, text]) => [name, text] as const))('%s', (name, text) => {
    expect(verdict(text)).toEqual(RECORDED[name]);
  });
});

describe('GLLM_INSTANCE_TYPE: the types the group may launch, comma-separated (issue 24)', () => {
  test('one type, as a group of one type renders it (and local mode\'s `local`), is a list of one', () => {
    expect(config(AWS).instanceTypes).toEqual(['c7g.xlarge']);
    expect(config(LOCAL).instanceTypes).toEqual(['local']);
  });

  test('several types of a mixed instances group, the first choice first', () => {
    expect(config(setKey(AWS, 'GLLM_INSTANCE_TYPE', 'c7g.2xlarge,m7g.2xlarge,r7g.xlarge')).instanceTypes).toEqual(['c7g.2xlarge', 'm7g.2xlarge', 'r7g.xlarge']);
  });

  test.each(['', 'c7g.xlarge,', ',c7g.xlarge', 'c7g.xlarge,,m7g.xlarge', 'c7g.xlarge:m7g.xlarge'])('%p is refused, naming the key', (value) => {
    expect(problems(setKey(AWS, 'GLLM_INSTANCE_TYPE', value)))
      .toEqual([{ key: 'GLLM_INSTANCE_TYPE', given: value, expected: 'one or more instance type names, comma-separated, none empty' }]);
  });
});

describe('the builder\'s keys: role, pins file, signal file', () => {
  const withKeys = (base: typeof AWS_ENV, keys: Record<string, string>) => `${envText(base)}${Object.entries(keys).map(([k, v]) => `${k}=${v}\n`).join('')}`;

  test('absent, an instance is a fleet instance without pins, as before the builder', () => {
    const c = config(AWS);
    expect(c).toMatchObject({ mode: 'aws', role: 'fleet' });
    expect(c).not.toHaveProperty('pinsFile');
    expect(c).not.toHaveProperty('builderSignalFile');
  });

  test('a fleet instance with a pins file, and a builder with its signal file, are typed as such', () => {
    expect(config(withKeys(AWS_ENV, { GLLM_PINS_FILE: '/etc/graviton-llm/pins.json' }))).toMatchObject({ role: 'fleet', pinsFile: '/etc/graviton-llm/pins.json' });
    expect(config(withKeys(AWS_ENV, { GLLM_ROLE: 'fleet', GLLM_PINS_FILE: '/p.json' }))).toMatchObject({ role: 'fleet', pinsFile: '/p.json' });
    expect(config(withKeys(AWS_ENV, { GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: '/etc/graviton-llm/signal-url' })))
      .toMatchObject({ role: 'builder', builderSignalFile: '/etc/graviton-llm/signal-url' });
  });

  test.each([
    ['a role neither fleet nor builder', { GLLM_ROLE: 'server' }, { key: 'GLLM_ROLE', given: 'server', expected: 'fleet or builder' }],
    ['a relative pins file', { GLLM_PINS_FILE: 'pins.json' }, { key: 'GLLM_PINS_FILE', given: 'pins.json', expected: 'an absolute path' }],
    ['a builder without a signal file', { GLLM_ROLE: 'builder' }, { key: 'GLLM_BUILDER_SIGNAL_FILE', expected: expect.stringContaining('set with GLLM_ROLE=builder') }],
    ['a builder with a pins file', { GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: '/s', GLLM_PINS_FILE: '/p' },
      { key: 'GLLM_PINS_FILE', given: '/p', expected: expect.stringContaining('absent with GLLM_ROLE=builder') }],
    ['a fleet instance with a signal file', { GLLM_BUILDER_SIGNAL_FILE: '/s' },
      { key: 'GLLM_BUILDER_SIGNAL_FILE', given: '/s', expected: expect.stringContaining('absent with GLLM_ROLE=fleet') }],
  ])('%s is refused, naming the key', (_name, keys, expected) => {
    expect(problems(withKeys(AWS_ENV, keys as Record<string, string>))).toEqual([expected]);
  });

  const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/Endpo-Targe-1A2B3C4D5E6F/0123456789abcdef';

  test('a fleet instance with its target group is typed as such; absent, there is none (no drain watcher)', () => {
    expect(config(withKeys(AWS_ENV, { GLLM_TARGET_GROUP_ARN: TG }))).toMatchObject({ role: 'fleet', targetGroupArn: TG });
    expect(config(withKeys(AWS_ENV, { GLLM_TARGET_GROUP_ARN: TG.replace(':aws:', ':aws-cn:') }))).toMatchObject({ targetGroupArn: TG.replace(':aws:', ':aws-cn:') });
    expect(config(AWS)).not.toHaveProperty('targetGroupArn');
  });

  test.each([
    ['a load balancer ARN', TG.replace('targetgroup/', 'loadbalancer/app/')],
    ['another service\'s ARN', TG.replace('elasticloadbalancing', 's3')],
    ['a name', 'team-llm-targets'],
  ])('a target group that is %s is refused', (_name, value) => {
    expect(problems(withKeys(AWS_ENV, { GLLM_TARGET_GROUP_ARN: value }))).toEqual([{ key: 'GLLM_TARGET_GROUP_ARN', given: value, expected: expect.stringContaining('a target group ARN') }]);
  });

  test('a builder with a target group is refused: it serves in none, so has nothing to drain', () => {
    expect(problems(withKeys(AWS_ENV, { GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: '/s', GLLM_TARGET_GROUP_ARN: TG })))
      .toEqual([{ key: 'GLLM_TARGET_GROUP_ARN', given: TG, expected: expect.stringContaining('absent with GLLM_ROLE=builder') }]);
  });

  test('GLLM_DRAIN_METRIC: a fleet instance\'s drain metric is typed; absent or empty, there is none', () => {
    expect(config(withKeys(AWS_ENV, { GLLM_TARGET_GROUP_ARN: TG, GLLM_DRAIN_METRIC: 'Drains' }))).toMatchObject({ role: 'fleet', drainMetric: 'Drains' });
    expect(config(withKeys(AWS_ENV, { GLLM_DRAIN_METRIC: '' }))).not.toHaveProperty('drainMetric');
    expect(config(AWS)).not.toHaveProperty('drainMetric');
  });

  test.each([['a name with a slash', 'Gravit/Drains'], ['a name with an equals sign', 'Drains=1']])('GLLM_DRAIN_METRIC: %s is refused', (_name, value) => {
    expect(problems(withKeys(AWS_ENV, { GLLM_DRAIN_METRIC: value }))).toEqual([{ key: 'GLLM_DRAIN_METRIC', given: value, expected: expect.stringContaining('empty or a metric name') }]);
  });

  test('a builder with a drain metric is refused: it runs no drain watcher', () => {
    expect(problems(withKeys(AWS_ENV, { GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: '/s', GLLM_DRAIN_METRIC: 'Drains' })))
      .toEqual([{ key: 'GLLM_DRAIN_METRIC', given: 'Drains', expected: expect.stringContaining('absent with GLLM_ROLE=builder') }]);
  });

  test.each(['GLLM_ROLE', 'GLLM_PINS_FILE', 'GLLM_BUILDER_SIGNAL_FILE', 'GLLM_TARGET_GROUP_ARN', 'GLLM_DRAIN_METRIC'])('local mode refuses %s: a local boot builds where it runs', (key) => {
    const value = key === 'GLLM_ROLE' ? 'builder' : '/x';
    expect(problems(withKeys(LOCAL_ENV, { [key]: value }))).toEqual([{ key, given: value, expected: 'absent: accepted in aws mode only' }]);
  });
});
