/**
 * The `npm run local` command line: flags to checked LocalBootOptions, or one
 * message per problem naming the flag (`--sha256`, not the boot program's
 * GLLM_MODEL_SHA256), the value and what is allowed. Everything the boot
 * program would refuse is refused here first, before anything is written: no
 * work directory, key file or boot.env. The program keeps its own checks
 * (runtime/boot/contract.ts) as the last line of defence. Rules the kit has elsewhere are used, not copied: the
 * llama.cpp commit a release tag must have is synth's (llamaCppCommitOf).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GENERATIONS, type GravitonGeneration } from '../catalogs/graviton-generations';
import { LLAMA_CPP_COMMIT_PATTERN, LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS, llamaCppCommitOf } from '../catalogs/llama-cpp-release';
import { commandLine } from '../command-line/commands';
import { describeRange, httpUrl, numberFlag, readFlags, type NumberRange } from '../command-line/flags';
import { unreadableDirectory, unreadableFile, unusableResultsDirectory } from '../command-line/paths';
import { LLAMA_CPP_REF_PATTERN, MODEL_FILE_PATTERN, QUANTIZE_TYPE_PATTERN, SAFE_VALUE } from '../../runtime/boot/contract';
import { cpuParts } from '../../runtime/boot/cpuinfo';

export interface LocalBootOptions {
  readonly modelUrl: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** Holds everything the boot writes; defaults to `.cache/local-boot` in the working directory. */
  readonly workDir: string;
  /** Stands in for the S3 cache; defaults to `<workDir>/cache`. */
  readonly cacheDir: string;
  /** A llama.cpp source tree or git repository; without it the boot clones upstream. */
  readonly llamaSrc?: string;
  readonly llamaRef: string;
  /** The commit llamaRef names; empty builds a --llama-src tree as it is. */
  readonly llamaCommit: string;
  /** File holding the API key; without it (and without $GLLM_API_KEY) one is generated. */
  readonly apiKeyFile?: string;
  readonly port: number;
  readonly slots: number;
  readonly ctxPerSlot: number;
  /**
   * llama-server's RAM prompt cache (--cache-ram), MiB; 0 turns it off.
   * @default 1024 (a developer machine has no fit check to size it from, and
   * llama-server's own 8192 could take a laptop's spare memory)
   */
  readonly promptCacheMiB: number;
  readonly healthTimeoutSeconds: number;
  /** The whole boot (install, build, download, health) must end within this. */
  readonly bootTimeoutSeconds: number;
  readonly modelFile: string;
  readonly quantizeTo: string;
  /** Graviton generation whose flags an aarch64 machine builds with; detected from the CPU when omitted. */
  readonly generation?: GravitonGeneration;
  /** Read instead of /proc/cpuinfo (tests). */
  readonly cpuinfoPath?: string;
}

/**
 * What each number flag allows. --slots and --ctx-per-slot are the deployed
 * kit's parallelSlots and contextTokensPerSlot bounds; --port starts at 1024
 * because llama-server runs unprivileged and cannot bind below it.
 */
export const LOCAL_BOOT_LIMITS = {
  sizeBytes: { min: 1, max: 2 ** 40, integer: true, unit: 'bytes, up to 1 TiB' },
  port: { min: 1024, max: 65_535, integer: true, unit: 'ports below 1024 need root, and llama-server runs unprivileged' },
  slots: { min: 1, max: 64, integer: true },
  ctxPerSlot: { min: 512, max: 131_072, integer: true },
  // The boot accepts up to 7 digits; more than 1 TiB of prompt cache is a typo.
  promptCacheMiB: { min: 0, max: 1_048_576, integer: true, unit: 'MiB' },
  healthTimeoutSeconds: { min: 1, max: 86_400, integer: true, unit: 'seconds' },
  bootTimeoutSeconds: { min: 1, max: 86_400, integer: true, unit: 'seconds' },
} as const satisfies Record<string, NumberRange>;

/** The boot's value rules (runtime/boot/contract.ts), with what each allows in the words of a flag. */
const PATTERNS = {
  sha256: { re: /^[0-9a-fA-F]{64}$/, what: '64 hex digits (the model file\'s SHA-256)' },
  llamaRef: { re: LLAMA_CPP_REF_PATTERN, what: 'a tag, branch or commit (letters, digits, . _ / -, not starting with a dash)' },
  llamaCommit: { re: LLAMA_CPP_COMMIT_PATTERN, what: 'the 40-character lowercase commit hash the ref names' },
  modelFile: { re: MODEL_FILE_PATTERN, what: 'a plain file name ending in .gguf (letters, digits, . _ -)' },
  quantizeTo: { re: QUANTIZE_TYPE_PATTERN, what: 'a llama-quantize type like Q4_0 or Q4_K_M (upper case)' },
} as const;

export const LOCAL_BOOT_FLAGS = {
  'model-url': { type: 'string' },
  sha256: { type: 'string' },
  'size-bytes': { type: 'string' },
  'work-dir': { type: 'string' },
  'cache-dir': { type: 'string' },
  'llama-src': { type: 'string' },
  'llama-ref': { type: 'string' },
  'llama-commit': { type: 'string' },
  'api-key-file': { type: 'string' },
  port: { type: 'string' },
  slots: { type: 'string' },
  'ctx-per-slot': { type: 'string' },
  'prompt-cache-mib': { type: 'string' },
  'health-timeout': { type: 'string' },
  'boot-timeout': { type: 'string' },
  'model-file': { type: 'string' },
  'quantize-to': { type: 'string' },
  generation: { type: 'string' },
  cpuinfo: { type: 'string' },
  stop: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** See LocalBootOptions.promptCacheMiB. */
export const DEFAULT_LOCAL_PROMPT_CACHE_MIB = 1024;

/** What marks a directory as an earlier local boot's work directory, which a boot may use again. */
export const WORK_DIR_MARK = 'boot.env';

/** What a local boot's cache holds (the boot's DirCache, runtime/boot/adapters/dir-cache.ts): a directory of only these is one to use again. */
export const CACHE_DIR_ENTRIES: readonly string[] = ['builds', 'models', 'quantized'];

/** --llama-src: a directory the boot can take the source from (a llama.cpp tree, or a git repository). */
function unusableSource(dir: string): string | undefined {
  const problem = unreadableDirectory(dir);
  if (problem) return problem;
  return existsSync(path.join(dir, 'CMakeLists.txt')) || existsSync(path.join(dir, '.git'))
    ? undefined
    : 'holds neither CMakeLists.txt nor .git: expected a llama.cpp source tree or git repository';
}

/**
 * The Graviton generation whose core /proc/cpuinfo names (its `CPU part`), or
 * undefined for another CPU, or a mix of cores, which the boot's CPU check
 * refuses too.
 */
export function generationFromCpuinfo(cpuinfo: string): GravitonGeneration | undefined {
  const parts = cpuParts(cpuinfo);
  if (parts.length !== 1) return undefined;
  return Object.values(GENERATIONS).find((g) => g.cpuPart === parts[0])?.generation;
}

/** Whether an API key file holds a key as the boot reads it: anything but white space. */
function emptyKeyFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() === '' ? 'is empty: expected the API key' : undefined;
  } catch {
    return 'is not readable';
  }
}

/**
 * Synth's rule for the llama.cpp commit (lib/constructs/endpoint-checks.ts),
 * its problems in the flags' names; the commit, '' for a --llama-src tree
 * built as it is (a ref the kit does not know, no commit given).
 */
function llamaCommitOf(ref: string, given: string | undefined, hasSource: boolean, errors: string[]): string {
  const { commit, problems } = llamaCppCommitOf(ref, given);
  const flags = (text: string) => text.replace(/\bllamaCppRef\b/g, '--llama-ref').replace(/\bllamaCppCommit\b/g, '--llama-commit');
  for (const p of problems) {
    // Without a commit, a local source tree is built as it is; only a fetch needs one.
    if (p.given === undefined && given === undefined && hasSource) continue;
    const expected = flags(p.expected);
    errors.push(p.given === undefined
      ? `--llama-commit: ${expected}`
      : `--llama-commit: got "${String(p.given)}"; ${/^expected\b/.test(expected) ? '' : 'expected '}${expected}`);
  }
  return commit ?? '';
}

const range = (r: NumberRange) => describeRange(r).replace(/^a (whole )?number /, '');

export const LOCAL_BOOT_USAGE = `Usage: ${commandLine('local')} --model-url URL --sha256 HEX --size-bytes N [options]
       ${commandLine('local')} --stop [--work-dir DIR]

Runs the instance boot program on this Linux machine: builds llama.cpp, downloads and verifies
the model, starts llama-server with an API key and waits for /health.

  --model-url URL       http:// or https:// location of the GGUF file
  --sha256 HEX          its SHA-256: 64 hex digits
  --size-bytes N        its size (${range(LOCAL_BOOT_LIMITS.sizeBytes)})
  --work-dir DIR        builds, model, logs, pid file: a new or empty directory, or an earlier local boot's
                        (holding its ${WORK_DIR_MARK}) (default .cache/local-boot)
  --cache-dir DIR       build and model cache: new, empty, or an earlier boot's cache (default <work-dir>/cache)
  --llama-src DIR       local llama.cpp source tree or git repo, a git repo holding the commit when there is one
                        (default: fetch the commit from upstream)
  --llama-ref REF       llama.cpp release (default ${LLAMA_CPP_DEFAULT_REF})
  --llama-commit HEX    the commit REF names (default: known for ${Object.keys(LLAMA_CPP_RELEASE_COMMITS).join(', ')}, and then
                        it must be that one; needed for another tag unless --llama-src is given)
  --api-key-file FILE   API key, a file that holds it (default: $GLLM_API_KEY, else a generated key in <work-dir>/api-key)
  --port N              (default 8080; ${range(LOCAL_BOOT_LIMITS.port)})
  --slots N             parallel slots (default 2; ${range(LOCAL_BOOT_LIMITS.slots)})
  --ctx-per-slot N      context tokens per slot (default 2048; ${range(LOCAL_BOOT_LIMITS.ctxPerSlot)})
  --prompt-cache-mib N  RAM for llama-server's prompt cache, MiB; 0 turns it off (default ${DEFAULT_LOCAL_PROMPT_CACHE_MIB}; ${range(LOCAL_BOOT_LIMITS.promptCacheMiB)})
  --health-timeout S    seconds to wait for /health (default 300; ${range(LOCAL_BOOT_LIMITS.healthTimeoutSeconds)}, at most --boot-timeout)
  --boot-timeout S      seconds the whole boot may take, build included (default 7200; ${range(LOCAL_BOOT_LIMITS.bootTimeoutSeconds)})
  --model-file NAME     served file name ending in .gguf (default: from the URL)
  --quantize-to TYPE    quantize the downloaded model with llama-quantize (e.g. Q4_0)
  --generation N        Graviton generation to build for on aarch64 (${Object.keys(GENERATIONS).join(', ')}; default: detected,
                        and required on an aarch64 CPU that is not a Graviton core)
  --cpuinfo FILE        read instead of /proc/cpuinfo by the CPU check (tests)

Paths may contain only letters, digits and _ . , : / + @ % = ? & ~ - (the boot program reads them as plain words).
Exit codes: 0 serving, 1 the boot failed (GLLM_BOOT_RESULT=FAILURE says why), 2 bad flags (nothing is written).`;

export type LocalBootParse =
  | { readonly options: LocalBootOptions }
  | { readonly stop: true; readonly workDir: string }
  | { readonly help: true }
  | { readonly errors: readonly string[] };

/**
 * Every check of a local boot's flags (and of $GLLM_API_KEY), reading but
 * never writing: the options the boot will accept, or every problem.
 */
export function parseLocalBootArgs(argv: readonly string[], cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env, arch: string = os.arch()): LocalBootParse {
  const { values: v, errors } = readFlags(argv, LOCAL_BOOT_FLAGS);
  if (v.help && errors.length === 0) return { help: true };

  /** An absolute path the boot program can read as a plain word, or '' after recording why not. */
  const pathFlag = (flag: keyof typeof LOCAL_BOOT_FLAGS, text: string, check?: (p: string) => string | undefined): string => {
    if (text.trim() === '') {
      errors.push(`--${flag}: got ""; expected a path`);
      return '';
    }
    const abs = path.resolve(cwd, text.startsWith('~/') ? path.join(os.homedir(), text.slice(2)) : text);
    if (!SAFE_VALUE.test(abs)) {
      errors.push(`--${flag}: got "${text}"; the path may contain only letters, digits and _ . , : / + @ % = ? & ~ - (no spaces or quotes)`);
      return '';
    }
    const problem = check?.(abs);
    if (problem) errors.push(`--${flag}: ${text} ${problem}`);
    return abs;
  };
  const pattern = (flag: keyof typeof LOCAL_BOOT_FLAGS, text: string, rule: { re: RegExp; what: string }, hint = ''): boolean => {
    if (rule.re.test(text)) return true;
    errors.push(`--${flag}: got "${text}"; expected ${rule.what}${hint}`);
    return false;
  };

  // --stop only reads the pid file there; a boot creates and writes it, and may reuse only its own.
  const workDirCheck = (dir: string) => {
    const problem = unusableResultsDirectory(dir, (entries) => entries.includes(WORK_DIR_MARK));
    return problem && (/^already holds/.test(problem)
      ? `${problem}: expected a new or empty directory, or an earlier local boot's (with its ${WORK_DIR_MARK})`
      : problem);
  };
  const workDir = pathFlag('work-dir', v['work-dir'] ?? path.join('.cache', 'local-boot'), v.stop ? undefined : workDirCheck);
  // The cache is shared between boots: new, empty, or one a boot wrote (nothing but its own entries).
  const cacheDirCheck = (dir: string) => {
    const problem = unusableResultsDirectory(dir, (entries) => entries.every((e) => CACHE_DIR_ENTRIES.includes(e)));
    return problem && (/^already holds/.test(problem)
      ? `${problem}: expected a new or empty directory, or a local boot's cache (holding only ${CACHE_DIR_ENTRIES.join(', ')})`
      : problem);
  };
  if (v.stop) {
    const others = Object.keys(v).filter((k) => k !== 'stop' && k !== 'work-dir');
    if (others.length > 0) errors.push(`--stop: takes only --work-dir; got ${others.map((k) => `--${k}`).join(', ')} too`);
    return errors.length > 0 ? { errors } : { stop: true, workDir };
  }

  for (const flag of ['model-url', 'sha256', 'size-bytes'] as const) {
    if (v[flag] === undefined) errors.push(`--${flag}: required`);
  }

  let modelUrl = '';
  let urlName = '';
  if (v['model-url'] !== undefined) {
    // The URL as curl will get it: a space and the like percent-encoded.
    modelUrl = httpUrl('--model-url', v['model-url'], errors) && new URL(v['model-url']).href;
    if (modelUrl && !SAFE_VALUE.test(modelUrl)) {
      errors.push(`--model-url: got "${modelUrl}"; the URL may contain only letters, digits and _ . , : / + @ % = ? & ~ - (percent-encode the rest)`);
      modelUrl = '';
    }
    if (modelUrl) urlName = path.posix.basename(new URL(modelUrl).pathname);
  }
  if (v.sha256 !== undefined) pattern('sha256', v.sha256, PATTERNS.sha256);
  const sizeBytes = numberFlag('size-bytes', v['size-bytes'], 0, LOCAL_BOOT_LIMITS.sizeBytes, errors);

  let modelFile = 'model.gguf';
  if (v['model-file'] !== undefined) {
    if (pattern('model-file', v['model-file'], PATTERNS.modelFile)) modelFile = v['model-file'];
  } else if (urlName.endsWith('.gguf')) {
    // The served name comes from the URL; one the boot would refuse needs --model-file.
    if (PATTERNS.modelFile.re.test(urlName)) modelFile = urlName;
    else errors.push(`--model-url: its file name "${urlName}" is not ${PATTERNS.modelFile.what}; give --model-file NAME`);
  }

  let quantizeTo = '';
  if (v['quantize-to'] !== undefined) {
    const upper = v['quantize-to'].toUpperCase();
    const hint = upper !== v['quantize-to'] && PATTERNS.quantizeTo.re.test(upper) ? ` (did you mean ${upper}?)` : '';
    if (pattern('quantize-to', v['quantize-to'], PATTERNS.quantizeTo, hint)) quantizeTo = v['quantize-to'];
  }

  let generation: GravitonGeneration | undefined;
  const cpuinfoPath = v.cpuinfo !== undefined ? pathFlag('cpuinfo', v.cpuinfo, unreadableFile) : undefined;
  if (v.generation !== undefined) {
    if (Object.keys(GENERATIONS).includes(v.generation.trim())) generation = Number(v.generation) as GravitonGeneration;
    else errors.push(`--generation: got "${v.generation}"; expected one of ${Object.keys(GENERATIONS).join(', ')}`);
  } else if (arch === 'arm64' && cpuinfoPath !== '') {
    // On aarch64 the build flags are the CPU's generation: found now, not after the work directory is made.
    const file = cpuinfoPath ?? '/proc/cpuinfo';
    let cpuinfo = '';
    try {
      cpuinfo = readFileSync(file, 'utf8');
    } catch {
      // unreadableFile has said so for --cpuinfo; /proc/cpuinfo is always readable
    }
    generation = generationFromCpuinfo(cpuinfo);
    if (generation === undefined && cpuinfo !== '') {
      errors.push(`--generation: required here: ${file} names no Graviton core; expected one of ${Object.keys(GENERATIONS).join(', ')} to choose the build flags`);
    }
  }

  const llamaRef = v['llama-ref'] ?? LLAMA_CPP_DEFAULT_REF;
  const refOk = pattern('llama-ref', llamaRef, PATTERNS.llamaRef);
  const commitOk = v['llama-commit'] === undefined || pattern('llama-commit', v['llama-commit'], PATTERNS.llamaCommit);
  const llamaCommit = refOk && commitOk ? llamaCommitOf(llamaRef, v['llama-commit'], v['llama-src'] !== undefined, errors) : '';
  const llamaSrc = v['llama-src'] !== undefined ? pathFlag('llama-src', v['llama-src'], unusableSource) : undefined;
  // The boot takes a commit from a source directory with git: a tree without .git cannot give one.
  if (llamaSrc && llamaCommit && !unusableSource(llamaSrc) && !existsSync(path.join(llamaSrc, '.git'))) {
    errors.push(`--llama-src: ${v['llama-src']} is not a git repository, so the boot cannot take commit ${llamaCommit} (--llama-ref ${llamaRef}) from it; `
      + 'expected a git clone of llama.cpp that holds that commit');
  }

  // A key from the environment is written as it is; one of white space only would fail the boot after the build.
  if (v['api-key-file'] === undefined && env.GLLM_API_KEY !== undefined && env.GLLM_API_KEY !== '' && env.GLLM_API_KEY.trim() === '') {
    errors.push('$GLLM_API_KEY: got only white space; expected the API key, or leave it unset to generate one');
  }

  const healthTimeoutSeconds = numberFlag('health-timeout', v['health-timeout'], 300, LOCAL_BOOT_LIMITS.healthTimeoutSeconds, errors);
  const bootTimeoutSeconds = numberFlag('boot-timeout', v['boot-timeout'], 7200, LOCAL_BOOT_LIMITS.bootTimeoutSeconds, errors);
  // The boot stops at its deadline, so a longer health wait would be cut short without a word.
  if (healthTimeoutSeconds > bootTimeoutSeconds) {
    errors.push(`--health-timeout: got ${healthTimeoutSeconds}; expected at most --boot-timeout (${bootTimeoutSeconds})`);
  }

  const options: LocalBootOptions = {
    modelUrl,
    sha256: (v.sha256 ?? '').toLowerCase(),
    sizeBytes,
    workDir,
    // The default lies under --work-dir, whose check covers it.
    cacheDir: v['cache-dir'] === undefined ? path.join(workDir, 'cache') : pathFlag('cache-dir', v['cache-dir'], cacheDirCheck),
    ...(llamaSrc !== undefined ? { llamaSrc } : {}),
    llamaRef,
    llamaCommit,
    ...(v['api-key-file'] !== undefined ? { apiKeyFile: pathFlag('api-key-file', v['api-key-file'], (f) => unreadableFile(f) ?? emptyKeyFile(f)) } : {}),
    port: numberFlag('port', v.port, 8080, LOCAL_BOOT_LIMITS.port, errors),
    slots: numberFlag('slots', v.slots, 2, LOCAL_BOOT_LIMITS.slots, errors),
    ctxPerSlot: numberFlag('ctx-per-slot', v['ctx-per-slot'], 2048, LOCAL_BOOT_LIMITS.ctxPerSlot, errors),
    promptCacheMiB: numberFlag('prompt-cache-mib', v['prompt-cache-mib'], DEFAULT_LOCAL_PROMPT_CACHE_MIB, LOCAL_BOOT_LIMITS.promptCacheMiB, errors),
    healthTimeoutSeconds,
    bootTimeoutSeconds,
    modelFile,
    quantizeTo,
    generation,
    ...(cpuinfoPath !== undefined ? { cpuinfoPath } : {}),
  };
  return errors.length > 0 ? { errors } : { options };
}
