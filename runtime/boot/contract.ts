/**
 * The boot's configuration, defined once: the keys of the environment file
 * (/etc/graviton-llm/boot.env on an instance, <work dir>/boot.env locally),
 * the characters a value may hold, and the rule each value must meet. lib/
 * renders the file from these keys (lib/boot/boot-environment.ts); the boot
 * reads it back with parseBootEnvironment into a typed configuration.
 *
 * It accepts and refuses the files the bash boot of earlier versions did,
 * naming the same key first: test/runtime/boot/contract.test.ts's table holds
 * those verdicts.
 *
 * Pure: the caller reads the file.
 */

/** Every key the boot reads, with why it needs it (in the order the file is rendered). */
export const BOOT_ENV_KEYS = {
  GLLM_MODE: '`aws` on an instance; `local` on a developer machine (no IMDS, SSM, S3 or cfn-signal)',
  GLLM_INSTANCE_TYPE: 'the instance types the group may launch, comma-separated, the first its first choice: each of a generation of GLLM_GENERATION, so the CPU check (CPU part) picks the build for any of them and names them',
  GLLM_GENERATION: 'the Graviton generation numbers the group may launch, comma-separated, in the order of the types (the first is the first type\'s)',
  GLLM_CPU_PART: 'the /proc/cpuinfo CPU part of each generation, comma-separated, parallel to GLLM_GENERATION: the boot picks the generation its cores report, and a build is never run on another core',
  GLLM_ARM_ARCH: 'GGML_CPU_ARM_ARCH of each generation\'s llama.cpp build, comma-separated, parallel to GLLM_GENERATION',
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
 * Keys the boot accepts in `local` mode only (and rejects in `aws` mode):
 * each redirects something an instance takes from itself, so that the boot
 * runs unprivileged on a developer machine and in tests.
 */
export const LOCAL_BOOT_ENV_KEYS = {
  GLLM_WORK_DIR: 'directory holding the build, model, logs, key copy and pid file (instances use fixed system paths)',
  GLLM_LLAMA_CPP_SOURCE_DIR: 'llama.cpp source tree or git repository used instead of cloning GLLM_LLAMA_CPP_REPOSITORY',
  GLLM_API_KEY_FILE: 'file holding the API key (instances read GLLM_API_KEY_PARAMETER from SSM)',
  GLLM_CPUINFO_PATH: 'file read instead of /proc/cpuinfo by the CPU check (tests)',
} as const;

/**
 * Keys of an instance's role: the trusted builder's
 * (docs/design/trusted-builder.md), which a stack writes only where it runs
 * one, and the fleet's drain. Each may be absent, and absent means what a
 * stack without a builder, or without a drain, does. Accepted in `aws` mode only.
 */
export const ROLE_BOOT_ENV_KEYS = {
  GLLM_ROLE: '`fleet` (serves; the default) or `builder` (compiles, caches and reports the build and the model, then ends; serves nothing)',
  GLLM_PINS_FILE: 'fleet: the file holding the builder\'s report as the template carries it (the wait condition\'s data); the build and the model are then read by the versions it pins and checked against its SHA-256s; absent: the cache rules of a fleet without a builder',
  GLLM_BUILDER_SIGNAL_FILE: 'builder: the file holding the URL of the wait condition handle the report is sent to (not a value here: a presigned URL holds `&`, which a shell sourcing this file would take as the end of a command)',
  GLLM_TARGET_GROUP_ARN: 'fleet: the target group the instance serves in, which its drain watcher deregisters it from on a Spot interruption notice or a rebalance recommendation; absent: no drain watcher',
  GLLM_DRAIN_METRIC: 'fleet: the metric the drain watcher publishes in GLLM_METRIC_NAMESPACE on each drain (value 1, fleet dimension and Reason interruption or rebalance); absent or empty: none published',
} as const;

/** What an instance's boot is for: a fleet instance serves; a builder makes what the fleet runs. */
export type BootRole = 'fleet' | 'builder';

/** Which machine the boot runs on: an instance (`aws`) or a developer machine (`local`). */
export type BootMode = 'aws' | 'local';

export type BootEnvKey = keyof typeof BOOT_ENV_KEYS;
export type LocalBootEnvKey = keyof typeof LOCAL_BOOT_ENV_KEYS;
export type RoleBootEnvKey = keyof typeof ROLE_BOOT_ENV_KEYS;
/** The file's content as key -> value, before the rules: what lib/ renders. */
export type BootEnvironment = Record<BootEnvKey, string> & Partial<Record<LocalBootEnvKey | RoleBootEnvKey, string>>;

const REQUIRED_KEYS = Object.keys(BOOT_ENV_KEYS) as BootEnvKey[];
const LOCAL_KEYS = Object.keys(LOCAL_BOOT_ENV_KEYS) as LocalBootEnvKey[];
const ROLE_KEYS = Object.keys(ROLE_BOOT_ENV_KEYS) as RoleBootEnvKey[];

/** Characters that are inert in a shell word and in a systemd EnvironmentFile. */
export const SAFE_VALUE = /^[A-Za-z0-9_.,:/+@%=?&~\-]*$/;
const SAFE_VALUE_WORDS = 'only the characters A-Z a-z 0-9 _ . , : / + @ % = ? & ~ -';

/** One value rule: a pattern or a test, and what it allows in words (for the problem; of the value given, for a list's). */
interface ValueRule {
  readonly key: BootEnvKey | LocalBootEnvKey | RoleBootEnvKey;
  readonly test: (value: string) => boolean;
  readonly expected: string | ((value: string) => string);
}

const match = (key: ValueRule['key'], pattern: RegExp, expected: string): ValueRule => ({ key, test: (v) => pattern.test(v), expected });

/**
 * A comma list of one entry per generation (GLLM_GENERATION, GLLM_CPU_PART,
 * GLLM_ARM_ARCH), each entry under `test`. A value of one entry is named as
 * the single value always was; of several, the problem names the entry.
 */
function generationList(key: ValueRule['key'], test: (entry: string) => boolean, expected: string): ValueRule {
  return {
    key,
    test: (v) => v.split(',').every(test),
    expected: (v) => {
      const entries = v.split(',');
      if (entries.length === 1) return expected;
      const bad = entries.findIndex((e) => !test(e));
      return `comma-separated, one entry per generation, each ${expected}: entry ${bad + 1} (${JSON.stringify(entries[bad])}) is not`;
    },
  };
}

/**
 * A positive whole number as lib/ renders it: no leading zero (a reader may
 * take 010 as octal, 8, where llama-server reads 10) and at most 15 digits, so that it is exact as a JavaScript number.
 */
function positiveInteger(value: string): boolean {
  return /^[1-9][0-9]{0,14}$/.test(value);
}

/** A tag, branch or commit; a leading dash would turn it into an option of git. */
export const LLAMA_CPP_REF_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;
/** A plain file name ending in .gguf: no path, no leading dash (an option of curl or llama-server). */
export const MODEL_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*\.gguf$/;
/** A llama-quantize type like Q4_K_M. */
export const QUANTIZE_TYPE_PATTERN = /^[A-Z0-9][A-Z0-9_]*$/;

const SSM_NAME = /^[A-Za-z0-9_./-]+$/;
const OPTIONAL_SSM_NAME = /^([A-Za-z0-9_./-]+)?$/;
const COMMIT = /^[0-9a-f]{40}$/;
/** ELB's target group ARN (ELB service authorization reference, "Resource types defined by Elastic Load Balancing V2"). */
const TARGET_GROUP_ARN = /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;

/** Rules of `aws` mode, after the local-only keys are refused. */
const AWS_RULES: readonly ValueRule[] = [
  match('GLLM_CACHE_URI', /^s3:\/\/[a-z0-9.-]+(\/[A-Za-z0-9_.=/-]*)?$/, 'an s3:// URI'),
  match('GLLM_MODEL_SOURCE', /^(https|s3):\/\//, 'an https:// or s3:// URL'),
  match('GLLM_LLAMA_CPP_REPOSITORY', /^https:\/\//, 'an https:// URL'),
  match('GLLM_LLAMA_CPP_COMMIT', COMMIT, 'the 40-character commit the ref names'),
  match('GLLM_API_KEY_PARAMETER', SSM_NAME, 'an SSM parameter name'),
  match('GLLM_STACK_NAME', /^[A-Za-z][A-Za-z0-9-]*$/, 'a stack name'),
  match('GLLM_SIGNAL_RESOURCE', /^[A-Za-z0-9]+$/, 'a logical id'),
  match('GLLM_REGION', /^[a-z0-9-]+$/, 'a region'),
  // llama-server runs without capabilities, so it cannot bind below 1024.
  { key: 'GLLM_PORT', test: (v) => positiveInteger(v) && Number(v) >= 1024, expected: '1024 or more' },
  match('GLLM_ROLE', /^(fleet|builder)$/, 'fleet or builder'),
  match('GLLM_PINS_FILE', /^\/[A-Za-z0-9_.\/-]*$/, 'an absolute path'),
  match('GLLM_BUILDER_SIGNAL_FILE', /^\/[A-Za-z0-9_.\/-]*$/, 'an absolute path'),
  match('GLLM_TARGET_GROUP_ARN', TARGET_GROUP_ARN, 'a target group ARN (arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)'),
  match('GLLM_DRAIN_METRIC', /^([A-Za-z0-9_.-]+)?$/, 'empty or a metric name (letters, digits, _ . -)'),
];

/** Rules of `local` mode. */
const LOCAL_RULES: readonly ValueRule[] = [
  match('GLLM_WORK_DIR', /^\//, 'an absolute path'),
  match('GLLM_CACHE_URI', /^\//, 'an absolute directory path in local mode'),
  // Plain http is for a model server on the developer's own machine or LAN.
  match('GLLM_MODEL_SOURCE', /^https?:\/\//, 'an http:// or https:// URL in local mode'),
  match('GLLM_LLAMA_CPP_COMMIT', /^([0-9a-f]{40})?$/, 'empty or a 40-character commit'),
];

const POSITIVE_INTEGER = 'a positive integer (no leading zero, at most 15 digits)';

/** Rules of both modes, after the mode's own. */
const COMMON_RULES: readonly ValueRule[] = [
  ...(['GLLM_PORT', 'GLLM_PARALLEL_SLOTS', 'GLLM_CONTEXT_PER_SLOT', 'GLLM_HEALTH_TIMEOUT_SECONDS', 'GLLM_BOOT_DEADLINE_SECONDS', 'GLLM_MODEL_SIZE_BYTES'] as const)
    .map((key): ValueRule => ({ key, test: positiveInteger, expected: POSITIVE_INTEGER })),
  generationList('GLLM_GENERATION', positiveInteger, POSITIVE_INTEGER),
  { key: 'GLLM_PORT', test: (v) => Number(v) <= 65535, expected: 'at most 65535' },
  // 0 is a choice here: it turns the prompt cache off (an instance with nothing to spare).
  match('GLLM_PROMPT_CACHE_MIB', /^(0|[1-9][0-9]{0,6})$/, 'a whole number of MiB from 0 to 9999999'),
  match('GLLM_MODEL_SHA256', /^[0-9a-f]{64}$/, '64 lowercase hex digits'),
  generationList('GLLM_CPU_PART', (v) => /^0x[0-9a-f]+$/.test(v), 'a CPU part like 0xd40'),
  generationList('GLLM_ARM_ARCH', (v) => /^armv[0-9][A-Za-z0-9.+-]*$/.test(v), 'an -march value like armv8.4-a+sve'),
  match('GLLM_LLAMA_CPP_REF', LLAMA_CPP_REF_PATTERN, 'a tag, branch or commit'),
  match('GLLM_MODEL_FILE', MODEL_FILE_PATTERN, 'a plain file name ending in .gguf'),
  { key: 'GLLM_QUANTIZE_TO', test: (v) => v === '' || QUANTIZE_TYPE_PATTERN.test(v), expected: 'empty or a llama-quantize type like Q4_K_M' },
  match('GLLM_HF_TOKEN_PARAMETER', OPTIONAL_SSM_NAME, 'empty or an SSM parameter name'),
  match('GLLM_AGENT_CONFIG_PARAMETER', OPTIONAL_SSM_NAME, 'empty or an SSM parameter name'),
  match('GLLM_PROMETHEUS_CONFIG_PARAMETER', OPTIONAL_SSM_NAME, 'empty or an SSM parameter name'),
  match('GLLM_LIFECYCLE_HOOK', /^([A-Za-z0-9_/-]+(,[A-Za-z0-9_/-]+)*)?$/, 'empty or comma-separated lifecycle hook names'),
  match('GLLM_INSTANCE_TYPE', /^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$/, 'one or more instance type names, comma-separated, none empty'),
];

/**
 * What is wrong with the file, one problem per key (its first), in the order
 * they are checked: line by line, then the missing keys, then the mode's
 * rules, then the rest. `line` is set where a line itself is the problem.
 */
export interface BootEnvProblem {
  /** The key, or undefined for a line that is not KEY=value. */
  readonly key?: string;
  /** The 1-based line of the file, for problems of a line. */
  readonly line?: number;
  /** The value given, or undefined where the key is missing. */
  readonly given?: string;
  /** What the key (or line) must be, in words. */
  readonly expected: string;
}

/** One generation the group may launch: what the boot recognizes it by, and what its build is compiled for. */
export interface GenerationBuild {
  /** The Graviton generation number. */
  readonly generation: number;
  /** Its `CPU part`, `0x...`, as /proc/cpuinfo writes it. */
  readonly cpuPart: string;
  /** Its build's GGML_CPU_ARM_ARCH. */
  readonly armArch: string;
}

/** The three parallel lists as one list of generations (the parser has checked they are parallel). */
function generationsOf(generations: string, cpuParts: string, armArches: string): GenerationBuild[] {
  const parts = cpuParts.split(',');
  const arches = armArches.split(',');
  return generations.split(',').map((g, i) => ({ generation: Number(g), cpuPart: parts[i], armArch: arches[i] }));
}

/** The settings of both modes. */
interface BootConfigBase {
  /** GLLM_INSTANCE_TYPE: the group's types, its first choice first (one for a group of one type). */
  readonly instanceTypes: readonly string[];
  /** GLLM_GENERATION, GLLM_CPU_PART and GLLM_ARM_ARCH entry by entry: each generation the group may launch, the first type's first. */
  readonly generations: readonly GenerationBuild[];
  readonly llamaCppRepository: string;
  readonly llamaCppRef: string;
  /** 40 hex digits; empty in local mode for a source tree built as it is. */
  readonly llamaCppCommit: string;
  readonly cacheUri: string;
  readonly modelSource: string;
  readonly modelSha256: string;
  readonly modelSizeBytes: number;
  readonly modelFile: string;
  /** Empty: serve the source as it is. */
  readonly quantizeTo: string;
  /** Empty: no token. */
  readonly hfTokenParameter: string;
  readonly apiKeyParameter: string;
  readonly port: number;
  readonly parallelSlots: number;
  readonly contextPerSlot: number;
  /** 0 turns the prompt cache off. */
  readonly promptCacheMiB: number;
  readonly healthTimeoutSeconds: number;
  readonly bootDeadlineSeconds: number;
  readonly stackName: string;
  readonly signalResource: string;
  readonly region: string;
  readonly bootLogGroup: string;
  readonly serverLogGroup: string;
  /** Empty: ship the two logs only. */
  readonly agentConfigParameter: string;
  /** Empty: no Prometheus scrape. */
  readonly prometheusConfigParameter: string;
  readonly autoScalingGroup: string;
  /** The group's own hook first; none for an empty GLLM_LIFECYCLE_HOOK. */
  readonly lifecycleHooks: readonly string[];
  readonly metricNamespace: string;
  /** Empty: a failed boot publishes no metric. */
  readonly bootFailureMetric: string;
}

export interface AwsBootConfig extends BootConfigBase {
  readonly mode: Extract<BootMode, 'aws'>;
  /** GLLM_ROLE; fleet where absent. */
  readonly role: BootRole;
  /** GLLM_PINS_FILE (fleet only): where absent, the fleet takes what the cache rules choose. */
  readonly pinsFile?: string;
  /** GLLM_BUILDER_SIGNAL_FILE (builder only, and always set there). */
  readonly builderSignalFile?: string;
  /** GLLM_TARGET_GROUP_ARN (fleet only): where absent, no drain watcher runs. */
  readonly targetGroupArn?: string;
  /** GLLM_DRAIN_METRIC (fleet only): where absent or empty, a drain publishes no metric. */
  readonly drainMetric?: string;
}

export interface LocalBootConfig extends BootConfigBase {
  readonly mode: Extract<BootMode, 'local'>;
  readonly workDir: string;
  readonly llamaCppSourceDir?: string;
  readonly apiKeyFile: string;
  readonly cpuinfoPath?: string;
}

/** The boot's configuration, checked and typed. */
export type BootConfig = AwsBootConfig | LocalBootConfig;

export type BootEnvParse =
  | { readonly ok: true; readonly config: BootConfig }
  | { readonly ok: false; readonly problems: readonly BootEnvProblem[] };

/** The file's lines: split on newlines, a last line without one included. */
function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/**
 * Reads an environment file's text: KEY=value lines, blank lines and `#`
 * comments skipped. Returns the typed configuration, or every problem found.
 */
export function parseBootEnvironment(text: string): BootEnvParse {
  const problems: BootEnvProblem[] = [];
  const values = new Map<string, string>();
  // Keys with a problem already: each key is named once, by its first.
  const named = new Set<string>();
  const problem = (p: BootEnvProblem) => {
    if (p.key !== undefined) named.add(p.key);
    problems.push(p);
  };
  const lineOf = new Map<string, number>();
  lines(text).forEach((line, i) => {
    const n = i + 1;
    if (line === '' || line.startsWith('#')) return;
    // `s`: a carriage return is part of the value (and refused there), as in bash.
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/s.exec(line);
    if (!m) {
      problem({ line: n, given: line, expected: 'KEY=value, a blank line or a # comment' });
      return;
    }
    const [, key, value] = m;
    if (!(REQUIRED_KEYS as string[]).includes(key) && !(LOCAL_KEYS as string[]).includes(key) && !(ROLE_KEYS as string[]).includes(key)) {
      problem({ key, line: n, given: value, expected: 'one of the boot\'s keys' });
    } else if (lineOf.has(key)) {
      if (!named.has(key)) problem({ key, line: n, given: value, expected: `set once (first on line ${lineOf.get(key)})` });
    } else if (!SAFE_VALUE.test(value)) {
      lineOf.set(key, n);
      problem({ key, line: n, given: value, expected: SAFE_VALUE_WORDS });
    } else {
      lineOf.set(key, n);
      values.set(key, value);
    }
  });
  for (const key of REQUIRED_KEYS) {
    if (!lineOf.has(key)) problem({ key, expected: `set: ${BOOT_ENV_KEYS[key]}` });
  }
  const check = (rules: readonly ValueRule[]) => {
    for (const rule of rules) {
      const value = values.get(rule.key);
      if (value !== undefined && !named.has(rule.key) && !rule.test(value)) {
        problem({ key: rule.key, given: value, expected: typeof rule.expected === 'string' ? rule.expected : rule.expected(value) });
      }
    }
  };
  const mode = values.get('GLLM_MODE');
  if (mode === 'aws') {
    for (const key of LOCAL_KEYS) {
      if (lineOf.has(key) && !named.has(key)) problem({ key, given: values.get(key), expected: 'absent: accepted in local mode only' });
    }
    check(AWS_RULES);
    roleCombinationProblems(values, named).forEach(problem);
  } else if (mode === 'local') {
    // A local boot builds where it runs and serves what it built: it has no builder, and nothing pins it.
    for (const key of ROLE_KEYS) {
      if (lineOf.has(key) && !named.has(key)) problem({ key, given: values.get(key), expected: 'absent: accepted in aws mode only' });
    }
    const requireLocal = (key: LocalBootEnvKey) => {
      if (!lineOf.has(key)) problem({ key, expected: `set in local mode: ${LOCAL_BOOT_ENV_KEYS[key]}` });
    };
    requireLocal('GLLM_WORK_DIR');
    check(LOCAL_RULES);
    requireLocal('GLLM_API_KEY_FILE');
  } else if (mode !== undefined) {
    problem({ key: 'GLLM_MODE', given: mode, expected: 'aws or local' });
  }
  check(COMMON_RULES);
  generationListProblems(values, named).forEach(problem);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: toConfig(values) };
}

/**
 * The role keys that do not go together (aws mode, after each value's own
 * rule): a builder must have a handle to report to and is pinned by nothing;
 * a fleet instance reports to no handle.
 */
function roleCombinationProblems(values: ReadonlyMap<string, string>, named: ReadonlySet<string>): BootEnvProblem[] {
  if (named.has('GLLM_ROLE')) return [];
  const role = values.get('GLLM_ROLE') ?? 'fleet';
  const given = (key: RoleBootEnvKey) => (named.has(key) ? undefined : values.get(key));
  const found: BootEnvProblem[] = [];
  if (role === 'builder') {
    if (given('GLLM_PINS_FILE') !== undefined) found.push({ key: 'GLLM_PINS_FILE', given: given('GLLM_PINS_FILE'), expected: 'absent with GLLM_ROLE=builder: a builder makes the pins, nothing pins it' });
    if (given('GLLM_TARGET_GROUP_ARN') !== undefined) found.push({ key: 'GLLM_TARGET_GROUP_ARN', given: given('GLLM_TARGET_GROUP_ARN'), expected: 'absent with GLLM_ROLE=builder: a builder serves in no target group, so has nothing to drain' });
    if (given('GLLM_DRAIN_METRIC') !== undefined) found.push({ key: 'GLLM_DRAIN_METRIC', given: given('GLLM_DRAIN_METRIC'), expected: 'absent with GLLM_ROLE=builder: a builder runs no drain watcher, so has no drain to count' });
    if (!values.has('GLLM_BUILDER_SIGNAL_FILE') && !named.has('GLLM_BUILDER_SIGNAL_FILE')) found.push({ key: 'GLLM_BUILDER_SIGNAL_FILE', expected: `set with GLLM_ROLE=builder: ${ROLE_BOOT_ENV_KEYS.GLLM_BUILDER_SIGNAL_FILE}` });
  } else if (given('GLLM_BUILDER_SIGNAL_FILE') !== undefined) {
    found.push({ key: 'GLLM_BUILDER_SIGNAL_FILE', given: given('GLLM_BUILDER_SIGNAL_FILE'), expected: 'absent with GLLM_ROLE=fleet: only a builder reports to a wait condition' });
  }
  return found;
}

/**
 * The generation lists together (after each entry's own rule): one entry per
 * generation in each, no generation twice (the pins are keyed by it), and no
 * CPU part twice (the boot picks its generation by the part its cores report).
 */
function generationListProblems(values: ReadonlyMap<string, string>, named: ReadonlySet<string>): BootEnvProblem[] {
  const keys = ['GLLM_GENERATION', 'GLLM_CPU_PART', 'GLLM_ARM_ARCH'] as const;
  if (keys.some((k) => named.has(k) || !values.has(k))) return [];
  const [generations, parts, arches] = keys.map((k) => values.get(k)!.split(','));
  const found: BootEnvProblem[] = [];
  const lengthProblem = (key: typeof keys[number], list: string[]) => {
    if (list.length !== generations.length) {
      found.push({ key, given: values.get(key), expected: `${generations.length} comma-separated entries, one per generation of GLLM_GENERATION (${values.get('GLLM_GENERATION')}), in its order; ${list.length} given` });
    }
  };
  lengthProblem('GLLM_CPU_PART', parts);
  lengthProblem('GLLM_ARM_ARCH', arches);
  const twice = (list: string[]) => list.find((v, i) => list.indexOf(v) !== i);
  const generationTwice = twice(generations.map((g) => String(Number(g))));
  if (generationTwice !== undefined) {
    found.push({ key: 'GLLM_GENERATION', given: values.get('GLLM_GENERATION'), expected: `each generation once: ${generationTwice} is listed twice` });
  }
  const partTwice = twice(parts);
  if (partTwice !== undefined) {
    found.push({ key: 'GLLM_CPU_PART', given: values.get('GLLM_CPU_PART'), expected: `each CPU part once (the boot picks its generation by the part its cores report): ${partTwice} is listed twice` });
  }
  return found;
}

/** The checked values as the typed configuration. */
function toConfig(values: ReadonlyMap<string, string>): BootConfig {
  const get = (key: BootEnvKey | LocalBootEnvKey) => values.get(key) ?? '';
  const base: BootConfigBase = {
    instanceTypes: get('GLLM_INSTANCE_TYPE').split(','),
    generations: generationsOf(get('GLLM_GENERATION'), get('GLLM_CPU_PART'), get('GLLM_ARM_ARCH')),
    llamaCppRepository: get('GLLM_LLAMA_CPP_REPOSITORY'),
    llamaCppRef: get('GLLM_LLAMA_CPP_REF'),
    llamaCppCommit: get('GLLM_LLAMA_CPP_COMMIT'),
    cacheUri: get('GLLM_CACHE_URI'),
    modelSource: get('GLLM_MODEL_SOURCE'),
    modelSha256: get('GLLM_MODEL_SHA256'),
    modelSizeBytes: Number(get('GLLM_MODEL_SIZE_BYTES')),
    modelFile: get('GLLM_MODEL_FILE'),
    quantizeTo: get('GLLM_QUANTIZE_TO'),
    hfTokenParameter: get('GLLM_HF_TOKEN_PARAMETER'),
    apiKeyParameter: get('GLLM_API_KEY_PARAMETER'),
    port: Number(get('GLLM_PORT')),
    parallelSlots: Number(get('GLLM_PARALLEL_SLOTS')),
    contextPerSlot: Number(get('GLLM_CONTEXT_PER_SLOT')),
    promptCacheMiB: Number(get('GLLM_PROMPT_CACHE_MIB')),
    healthTimeoutSeconds: Number(get('GLLM_HEALTH_TIMEOUT_SECONDS')),
    bootDeadlineSeconds: Number(get('GLLM_BOOT_DEADLINE_SECONDS')),
    stackName: get('GLLM_STACK_NAME'),
    signalResource: get('GLLM_SIGNAL_RESOURCE'),
    region: get('GLLM_REGION'),
    bootLogGroup: get('GLLM_BOOT_LOG_GROUP'),
    serverLogGroup: get('GLLM_SERVER_LOG_GROUP'),
    agentConfigParameter: get('GLLM_AGENT_CONFIG_PARAMETER'),
    prometheusConfigParameter: get('GLLM_PROMETHEUS_CONFIG_PARAMETER'),
    autoScalingGroup: get('GLLM_AUTOSCALING_GROUP'),
    lifecycleHooks: get('GLLM_LIFECYCLE_HOOK').split(',').filter((hook) => hook !== ''),
    metricNamespace: get('GLLM_METRIC_NAMESPACE'),
    bootFailureMetric: get('GLLM_BOOT_FAILURE_METRIC'),
  };
  if (get('GLLM_MODE') === 'aws') {
    const role = values.get('GLLM_ROLE') === 'builder' ? 'builder' : 'fleet';
    return {
      mode: 'aws',
      ...base,
      role,
      ...(values.has('GLLM_PINS_FILE') ? { pinsFile: values.get('GLLM_PINS_FILE') } : {}),
      ...(values.has('GLLM_BUILDER_SIGNAL_FILE') ? { builderSignalFile: values.get('GLLM_BUILDER_SIGNAL_FILE') } : {}),
      ...(values.has('GLLM_TARGET_GROUP_ARN') ? { targetGroupArn: values.get('GLLM_TARGET_GROUP_ARN') } : {}),
      ...(values.get('GLLM_DRAIN_METRIC') ? { drainMetric: values.get('GLLM_DRAIN_METRIC') } : {}),
    };
  }
  return {
    mode: 'local',
    ...base,
    workDir: get('GLLM_WORK_DIR'),
    apiKeyFile: get('GLLM_API_KEY_FILE'),
    ...(values.has('GLLM_LLAMA_CPP_SOURCE_DIR') ? { llamaCppSourceDir: get('GLLM_LLAMA_CPP_SOURCE_DIR') } : {}),
    ...(values.has('GLLM_CPUINFO_PATH') ? { cpuinfoPath: get('GLLM_CPUINFO_PATH') } : {}),
  };
}
