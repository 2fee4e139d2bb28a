/**
 * Bad input to every command, as a new user would type it: each case runs
 * the real command as package.json's scripts (or the docs) do (`tsx
 * tools/bench/cli.ts`, ...), and must end with the expected exit code (2 for
 * a usage error, 1 for a run that failed), words naming the flag, a help hint
 * that names a command that exists, and no stack trace.
 *
 * A refused command must not have started any work. Each case runs in a
 * directory of its own holding only a README.md (as a checkout does), with
 * GRAVITON_LLM_CACHE and TMPDIR pointed at empty directories of its own and
 * stand-ins for git, cmake, a compiler, curl, tar, bash, jsii and the AWS
 * CLI first on PATH that log any call. Afterwards the README is as it was,
 * nothing else is there, the cache is empty, the temporary directory holds
 * nothing but tsx's own, and no stand-in was called: nothing was cloned,
 * unpacked, generated, compiled or written. For `npm run local`, the work
 * directory was not even created (no key file or boot.env). The cases run
 * two at a time.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { LOCAL_BOOT_LIMITS, LOCAL_BOOT_USAGE } from '../../lib/boot/local-boot-options';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { COMMANDS, helpHint } from '../../lib/command-line/commands';
import { BENCH_LIMITS, USAGE as BENCH_USAGE } from '../../tools/bench/options';
import { SMOKE_LIMITS, SMOKE_USAGE } from '../../tools/bench/smoke-options';
import { SIZING_LIMITS, USAGE as SIZING_USAGE } from '../../tools/sizing/options';
import { missingCommand } from '../support/command-hints';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
type Command = keyof typeof COMMANDS;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'gllm-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const aFile = path.join(tmp, 'a-file');
writeFileSync(aFile, 'not a directory\n');
/** A git repository as far as the flags' check looks (it has .git), a source tree without git, and an empty directory. */
const llamaSrc = path.join(tmp, 'llama-src');
mkdirSync(path.join(llamaSrc, '.git'), { recursive: true });
const plainTree = path.join(tmp, 'plain-tree');
mkdirSync(plainTree);
writeFileSync(path.join(plainTree, 'CMakeLists.txt'), 'project(llama.cpp)\n');
const emptyDir = path.join(tmp, 'empty-dir');
mkdirSync(emptyDir);
/** A key file with no key in it, and one with only white space. */
const emptyKey = path.join(tmp, 'empty-key');
writeFileSync(emptyKey, '');
const blankKey = path.join(tmp, 'blank-key');
writeFileSync(blankKey, '  \n\n');
/** A directory holding an earlier run's results (or anything else). */
const oldResults = path.join(tmp, 'old-results');
mkdirSync(oldResults);
writeFileSync(path.join(oldResults, 'results.md'), '| earlier |\n');
/** An org asset manifest for two regions, and a JSON file that is not one. */
const manifest = path.join(tmp, 'org-assets.json');
writeFileSync(manifest, JSON.stringify({
  version: '48.0.0',
  files: {
    abc: {
      source: { path: 'x.txt', packaging: 'file' },
      destinations: {
        'eu-west-1': { bucketName: 'b-eu-west-1', objectKey: 'abc.txt', region: 'eu-west-1' },
        'us-east-1': { bucketName: 'b-us-east-1', objectKey: 'abc.txt', region: 'us-east-1' },
      },
    },
  },
}));
writeFileSync(path.join(tmp, 'x.txt'), 'asset\n');
const notManifest = path.join(tmp, 'not-a-manifest.json');
writeFileSync(notManifest, '{"x": 1}\n');

/** Stand-ins for every program a command's work would start: each logs its call to $BAD_INPUT_SPAWN_LOG and fails. */
const stubs = path.join(tmp, 'stubs');
mkdirSync(stubs);
const STUBBED = ['git', 'cmake', 'make', 'ninja', 'cc', 'gcc', 'c++', 'g++', 'ccache', 'curl', 'wget', 'tar', 'bash', 'npm', 'jsii', 'aws', 'llama-server', 'llama-quantize', 'sudo', 'dnf'];
for (const name of STUBBED) {
  writeFileSync(path.join(stubs, name), `#!/bin/sh\necho "${name} $*" >>"$BAD_INPUT_SPAWN_LOG"\nexit 97\n`);
  chmodSync(path.join(stubs, name), 0o755);
}
const README = '# a checkout\n';

/** A URL nothing listens on: set once the port is known (beforeAll). */
let dead = 'http://127.0.0.1:1/v1';

interface Case {
  readonly command: Command;
  /** Flags after the command's base flags; a flag given here replaces the base one. */
  readonly args: readonly string[];
  /** Leave out these base flags (local). */
  readonly without?: readonly string[];
  /** Use exactly `args`, no base flags. */
  readonly bare?: boolean;
  /** Environment variables for this case. */
  readonly env?: Readonly<Record<string, string>>;
  readonly code: 1 | 2;
  /** Every one must match the output. */
  readonly says: readonly RegExp[];
}

const c = (command: Command, args: readonly string[], code: 1 | 2, ...says: RegExp[]): Case => ({ command, args, code, says });
const bare = (command: Command, args: readonly string[], code: 1 | 2, ...says: RegExp[]): Case => ({ command, args, code, says, bare: true });
const local = (args: readonly string[], ...says: RegExp[]): Case => ({ command: 'local', args, code: 2, says });
/** A usage error of a command that takes no required flags. */
const u = (command: Command, args: readonly string[], ...says: RegExp[]): Case => ({ command, args, code: 2, says });

const SHA = 'a'.repeat(64);
/** The commit of the release a local boot builds by default. */
const V050 = LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF];
const FIT = /expected an instance type the kit's fit check serves the 1B-shaped model on: with 4 slots of 4096 tokens the 1B-shaped model needs/;

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
  // The commit must be the one the tag has, as synth requires (llamaCppCommitOf), with or without --llama-src.
  local(['--llama-commit', '0'.repeat(40)], new RegExp(`--llama-commit: got "0{40}"; expected ${V050}, the commit of --llama-ref ${LLAMA_CPP_DEFAULT_REF}`)),
  { command: 'local', args: ['--llama-commit', 'f'.repeat(40)], without: ['--llama-src'], code: 2, says: [new RegExp(`--llama-commit: got "f{40}"; expected ${V050}`)] },
  local(['--llama-ref', V050, '--llama-commit', '1'.repeat(40)], new RegExp(`--llama-commit: got "1{40}"; expected ${V050}, the commit of --llama-ref ${V050}`)),
  local(['--api-key-file', emptyKey], /--api-key-file: .*empty-key is empty: expected the API key/),
  local(['--api-key-file', blankKey], /--api-key-file: .*blank-key is empty/),
  local(['--work-dir', oldResults], /--work-dir: .*old-results already holds 1 entry \(results\.md\): expected a new or empty directory, or an earlier local boot's \(with its boot\.env\)/),
  local(['--work-dir', '.'], /--work-dir: \. already holds 1 entry \(README\.md\)/),
  local(['--work-dir', 'README.md'], /--work-dir: README\.md is a file, not a directory/),
  local(['--cache-dir', aFile], /--cache-dir: .*a-file is a file, not a directory/),
  local(['--cache-dir', oldResults], /--cache-dir: .*old-results already holds 1 entry \(results\.md\): expected a new or empty directory, or a local boot's cache/),
  local(['--llama-src', plainTree], /--llama-src: .*plain-tree is not a git repository, so the boot cannot take commit [0-9a-f]{40} \(--llama-ref v[\d.]+\) from it/),
  local(['--llama-src', emptyDir, '--llama-ref', 'b9999'], /--llama-src: .*empty-dir holds neither CMakeLists\.txt nor \.git/),
  { command: 'local', args: [], env: { GLLM_API_KEY: '   ' }, code: 2, says: [/\$GLLM_API_KEY: got only white space; expected the API key/] },

  // npm run bench, smoke: the files checked before the first request, with the flags' other problems
  c('bench', ['--api-key-file', emptyKey], 2, /--api-key-file: .*empty-key is empty: expected the key on its first line/),
  c('bench', ['--api-key-file', path.join(tmp, 'no-such-key')], 2, /--api-key-file: cannot read .*no-such-key/),
  c('bench', ['--out', 'README.md'], 2, /--out: got "README\.md"; expected a new or empty directory for this run's results, and README\.md is a file, not a directory/),
  c('bench', ['--out', oldResults], 2, /--out: got ".*old-results"; expected a new or empty directory .* already holds 1 entry \(results\.md\)/),
  c('bench', ['--out', '.', '--timeout', '0'], 2, /--timeout: got "0"/, /--out: got "\."; .* already holds 1 entry \(README\.md\)/),
  c('bench', ['--prompt-file', emptyKey], 2, /--prompt-file: .*empty-key has no non-empty lines/),
  c('smoke', ['--api-key-file', emptyKey], 2, /--api-key-file: .*empty-key is empty/),
  c('smoke', ['--api-key-file', path.join(tmp, 'no-such-key'), '--requests', '0'], 2, /--api-key-file: cannot read/, /--requests: got "0"/),
  c('smoke', ['--json-out', 'README.md'], 2, /--json-out: got "README\.md"; expected a new file or an earlier verdict of smoke, and README\.md exists and is not an earlier result of this command/),
  c('smoke', ['--json-out', oldResults], 2, /--json-out: got ".*old-results"; .* is a directory/),

  // compare-local: every flag before llama.cpp is unpacked or built
  u('compare-local', ['--only', 'kit,bogus'], /--only: got "kit,bogus"; "bogus" is not run; expected some of kit, defaults/),
  u('compare-local', ['--only', 'kit-8-slots'], /--only: got "kit-8-slots"; .*expected some of kit, defaults \(kit-N-slots with --extra-slots N\)/),
  u('compare-local', ['--only', ','], /--only: got ","; expected some of kit, defaults/),
  u('compare-local', ['--shared-prefix-tokens', '100000'], /--shared-prefix-tokens: got "100000"; expected a whole number from 1 to 3808/),
  u('compare-local', ['--shared-prefix-tokens', '0'], /--shared-prefix-tokens: got "0"/),
  u('compare-local', ['--out', 'README.md'], /--out: got "README\.md"; expected a new or empty directory for this run's results, and README\.md is a file/),
  u('compare-local', ['--out', oldResults], /--out: .* already holds 1 entry \(results\.md\)/),
  u('compare-local', ['--out', path.join(aFile, 'results')], /--out: .* cannot be created: .*a-file is not a directory/),
  u('compare-local', ['--instance-type', 't4g.nano'], /--instance-type: got "t4g\.nano"; /, FIT, /types that fit: /),
  u('compare-local', ['--instance-type', 'c5.large'], /--instance-type: got "c5\.large"; c5 is not a Graviton \(Arm\) family/),
  u('compare-local', ['--instance-type', 'C7G.2XLARGE'], /--instance-type: got "C7G\.2XLARGE"; EC2 instance type names are written in lowercase: "c7g\.2xlarge"/),
  u('compare-local', ['--instance-type', 'c7g.large', '--extra-slots', '64'], /--extra-slots: got "64"; expected at most 10 on --instance-type c7g\.large, as the kit's fit check allows/),
  u('compare-local', ['--extra-slots', '65'], /--extra-slots: got "65"; expected a whole number from 1 to 64/),
  u('compare-local', ['--rounds', '2'], /--rounds: got "2"; expected a whole number from 3 to 50/),
  u('compare-local', ['--requests-per-client', '0'], /--requests-per-client: got "0"; expected a whole number from 1 to 100/),
  u('compare-local', ['--onyl', 'kit'], /--onyl: unknown flag; did you mean --only\?/),
  u('compare-local', ['kit'], /unexpected argument "kit"/),

  // prompt-cache-memory: the instance must fit before the model is generated
  u('prompt-cache-memory', ['--instance-type', 't4g.nano'], /--instance-type: got "t4g\.nano"; /, FIT),
  u('prompt-cache-memory', ['--instance-type', 'c7g.medium'], /--instance-type: got "c7g\.medium"; /, FIT),
  u('prompt-cache-memory', ['--instance-type', 'm5.large'], /--instance-type: got "m5\.large"; m5 is not a Graviton/),
  u('prompt-cache-memory', ['--prompts', '4'], /--prompts: got "4"; expected a whole number from 5 to 200/),
  u('prompt-cache-memory', ['--prompt-tokens', '5000'], /--prompt-tokens: got "5000"; expected a whole number from 256 to 4000/),
  u('prompt-cache-memory', ['--out', 'README.md'], /--out: got "README\.md"; expected a new or empty directory/),
  u('prompt-cache-memory', ['--out', '.'], /--out: got "\."; .* already holds 1 entry \(README\.md\)/),
  u('prompt-cache-memory', ['--promtps', '10'], /--promtps: unknown flag; did you mean --prompts\?/),

  // fleet-prefix
  u('fleet-prefix', ['--servers', '0,1'], /--servers: got "0,1"; expected a comma-separated list, each a whole number from 1 to 8/),
  u('fleet-prefix', ['--servers', '0x2'], /--servers: got "0x2"/),
  u('fleet-prefix', ['--servers', '9'], /--servers: got "9"/),
  u('fleet-prefix', ['--prefixes', ''], /--prefixes: got ""; expected a comma-separated list, each a whole number from 1 to 64/),
  u('fleet-prefix', ['--prefix-tokens', '5000'], /--prefix-tokens: got "5000"; expected a whole number from 64 to 3000/),
  u('fleet-prefix', ['--requests', '4'], /--requests: got "4"; expected a whole number from 8 to 1000/),
  u('fleet-prefix', ['--concurrency', '65'], /--concurrency: got "65"; expected a whole number from 1 to 64/),
  u('fleet-prefix', ['--concurrency', '16', '--requests', '8'], /--concurrency: got 16; expected at most --requests \(8\)/),
  u('fleet-prefix', ['--out', 'README.md'], /--out: got "README\.md"; expected a new or empty directory/),
  u('fleet-prefix', ['--server', '2'], /--server: unknown flag; did you mean --servers\?/),

  // publish-org-assets: the flags and the manifest before any AWS call
  u('publish-org-assets', ['--manifest', manifest, '--region', ''], /--region: got ""; expected one or more region names/),
  u('publish-org-assets', ['--manifest', manifest, '--region', ','], /--region: got ","; expected one or more region names/),
  u('publish-org-assets', ['--manifest', manifest, '--region', 'ap-south-1'], /--region: got "ap-south-1"; expected regions of the manifest, and ap-south-1 is not a region of the org configuration; the manifest has eu-west-1, us-east-1/),
  u('publish-org-assets', ['--manifest', manifest, '--region', 'EU-WEST-1'], /--region: got "EU-WEST-1"; expected AWS region names like eu-west-1/),
  u('publish-org-assets', ['--manifest', path.join(tmp, 'missing.json')], /--manifest: .*missing\.json does not exist: run `npx cdk synth -c mode=org` first/),
  u('publish-org-assets', [], /--manifest: .*cdk\.out\/org-template\/org-assets\.json does not exist/),
  u('publish-org-assets', ['--manifest', oldResults], /--manifest: got ".*old-results"; expected the org asset manifest file/),
  u('publish-org-assets', ['--manifest', notManifest], /--manifest: got ".*not-a-manifest\.json"; expected an asset manifest as `npx cdk synth -c mode=org` writes it/),
  u('publish-org-assets', ['--manifest', manifest, '--profile'], /--profile: needs a value/),
  u('publish-org-assets', ['--manifest', manifest, '--regoin', 'eu-west-1'], /--regoin: unknown flag; did you mean --region\?/),
  u('publish-org-assets', ['--manifest', manifest, 'eu-west-1'], /unexpected argument "eu-west-1"/),

  // jsii-check: its own flags before the scratch project is made or jsii runs
  u('jsii-check', ['--scrach', 'x'], /--scrach: unknown flag; did you mean --scratch\?/),
  u('jsii-check', ['--scratch', oldResults], /--scratch: got ".*old-results"; expected a directory that does not exist yet, and it exists/),
  u('jsii-check', ['--scratch', path.join(aFile, 'scratch')], /--scratch: .* cannot be created: .*a-file is not a directory/),
  u('jsii-check', ['--scratch'], /--scratch: needs a value/),
  u('jsii-check', ['stray'], /unexpected argument "stray"/),
  { command: 'jsii-check', args: [], env: { JSII: path.join(tmp, 'no-such-jsii') }, code: 2, says: [/\$JSII: got ".*no-such-jsii"; expected a jsii program, and it does not exist/] },

  // bundle-boot: a flag is not taken for the file to write, and one file at most
  u('bundle-boot', ['--bogus'], /--bogus: got an option; expected only OUTFILE, a file path/),
  u('bundle-boot', ['--out=boot.js'], /--out=boot\.js: got an option; expected only OUTFILE/),
  u('bundle-boot', ['-o', path.join(tmp, 'b.js')], /-o: got an option; expected only OUTFILE/),
  u('bundle-boot', [path.join(tmp, 'a.js'), path.join(tmp, 'b.js')], /OUTFILE: got 2 paths; expected one/),
  u('bundle-boot', ['--minify'], /--minify: got an option; expected only OUTFILE/),
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
    default:
      return [];
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
  /** The case's own working directory, cache, temporary directory and log of stand-in calls. */
  readonly cwd: string;
  readonly cache: string;
  readonly tmpdir: string;
  readonly spawnLog: string;
}

function run(k: Case, i: number): Promise<Outcome> {
  const { args, workDir } = argsOf(k, i);
  const own = path.join(tmp, `case-${i}`);
  const [cwd, cache, tmpdir] = ['cwd', 'cache', 'tmp'].map((d) => path.join(own, d));
  for (const d of [cwd, cache, tmpdir]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(cwd, 'README.md'), README);
  const spawnLog = path.join(own, 'spawned.log');
  // No key or endpoint from the environment running the tests; a cache, temporary directory and tools of the case's own.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(GLLM_|GRAVITON_LLM_|AWS_)/.test(name))),
    GRAVITON_LLM_CACHE: cache,
    TMPDIR: tmpdir,
    PATH: `${stubs}${path.delimiter}${process.env.PATH ?? ''}`,
    BAD_INPUT_SPAWN_LOG: spawnLog,
    JSII: path.join(stubs, 'jsii'),
    // An AWS call would go nowhere, quickly.
    AWS_ENDPOINT_URL: dead.replace(/\/v1$/, ''),
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'eu-west-1',
    ...k.env,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['--tsconfig', path.join(ROOT, 'tsconfig.json'), path.join(ROOT, COMMANDS[k.command].file), ...args], {
      cwd, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
    // A case the command wrongly accepts must not run on: a local boot would start building.
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, output, workDir, cwd, cache, tmpdir, spawnLog });
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
  expect(CASES.length).toBeGreaterThanOrEqual(140);
  for (const cmd of Object.keys(COMMANDS) as Command[]) expect({ cmd, enough: count(cmd) >= 5 }).toEqual({ cmd, enough: true });
});

test.each(CASES.map((k, i) => [`${k.command} ${k.args.join(' ') || '(no flags)'}`, i] as const))('%s', (_name, i) => {
  const k = CASES[i];
  const o = outcomes[i];
  // First, no work started: nothing written where the command runs, in the cache or in the temporary
  // directory, no tool called, and for a local boot no work directory (so no key file or boot.env).
  expect({ cwd: readdirSync(o.cwd), readme: readFileSync(path.join(o.cwd, 'README.md'), 'utf8') }).toEqual({ cwd: ['README.md'], readme: README });
  expect(readdirSync(o.cache)).toEqual([]);
  expect(readdirSync(o.tmpdir).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
  expect(existsSync(o.spawnLog) ? readFileSync(o.spawnLog, 'utf8') : '').toBe('');
  if (k.command === 'local') expect(existsSync(o.workDir!)).toBe(false);
  // Then what it said: no stack trace or warning, the flag named.
  expect(o.output).not.toMatch(/^\s+at /m);
  expect(o.output).not.toMatch(/Error: .*\/[\w.-]+\/[\w.-]+/);
  expect(o.output).not.toMatch(/\(node:\d+\)|Warning:/);
  if (k.command === 'local') expect(o.output.replace(/\$GLLM_API_KEY/g, '')).not.toMatch(/GLLM_/);
  for (const words of k.says) expect(o.output).toMatch(words);
  // A usage error points at the help of a command that exists, or (sizing's impossible request) is one line naming the flag to change.
  const hints = [...o.output.matchAll(/See (.*) --help/g)].map((m) => m[1]);
  for (const hint of hints) expect({ hint, problem: missingCommand(hint, path.join(ROOT, 'README.md')) }).toEqual({ hint, problem: undefined });
  if (k.code === 2 && !/^sizing: --/m.test(o.output)) expect(hints).toEqual([helpHint(k.command).replace(/^See (.*) --help$/, '$1')]);
  expect({ code: o.code, output: o.output }).toEqual({ code: k.code, output: o.output });
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

test('the cases left nothing in the scratch directory but what the test made', () => {
  const made = [
    'a-file', 'llama-src', 'plain-tree', 'empty-dir', 'bench-out', 'empty-key', 'blank-key', 'old-results', 'org-assets.json', 'x.txt', 'not-a-manifest.json', 'stubs',
  ];
  expect(readdirSync(tmp).filter((n) => !made.includes(n) && !/^case-\d+$/.test(n))).toEqual([]);
  expect(readdirSync(oldResults)).toEqual(['results.md']);
});
