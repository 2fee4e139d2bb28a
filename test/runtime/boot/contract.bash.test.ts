/**
 * Side by side: boot.sh's parse_env + validate_env and the contract's
 * parseBootEnvironment read the same environment files, and must accept
 * and refuse the same ones, naming the same key (or line) first. boot.sh
 * stops at its first problem; the parser lists every one, in boot.sh's order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BOOT_ENV_KEYS, LOCAL_BOOT_ENV_KEYS, parseBootEnvironment } from '../../../runtime/boot/contract';
import { AWS_ENV, LOCAL_ENV, dropKey, envText, setKey } from './support/environments';
import { inBootShell } from './support/boot-shell';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const AWS = envText(AWS_ENV);
const LOCAL = envText(LOCAL_ENV);

/** What a reader made of a file: accepted, or the key (else the line) it named first. */
type Verdict = 'accepted' | { readonly key?: string; readonly line?: number };

function bashVerdict(text: string, n: number): Verdict {
  const file = path.join(dir, `row-${n}.env`);
  writeFileSync(file, text);
  const r = inBootShell('parse_env "$1"; echo ACCEPTED', [file]);
  if (r.status === 0 && r.stdout.includes('ACCEPTED')) return 'accepted';
  const reason = /ERROR: (.*)$/m.exec(r.stdout)?.[1];
  if (r.status !== 1 || reason === undefined) throw new Error(`boot.sh neither accepted nor failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  const line = /line (\d+) is not KEY=value/.exec(reason);
  if (line) return { line: Number(line[1]) };
  const key = /unknown key ([A-Z][A-Z0-9_]*)/.exec(reason)?.[1] ?? /\b(GLLM_[A-Z0-9_]+)\b/.exec(reason)?.[1];
  if (key === undefined) throw new Error(`boot.sh named no key: ${reason}`);
  return { key };
}

function tsVerdict(text: string): Verdict {
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
  // boot.sh's arithmetic read 010 as octal while passing "010" on to llama-server.
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

describe('boot.sh and the contract read an environment file alike', () => {
  test('the table has valid and invalid rows of every kind', () => {
    const verdicts = ROWS.map(([, text]) => tsVerdict(text));
    expect(verdicts.filter((v) => v === 'accepted').length).toBeGreaterThanOrEqual(15);
    // Every key the contract has a rule for is named by some row.
    const named = new Set(verdicts.flatMap((v) => (v === 'accepted' || v.key === undefined ? [] : [v.key])));
    expect([...Object.keys(BOOT_ENV_KEYS), 'GLLM_WORK_DIR', 'GLLM_API_KEY_FILE'].filter((key) => ![
      // Any value of inert characters is a valid one of these.
      'GLLM_INSTANCE_TYPE', 'GLLM_BOOT_LOG_GROUP', 'GLLM_SERVER_LOG_GROUP', 'GLLM_AUTOSCALING_GROUP', 'GLLM_METRIC_NAMESPACE', 'GLLM_BOOT_FAILURE_METRIC',
    ].includes(key) && !named.has(key))).toEqual([]);
  });

  test.each(ROWS.map(([name, text], n) => [name, text, n] as const))('%s', (_name, text, n) => {
    expect(tsVerdict(text)).toEqual(bashVerdict(text, n));
  });
});
