/**
 * Bad input to the four commands, as a new user would type it: each case runs
 * the real command as package.json's scripts do (`tsx tools/bench/cli.ts`,
 * ...), and must end with the expected exit code (2 for a usage error, 1 for
 * a run that failed), words naming the flag, and no stack trace. For
 * `npm run local`, nothing may be written: no work directory, key file or
 * boot.env. The cases run two at a time, so the file stays short.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { LOCAL_BOOT_LIMITS, LOCAL_BOOT_USAGE } from '../../lib/boot/local-boot-options';
import { BENCH_LIMITS, USAGE as BENCH_USAGE } from '../../tools/bench/options';
import { SMOKE_LIMITS, SMOKE_USAGE } from '../../tools/bench/smoke-options';
import { SIZING_LIMITS, USAGE as SIZING_USAGE } from '../../tools/sizing/options';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const SCRIPTS = {
  bench: 'tools/bench/cli.ts',
  smoke: 'tools/bench/smoke-cli.ts',
  sizing: 'tools/sizing/cli.ts',
  local: 'lib/boot/local-boot.ts',
} as const;
type Command = keyof typeof SCRIPTS;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gllm-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const aFile = path.join(tmp, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const llamaSrc = path.join(tmp, 'llama-src');
mkdirSync(llamaSrc);

/** A URL nothing listens on: set once the port is known (beforeAll). */
let dead = 'http://127.0.0.1:1/v1';

interface Case {
  readonly command: Command;
  /** Flags after the command's base flags; for local, a flag given here replaces the base one. */
  readonly args: readonly string[];
  /** Leave out these base flags (local). */
  readonly without?: readonly string[];
  /** Use exactly `args`, no base flags. */
  readonly bare?: boolean;
  readonly code: 1 | 2;
  /** Every one must match the output. */
  readonly says: readonly RegExp[];
}

const c = (command: Command, args: readonly string[], code: 1 | 2, ...says: RegExp[]): Case => ({ command, args, code, says });
const bare = (command: Command, args: readonly string[], code: 1 | 2, ...says: RegExp[]): Case => ({ command, args, code, says, bare: true });
const local = (args: readonly string[], ...says: RegExp[]): Case => ({ command: 'local', args, code: 2, says });

const SHA = 'a'.repeat(64);

const CASES: readonly Case[] = [
  // npm run bench
  c('bench', ['--timeout', '99999999'], 2, /--timeout: got "99999999"; expected a number from 1 to 86400 \(seconds\)/),
  c('bench', ['--timeout', '3000000'], 2, /--timeout: got "3000000"; expected a number from 1 to 86400/),
  c('bench', ['--timeout', '0'], 2, /--timeout: got "0"/),
  c('bench', ['--concurrency', '0'], 2, /--concurrency: got "0"; expected a comma-separated list, each a whole number from 1 to 1024/),
  c('bench', ['--concurrency', '100000'], 2, /--concurrency: got "100000"/),
  c('bench', ['--rate', '1,abc'], 2, /--rate: got "1,abc"/),
  c('bench', ['--requests', '1e9'], 2, /--requests: got "1e9"; expected a whole number from 1 to 100000/),
  c('bench', ['--duration', '1000000'], 2, /--duration: got "1000000"; expected a number from 1 to 86400/),
  c('bench', ['--warmup', '-1'], 2, /--warmup: got "-1"; expected a whole number from 0 to 1000/),
  c('bench', ['--input-tokens', '10000000'], 2, /--input-tokens: got "10000000"; expected a whole number from 1 to 131072/),
  c('bench', ['--output-tokens', '5-2'], 2, /--output-tokens: range 5-2 ends below its start/),
  c('bench', ['--seed', '1.5'], 2, /--seed: got "1.5"/),
  c('bench', ['--rate', '1', '--max-in-flight', '0'], 2, /--max-in-flight: got "0"; expected a whole number from 1 to 4096/),
  c('bench', ['--target-tpot-ms', '1e9'], 2, /--target-tpot-ms: got "1e9"/),
  c('bench', ['--cuncurrency', '4'], 2, /--cuncurrency: unknown flag; did you mean --concurrency\?/),
  bare('bench', ['--url'], 2, /--url: needs a value/),
  bare('bench', ['--url', 'ftp://example.com'], 2, /--url: got "ftp:\/\/example.com"; expected an http:\/\/ or https:\/\/ URL/),
  bare('bench', ['-url', 'http://example.com'], 2, /-url: flags start with two dashes; did you mean --url\?/),
  c('bench', ['--progress', 'fancy'], 2, /--progress: got "fancy"; expected auto, bar, lines or off/),
  c('bench', ['--prompt-file', path.join(tmp, 'missing.txt')], 2, /--prompt-file: cannot read .*missing\.txt/),
  c('bench', ['--out', path.join(aFile, 'results')], 2, /--out: .* cannot be created: .*a-file is not a directory/),
  c('bench', ['--api-key-parameter', 'bad name'], 2, /--api-key-parameter: got "bad name"; expected an SSM parameter name/),
  c('bench', ['--timeout', '5', '--timeout', '6'], 2, /--timeout: given more than once \("5" and "6"\)/),
  c('bench', ['--prompt-file', aFile, '--input-tokens', '64'], 2, /--input-tokens: not used with --prompt-file/),
  c('bench', ['extra'], 2, /unexpected argument "extra"/),
  // A run against nothing: the requests fail, so the run does.
  c('bench', ['--warmup', '0', '--concurrency', '1', '--requests', '2', '--out', path.join(tmp, 'bench-out')], 1, /bench: FAILED: every one of the 2 requests failed \(network 2\)/),

  // npm run smoke
  c('smoke', ['--timeout-s', '3000000'], 2, /--timeout-s: got "3000000"; expected a number from 1 to 3600 \(seconds\)/),
  c('smoke', ['--timeout-s', '0'], 2, /--timeout-s: got "0"/),
  c('smoke', ['--requests', '0'], 2, /--requests: got "0"; expected a whole number from 1 to 1000/),
  c('smoke', ['--requests', '100000'], 2, /--requests: got "100000"/),
  c('smoke', ['--requests', '2', '--concurrency', '8'], 2, /--concurrency: got 8; expected at most --requests \(2\)/),
  c('smoke', ['--output-tokens', '1'], 2, /--output-tokens: got "1"; expected a whole number from 2 to 4096/),
  c('smoke', ['--target-tpot-ms', '-1'], 2, /--target-tpot-ms: got "-1"; expected a number above 0 and at most 60000/),
  c('smoke', ['--target-ttft-ms', 'soon'], 2, /--target-ttft-ms: got "soon"/),
  c('smoke', ['--timeout', '5'], 2, /--timeout: unknown flag; did you mean --timeout-s\?/),
  c('smoke', ['--json-out', path.join(aFile, 'verdict.json')], 2, /--json-out: got ".*verdict\.json"; expected a new file or an earlier verdict of smoke, and .*verdict\.json cannot be created: .*a-file is not a directory/),
  c('smoke', ['--json-out'], 2, /--json-out: needs a value/),
  bare('smoke', [], 2, /--url: required/),
  c('smoke', ['--api-key-parameter', ''], 2, /--api-key-parameter: got ""; expected an SSM parameter name/),
  c('smoke', ['--requests', '2'], 1, /smoke test FAILED: 2 of 2 requests failed, first with network/),

  // npm run sizing
  c('sizing', ['--model', 'gpt-5'], 2, /--model: unknown model "gpt-5"; catalog models:/),
  c('sizing', ['--model', 'llama-3.2-1b-instruct-q4_o'], 2, /--model: unknown model .*did you mean llama-3\.2-1b-instruct-q4_0\?/),
  c('sizing', ['--model', 'llama-3.1-8b', '--quantization', 'q4_0'], 2, /--quantization: got "q4_0"; .*did you mean Q4_0\?/),
  c('sizing', ['--rps', '0'], 2, /--rps: got "0"; expected a number above 0 and at most 100000/),
  c('sizing', ['--rps', '1e9'], 2, /--rps: got "1e9"/),
  c('sizing', ['--context', '256'], 2, /--context: got "256"; expected a whole number from 512 to 131072/),
  c('sizing', ['--context', '1000000'], 2, /--context: got "1000000"/),
  c('sizing', ['--max-slots', '65'], 2, /--max-slots: got "65"; expected a whole number from 1 to 64/),
  c('sizing', ['--top', '5000'], 2, /--top: got "5000"; expected a whole number from 0 to 1000/),
  c('sizing', ['--prefill-speedup', '0'], 2, /--prefill-speedup: got "0"; expected a number from 0.01 to 1000/),
  c('sizing', ['--families', 'c5'], 2, /--families: unknown or unpriced c5/),
  c('sizing', ['--input-tokens', '4000', '--output-tokens', '200'], 2, /--input-tokens \+ --output-tokens \(4200\) exceed --context 4096/),
  c('sizing', ['--json=yes'], 2, /--json: takes no value; got "yes"/),
  bare('sizing', ['--modle', 'llama-3.2-1b-instruct-q4_0'], 2, /--modle: unknown flag; did you mean --model\?/),
  c('sizing', ['--target-tpot-ms', '0.5'], 2, /--target-tpot-ms: got "0.5"; expected a number from 1 to 60000/),
  bare('sizing', ['--model', 'llama-3.3-70b-instruct-q4_k_m', '--target-tpot-ms', '5'], 2, /--target-tpot-ms: no instance generates/),

  // npm run local: each names the flag, never the boot script's GLLM_ variable, and writes nothing.
  local(['--port', '80'], /--port: got "80"; expected a whole number from 1024 to 65535 \(ports below 1024 need root/),
  local(['--port', '70000'], /--port: got "70000"/),
  local(['--sha256', 'abc'], /--sha256: got "abc"; expected 64 hex digits/),
  local(['--size-bytes', '0'], /--size-bytes: got "0"; expected a whole number from 1 to 1099511627776/),
  local(['--size-bytes', '2e12'], /--size-bytes: got "2e12"/),
  { command: 'local', args: [], without: ['--sha256'], code: 2, says: [/--sha256: required/] },
  local(['--model-url', 'ftp://127.0.0.1/m.gguf'], /--model-url: got "ftp:\/\/127.0.0.1\/m.gguf"; expected an http:\/\/ or https:\/\/ URL/),
  local(['--model-url', 'http://127.0.0.1:9/my model.gguf'], /--model-url: its file name "my%20model.gguf" is not a plain file name ending in \.gguf.*give --model-file/),
  local(['--model-file', 'model.bin'], /--model-file: got "model.bin"; expected a plain file name ending in \.gguf/),
  local(['--model-file=../m.gguf'], /--model-file: got "..\/m.gguf"/),
  local(['--quantize-to', 'q4_0'], /--quantize-to: got "q4_0"; .*did you mean Q4_0\?/),
  local(['--llama-ref=-rf'], /--llama-ref: got "-rf"; expected a tag, branch or commit/),
  local(['--llama-commit', 'abc'], /--llama-commit: got "abc"; expected the 40-character lowercase commit hash/),
  { command: 'local', args: ['--llama-ref', 'b9999'], without: ['--llama-src'], code: 2, says: [/--llama-commit: required with --llama-ref b9999, a tag the kit does not know the commit of/] },
  local(['--llama-src', path.join(tmp, 'no-such-src')], /--llama-src: .*no-such-src does not exist/),
  local(['--api-key-file', path.join(tmp, 'no-such-key')], /--api-key-file: .*no-such-key does not exist/),
  local(['--work-dir', path.join(tmp, 'with space')], /--work-dir: got ".*with space"; the path may contain only/),
  local(['--work-dir', path.join(aFile, 'work')], /--work-dir: .*cannot be created: .*a-file is not a directory/),
  local(['--generation', '7'], /--generation: got "7"; expected one of 2, 3, 4, 5/),
  local(['--slots', '65'], /--slots: got "65"; expected a whole number from 1 to 64/),
  local(['--ctx-per-slot', '100'], /--ctx-per-slot: got "100"; expected a whole number from 512 to 131072/),
  local(['--health-timeout', '9000', '--boot-timeout', '100'], /--health-timeout: got 9000; expected at most --boot-timeout \(100\)/),
  local(['--boot-timeout', '999999'], /--boot-timeout: got "999999"; expected a whole number from 1 to 86400/),
  local(['--stop', '--port', '8080'], /--stop: takes only --work-dir; got .*--port/),
  local(['--prot', '8080'], /--prot: unknown flag; did you mean --port\?/),
  local(['extra'], /unexpected argument "extra"/),
];

/** Valid base flags, so the case's bad flag is the only problem; a flag the case gives replaces the base one. */
function baseFlags(k: Case, workDir: string): [string, string][] {
  switch (k.command) {
    case 'local':
      return [
        ['--model-url', 'http://127.0.0.1:9/m.gguf'],
        ['--sha256', SHA],
        ['--size-bytes', '100'],
        ['--work-dir', workDir],
        ['--llama-src', llamaSrc],
      ];
    case 'sizing':
      return [['--model', 'llama-3.2-1b-instruct-q4_0']];
    case 'bench':
      return [['--url', dead], ['--progress', 'off']];
    case 'smoke':
      return [['--url', dead]];
  }
}

function argsOf(k: Case, i: number): { args: string[]; workDir?: string } {
  const workDir = path.join(tmp, `work-${i}`);
  if (k.bare) return { args: [...k.args], workDir };
  const given = new Set(k.args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
  const base = baseFlags(k, workDir).filter(([f]) => !given.has(f) && !k.without?.includes(f));
  return { args: [...base.flat(), ...k.args], workDir };
}

interface Outcome {
  readonly code: number | null;
  readonly output: string;
  readonly workDir?: string;
}

function run(k: Case, i: number): Promise<Outcome> {
  const { args, workDir } = argsOf(k, i);
  // No key or endpoint from the environment running the tests.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GLLM_|GRAVITON_LLM_)/.test(name)));
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [SCRIPTS[k.command], ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    // A case the command wrongly accepts must not run on: a local boot would start building.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, output, workDir });
    });
  });
}

const outcomes: Outcome[] = [];

beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}/v1`;
  await new Promise((r) => probe.close(r));

  let next = 0;
  const worker = async () => {
    while (next < CASES.length) {
      const i = next++;
      outcomes[i] = await run(CASES[i], i);
    }
  };
  await Promise.all([worker(), worker()]);
}, 600_000);

test('the table holds enough bad inputs for every command', () => {
  const count = (cmd: Command) => CASES.filter((k) => k.command === cmd).length;
  expect(CASES.length).toBeGreaterThanOrEqual(45);
  for (const cmd of Object.keys(SCRIPTS) as Command[]) expect(count(cmd)).toBeGreaterThanOrEqual(10);
});

test.each(CASES.map((k, i) => [`${k.command} ${k.args.join(' ') || '(no flags)'}`, i] as const))('%s', (_name, i) => {
  const k = CASES[i];
  const o = outcomes[i];
  expect(o.output).not.toMatch(/^\s+at /m);
  expect(o.output).not.toMatch(/Error: .*\/[\w.-]+\/[\w.-]+/);
  expect(o.output).not.toMatch(/\(node:\d+\)|Warning:/);
  for (const words of k.says) expect(o.output).toMatch(words);
  // A usage error points at the help, or (sizing's impossible request) is one line naming the flag to change.
  if (k.code === 2) expect(o.output).toMatch(new RegExp(`See npm run ${k.command} -- --help|^${k.command}: --`, 'm'));
  expect({ code: o.code, output: o.output }).toEqual({ code: k.code, output: o.output });
  if (k.command === 'local') {
    expect(o.output).not.toMatch(/GLLM_/);
    // Nothing written: no work directory, so no key file or boot.env either.
    expect(existsSync(o.workDir!)).toBe(false);
  }
});

test('every upper bound is in the command\'s --help and in the README section on it', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = (heading: string) => readme.slice(readme.indexOf(heading), readme.indexOf('\n## ', readme.indexOf(heading) + 1));
  const commands = [
    [BENCH_LIMITS, BENCH_USAGE, section('## Measure and size')],
    [SIZING_LIMITS, SIZING_USAGE, section('## Measure and size')],
    [SMOKE_LIMITS, SMOKE_USAGE, section('### Smoke test')],
    [LOCAL_BOOT_LIMITS, LOCAL_BOOT_USAGE, section('## Try the instance boot locally')],
  ] as const;
  for (const [limits, usage, docs] of commands) {
    for (const { max } of Object.values(limits)) {
      expect(usage).toContain(String(max));
      expect(docs).toContain(String(max));
    }
  }
});

test('the local cases left nothing in the scratch directory but what the test made', () => {
  const made = ['a-file', 'llama-src', 'bench-out'];
  expect(readdirSync(tmp).filter((n) => !made.includes(n))).toEqual([]);
});
