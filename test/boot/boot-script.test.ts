/**
 * Fast checks of lib/boot/boot.sh that need no build: lint, the environment
 * file parser, the CPU check and the systemd unit. The functions are loaded
 * into a bash shell with `source` (the script boots only when executed).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { BOOT_ENV_KEYS, type BootEnvironment, LOCAL_BOOT_ENV_KEYS } from '../../runtime/boot/contract';
import { X86_BASELINE_CPU_FLAGS } from '../../runtime/boot/build/defines';
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import { rangeProblems } from '../../lib/constructs/prop-ranges';
import { QUANTIZED_CACHE_PREFIX } from '../../lib/constructs/artifact-store';
import { BOOT_RESULT_PATHS, BootResult, parseBootResult } from '../../runtime/boot/result';

const SCRIPT = path.resolve(__dirname, '..', '..', 'lib', 'boot', 'boot.sh');
const SHA = 'a'.repeat(64);

// Created at load time: describe blocks render environments that name it.
const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-boot-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function localEnv(overrides: Partial<BootEnvironment> = {}): BootEnvironment {
  // The same builder `npm run local` uses, so the tests exercise the environment users get.
  const env = localBootEnvironment({
    modelUrl: 'http://127.0.0.1:9/model.gguf',
    sha256: SHA,
    sizeBytes: 1234,
    workDir: path.join(dir, 'work'),
    cacheDir: path.join(dir, 'cache'),
    llamaRef: 'v0.5.0',
    llamaCommit: 'de3ff815ea7d559ee917f063901b8986f038abc6',
    port: 18080,
    slots: 2,
    ctxPerSlot: 2048,
    promptCacheMiB: 1024,
    healthTimeoutSeconds: 60,
    bootTimeoutSeconds: 3600,
    modelFile: 'model.gguf',
    quantizeTo: '',
    generation: 3,
  }, path.join(dir, 'key'));
  return { ...env, GLLM_INSTANCE_TYPE: 'c7g.xlarge', ...overrides };
}

function awsEnv(): BootEnvironment {
  const env: BootEnvironment = {
    ...localEnv(),
    GLLM_MODE: 'aws',
    GLLM_CACHE_URI: 's3://bucket/cache',
    GLLM_MODEL_SOURCE: 'https://example.com/model.gguf',
    GLLM_API_KEY_PARAMETER: '/graviton-llm/api-key',
    GLLM_STACK_NAME: 'Stack',
    GLLM_SIGNAL_RESOURCE: 'Group1234',
    GLLM_REGION: 'eu-west-1',
  };
  delete env.GLLM_WORK_DIR;
  delete env.GLLM_API_KEY_FILE;
  return env;
}

let n = 0;
function writeEnv(text: string): string {
  const file = path.join(dir, `boot-${n++}.env`);
  writeFileSync(file, text);
  return file;
}

/**
 * Stand-ins for the AWS CLI and for curl (the metadata service), first on
 * PATH in boot(): an aws-mode boot that fails still reports, and these answer
 * at once where a real call would be retried for a minute. Each call's
 * arguments are appended to stubs/calls.
 */
const stubs = path.join(dir, 'stubs');
spawnSync('sh', ['-c', [
  `mkdir -p ${stubs}`,
  `printf '#!/bin/sh\\necho "$(basename "$0") $*" >>${stubs}/calls\\n' >${stubs}/aws`,
  `printf '#!/bin/sh\\necho "$(basename "$0") $*" >>${stubs}/calls\\necho i-0stub\\n' >${stubs}/curl`,
  `chmod +x ${stubs}/aws ${stubs}/curl`,
].join(' && ')]);

/**
 * A file for one boot's result (GLLM_TEST_BOOT_RESULT_FILE): an aws-mode boot would write it to this
 * host's /var/lib/graviton-llm, and the tests' local boots share one work directory.
 */
function resultFile(): string {
  return path.join(dir, `result-${n++}.json`);
}

/** The result a boot wrote, parsed with the schema: a boot that wrote none, or a malformed one, fails the test. */
function readResult(file: string): BootResult {
  return parseBootResult(readFileSync(file, 'utf8'));
}

/** Runs the real entry point; parse failures stop it before anything else happens. */
function boot(envText: string) {
  const file = resultFile();
  const r = spawnSync('bash', [SCRIPT, writeEnv(envText)], {
    // In the test's directory: what a value that ran as a command would create lands there.
    cwd: dir,
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: `${stubs}:${process.env.PATH}`, GLLM_TEST_BOOT_RESULT_FILE: file },
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1], result: readResult(file) };
}

/**
 * Runs `body` in a shell that has sourced boot.sh and parsed `envText`; `wrap` is a command that runs
 * the shell (see withServiceUser).
 */
function withFunctions(envText: string, body: string, env: NodeJS.ProcessEnv = process.env, wrap: string[] = []) {
  const r = spawnSync(
    wrap[0] ?? 'bash',
    [...wrap.slice(1), ...(wrap.length ? ['bash'] : []), '-c', `source "$0"; exec 3>&1; parse_env "$1"; set_layout; ${body}`, SCRIPT, writeEnv(envText)],
    { encoding: 'utf8', timeout: 60_000, env },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

/**
 * The service user of an instance, for tests that run boot.sh's functions as root in aws mode: a
 * mount namespace whose /etc/passwd and /etc/group add `llama`, so the real setpriv, chown and tar
 * act as on an instance while the host's own user list is untouched. Undefined, with the reason in
 * `serviceUserSkip`, where this process is not root or cannot make a mount namespace.
 */
const serviceUserSkip = (() => {
  if (process.getuid?.() !== 0) return 'needs root (setpriv to the service user)';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return 'needs unshare -m (a mount namespace)';
  return '';
})();
/** A directory every user can traverse: the service user reads and writes below it. */
const open = mkdtempSync(path.join(os.tmpdir(), 'gllm-boot-open-'));
chmodSync(open, 0o755);
afterAll(() => rmSync(open, { recursive: true, force: true }));
const SERVICE_UID = 64123;
function serviceUserWrap(): string[] {
  const users = path.join(open, 'users');
  mkdirSync(users, { recursive: true });
  writeFileSync(path.join(users, 'passwd'), `${readFileSync('/etc/passwd', 'utf8')}llama:x:${SERVICE_UID}:${SERVICE_UID}::/nonexistent:/usr/sbin/nologin\n`);
  writeFileSync(path.join(users, 'group'), `${readFileSync('/etc/group', 'utf8')}llama:x:${SERVICE_UID}:\n`);
  return ['unshare', '-m', 'sh', '-c',
    `mount --bind ${users}/passwd /etc/passwd && mount --bind ${users}/group /etc/group && exec "$@"`, 'sh'];
}
function withServiceUser(envText: string, body: string, env: NodeJS.ProcessEnv = process.env) {
  return withFunctions(envText, body, env, serviceUserWrap());
}

/** One entry of a tarball made by makeTarball: a file unless `type` says otherwise. */
interface TarEntry {
  readonly name: string;
  readonly type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chardev';
  readonly mode?: number;
  readonly uid?: number;
  readonly content?: string;
  /** A link's target. */
  readonly target?: string;
}

/** Writes a .tar.gz holding exactly `entries` (Python's tarfile writes what GNU tar would refuse to make). */
function makeTarball(file: string, entries: TarEntry[]): string {
  const py = `
import io, json, sys, tarfile
types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE}
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as tar:
    for e in json.load(sys.stdin):
        info = tarfile.TarInfo(e["name"])
        info.type = types[e.get("type", "file")]
        info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
        info.uid = info.gid = e.get("uid", 0)
        info.linkname = e.get("target", "")
        if info.type == tarfile.CHRTYPE:
            info.devmajor, info.devminor = 1, 3
        data = e.get("content", "").encode()
        info.size = len(data) if info.type == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
`;
  const r = spawnSync('python3', ['-c', py, file], { input: JSON.stringify(entries), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`makeTarball: ${r.stderr}`);
  return file;
}

describe('boot.sh static checks', () => {
  test('shellcheck finds nothing at style level', () => {
    const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      console.log('skipped: shellcheck is not installed');
      return;
    }
    const r = spawnSync('shellcheck', ['-S', 'style', SCRIPT], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  test('every shellcheck disable carries a justification on the same line', () => {
    const disables = readFileSync(SCRIPT, 'utf8').split('\n').filter((l) => /shellcheck\s+disable/.test(l));
    for (const line of disables) expect(line).toMatch(/disable=\S+\s+#?\s*\S.{10,}/);
  });

  test('the allowlists in the script are the keys of the TypeScript contract', () => {
    const text = readFileSync(SCRIPT, 'utf8');
    const list = (name: string) => {
      const m = new RegExp(`readonly ${name}=\\(([^)]*)\\)`).exec(text);
      expect(m).not.toBeNull();
      return m![1].split(/\s+/).filter(Boolean);
    };
    expect(list('REQUIRED_KEYS')).toEqual(Object.keys(BOOT_ENV_KEYS));
    expect(list('LOCAL_KEYS')).toEqual(Object.keys(LOCAL_BOOT_ENV_KEYS));
  });

  test('the script never sources or evals its input', () => {
    const code = readFileSync(SCRIPT, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*#/.test(l));
    expect(code.filter((l) => /(^|[;&|]\s*)(eval|source|\.)\s/.test(l))).toEqual([]);
  });
});

describe('environment file parser', () => {
  const valid = renderBootEnvironment(localEnv());

  test('accepts the rendered local environment and an aws one', () => {
    expect(withFunctions(valid, 'echo "mode=${CFG[GLLM_MODE]} port=${CFG[GLLM_PORT]}"').out).toContain('mode=local port=18080');
    expect(withFunctions(renderBootEnvironment(awsEnv()), 'echo "mode=${CFG[GLLM_MODE]}"').out).toContain('mode=aws');
  });

  /** The failure of a boot stopped by its configuration. */
  const configFailure = (reason: RegExp) => ({ phase: 'config', reason: expect.stringMatching(reason) });

  test('rejects an unknown key, naming it', () => {
    const r = boot(`${valid}GLLM_SURPRISE=1\n`);
    expect(r.status).toBe(1);
    expect(r.result.failure).toEqual(configFailure(/unknown key GLLM_SURPRISE/));
    // The caller's last line carries the same reason.
    expect(r.last).toBe(`GLLM_BOOT_RESULT=FAILURE reason=${r.result.failure!.reason}`);
  });

  test('rejects a missing required key, naming it', () => {
    const r = boot(valid.replace(/^GLLM_MODEL_SHA256=.*\n/m, ''));
    expect(r.status).toBe(1);
    expect(r.result.failure).toEqual(configFailure(/required key GLLM_MODEL_SHA256 is missing/));
  });

  test.each([
    ['command substitution', 'x$(touch PWNED)'],
    ['a space', 'two words'],
    ['a double quote', 'a"b'],
    ['a single quote', "a'b"],
    ['a backtick', 'a`id`'],
  ])('rejects a value with %s, naming the key, without running it', (_what, value) => {
    const marker = path.join(dir, 'PWNED');
    const r = boot(valid.replace(/^GLLM_MODEL_FILE=.*$/m, `GLLM_MODEL_FILE=${value}`));
    expect(r.status).toBe(1);
    expect(r.result.failure).toEqual(configFailure(/GLLM_MODEL_FILE has characters outside/));
    expect(() => readFileSync(marker)).toThrow();
  });

  test('rejects a key set twice, and a line that is not KEY=value', () => {
    expect(boot(`${valid}GLLM_PORT=1\n`).result.failure).toEqual(configFailure(/GLLM_PORT is set twice/));
    const badLine = valid.trimEnd().split('\n').length + 1;
    expect(boot(`${valid}export FOO\n`).result.failure).toEqual(configFailure(new RegExp(`line ${badLine} is not KEY=value`)));
  });

  test('rejects local-only keys in aws mode (no cpuinfo or path override on an instance)', () => {
    const r = boot(`${renderBootEnvironment(awsEnv())}GLLM_CPUINFO_PATH=/tmp/fake\n`);
    expect(r.result).toMatchObject({ mode: 'aws', failure: configFailure(/GLLM_CPUINFO_PATH is accepted in local mode only/) });
    // Even a configuration failure is reported to the stack, in its region.
    expect(readFileSync(path.join(stubs, 'calls'), 'utf8')).toMatch(/^aws --cli-connect-timeout 10 --cli-read-timeout 30 cloudformation signal-resource --stack-name Stack .*--status FAILURE --region eu-west-1$/m);
    expect(r.result.report).toEqual({ lifecycleActions: [], signal: { status: 'FAILURE', outcome: 'sent' }, failureMetric: null });
    expect(r.result.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'failed'], ['report', 'ok']]);
    expect(() => renderBootEnvironment({ ...awsEnv(), GLLM_CPUINFO_PATH: '/tmp/x' })).toThrow(/only allowed with GLLM_MODE=local/);
  });

  test('accepts plain http model sources in local mode only', () => {
    const aws = renderBootEnvironment(awsEnv()).replace(/^GLLM_MODEL_SOURCE=.*$/m, 'GLLM_MODEL_SOURCE=http://example.com/m.gguf');
    expect(boot(aws).result.failure).toEqual(configFailure(/GLLM_MODEL_SOURCE must be an https:\/\/ or s3:\/\/ URL/));
  });

  test.each([
    ['GLLM_PORT', 'eighty', /GLLM_PORT must be a positive integer/],
    ['GLLM_MODEL_SHA256', 'ABC', /GLLM_MODEL_SHA256 must be 64 lowercase hex/],
    ['GLLM_LLAMA_CPP_REF', '--upload-pack=x', /GLLM_LLAMA_CPP_REF must be a tag/],
    ['GLLM_MODEL_FILE', '../etc/passwd.gguf', /GLLM_MODEL_FILE must be a plain file name/],
    ['GLLM_MODE', 'cloud', /GLLM_MODE must be aws or local/],
  ])('validates %s=%s', (key, value, message) => {
    const text = valid.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);
    expect(boot(text).result.failure).toEqual(configFailure(message));
  });
});

describe('the boot result (boot-result.json, runtime/boot/result.ts)', () => {
  test('a local boot stopped by its configuration writes it in its work directory\'s state, readable by its owner only', () => {
    const workDir = mkdtempSync(path.join(dir, 'result-work-'));
    const r = spawnSync('bash', [SCRIPT, writeEnv(`${renderBootEnvironment(localEnv({ GLLM_WORK_DIR: workDir }))}GLLM_SURPRISE=1\n`)], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    const file = BOOT_RESULT_PATHS.local(workDir);
    expect(readResult(file)).toMatchObject({ mode: 'local', failure: { phase: 'config' }, report: null });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Written through a temporary name, which the rename took away.
    expect(readdirSync(path.dirname(file))).toEqual(['boot-result.json']);
  });

  test('a boot that fails after its configuration lists the phases it ran, in order, the failed one last', () => {
    // A CPU that is neither the configured Graviton (no CPU part) nor ggml's x86 baseline (no flags).
    const cpuinfo = path.join(dir, 'cpuinfo-nothing');
    writeFileSync(cpuinfo, 'processor\t: 0\n');
    const workDir = mkdtempSync(path.join(dir, 'result-cpu-'));
    const env = renderBootEnvironment(localEnv({ GLLM_WORK_DIR: workDir, GLLM_CPUINFO_PATH: cpuinfo }));
    const r = spawnSync('bash', [SCRIPT, writeEnv(env)], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    const result = readResult(BOOT_RESULT_PATHS.local(workDir));
    expect(result.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'ok'], ['deps', 'ok'], ['cpu', 'failed']]);
    expect(result.failure).toEqual({ phase: 'cpu', reason: expect.stringMatching(/^(this x86_64 CPU lacks sse4_2|no 'CPU part' line in )/) });
    // Local mode's deadline counts from the boot's own start (GLLM_BOOT_DEADLINE_SECONDS=3600).
    expect(result.deadlineAtMs! - result.startedAtMs).toBeGreaterThanOrEqual(3600 * 1000);
    expect(result.deadlineAtMs! - result.endedAtMs).toBeLessThanOrEqual(3600 * 1000);
    expect(result).toMatchObject({ mode: 'local', build: null, model: null, cacheWrites: [], report: null });
  });

  /** Every character a failure reason can quote from a tool's output, and bytes that are not UTF-8. */
  const NASTY = 'q"uote b\\ack s/lash tab\t cr\r bell\x07 esc\x1b del\x7f \x01\x1f café ✓ 🦙 {"json":[1]}';

  test('a failure reason with quotes, backslashes, control characters and non-ASCII comes back whole through the schema', () => {
    const file = resultFile();
    const reasonFile = path.join(dir, 'nasty-reason');
    // A newline too, and a byte that is no UTF-8: both are bash's to handle.
    writeFileSync(reasonFile, Buffer.concat([Buffer.from(`${NASTY}\nsecond line `), Buffer.from([0xff, 0xfe]), Buffer.from(' end')]));
    const r = withFunctions(renderBootEnvironment(localEnv()), [
      `LOG_FILE=/dev/null; BOOT_STARTED_MS=$(now_ms); RESULT_STARTED_MS=$(now_ms); trap on_exit EXIT`,
      `phase_begin model; fail "$(<${reasonFile})"`,
    ].join('\n'), { ...process.env, GLLM_TEST_BOOT_RESULT_FILE: file });
    expect(r.status).toBe(1);
    // One line, as the log and the signal carry it; the bytes that are not UTF-8 dropped.
    expect(readResult(file).failure).toEqual({ phase: 'model', reason: `${NASTY} second line  end` });
  });

  test('json_string writes every character from U+0001 to U+007F, and non-ASCII, as JSON that parses back to it', () => {
    const all = String.fromCharCode(...Array.from({ length: 127 }, (_, i) => i + 1));
    const text = `${all}\n${NASTY}\n\n`;
    const input = path.join(dir, 'json-string-input');
    writeFileSync(input, text);
    // Read with the trailing newlines kept.
    const r = withFunctions(renderBootEnvironment(localEnv()), `s=$(cat ${input}; printf x); json_string "\${s%x}"`);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.out)).toBe(text);
  });
});

describe('CPU check', () => {
  const cpuinfo = (part: string) => {
    const file = path.join(dir, `cpuinfo-${part}`);
    const core = (i: number) =>
      `processor\t: ${i}\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve i8mm bf16\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: ${part}\nCPU revision\t: 1\n`;
    writeFileSync(file, `${core(0)}\n${core(1)}\n`);
    return file;
  };

  test('passes when the cores are the configured generation', () => {
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_CPUINFO_PATH: cpuinfo('0xd40') })), 'check_cpu_part && echo CHECKED');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/CPU part 0xd40 matches Graviton3/);
    expect(r.out).toContain('CHECKED');
  });

  test('fails on another generation, naming both parts', () => {
    // A Graviton3 build on Graviton2 (Neoverse N1) dies with SIGILL.
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_CPUINFO_PATH: cpuinfo('0xd0c') })), 'check_cpu_part && echo CHECKED');
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/CPU mismatch: c7g\.xlarge is configured as Graviton3 \(CPU part 0xd40\) but .* reports CPU part 0xd0c/);
    expect(r.out).not.toContain('CHECKED');
  });

  test('fails on a CPU without a CPU part line (x86)', () => {
    const file = path.join(dir, 'cpuinfo-x86');
    writeFileSync(file, 'processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 fma f16c bmi2\n');
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_CPUINFO_PATH: file })), 'check_cpu_part');
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/no 'CPU part' line/);
  });
});

describe('HTTP settings of the server', () => {
  test('the keep-alive compiled into llama-server outlasts every idle timeout the load balancer may be given', () => {
    const r = withFunctions(renderBootEnvironment(localEnv({})), 'MACHINE=x86_64; cmake_defines; printf "%s\\n" "${CMAKE_DEFINES[@]}"');
    expect(r.status).toBe(0);
    const define = /^-DCMAKE_CXX_FLAGS=-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=(\d+)$/m.exec(r.out);
    expect(define).not.toBeNull();
    const seconds = Number(define![1]);
    // The endpoint (and so the configuration) refuses any idle timeout this long or longer.
    const idle = (value: number) => rangeProblems([{ field: 'loadBalancerIdleTimeout', setting: 'loadBalancerIdleTimeoutSeconds', value, unit: 'seconds' }]);
    expect(idle(seconds)).not.toEqual([]);
    expect(idle(4000)).toEqual([]);
  });

  test('--threads-http gives every slot four connections, plus room for health checks, metrics and the canary', () => {
    const args = (slots: number) => withFunctions(
      renderBootEnvironment(localEnv({ GLLM_PARALLEL_SLOTS: String(slots) })),
      'LLAMA_SERVER=/bin/true; MODEL_PATH=/m.gguf; LOCK_ARGS=(); server_args /k 127.0.0.1; printf "%s\\n" "${SERVER_ARGS[@]}"',
    ).out.trimEnd().split('\n');
    for (const slots of [1, 4, 16]) {
      const a = args(slots);
      expect(Number(a[a.indexOf('--threads-http') + 1])).toBe(4 * slots + 8);
    }
  });
});

describe('prompt reuse settings of the server', () => {
  const args = (overrides: Partial<BootEnvironment>) => withFunctions(
    renderBootEnvironment(localEnv(overrides)),
    'LLAMA_SERVER=/bin/true; MODEL_PATH=/m.gguf; LOCK_ARGS=(); server_args /k 127.0.0.1; printf "%s\\n" "${SERVER_ARGS[@]}"',
  );
  const value = (out: string, flag: string) => {
    const a = out.trimEnd().split('\n');
    return a.includes(flag) ? a[a.indexOf(flag) + 1] : undefined;
  };

  test('--cache-ram carries GLLM_PROMPT_CACHE_MIB (MiB, 0 turning the cache off), next to slot selection by prompt similarity', () => {
    for (const mib of ['0', '245', '8192']) {
      const r = args({ GLLM_PROMPT_CACHE_MIB: mib });
      expect(r.status).toBe(0);
      expect(value(r.out, '--cache-ram')).toBe(mib);
      expect(value(r.out, '--slot-prompt-similarity')).toBe('0.10');
    }
  });

  test('the environment file parser refuses a prompt cache that is not a whole number of MiB, naming the key', () => {
    for (const bad of ['-1', 'lots', '1.5', '', '0245', '12345678']) {
      const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_PROMPT_CACHE_MIB: bad })), 'true');
      expect(r.status).not.toBe(0);
      expect(r.out).toContain('GLLM_PROMPT_CACHE_MIB');
    }
  });
});

describe('build cache key', () => {
  const key = (overrides: Partial<BootEnvironment>) =>
    withFunctions(
      renderBootEnvironment(localEnv(overrides)),
      'MACHINE=aarch64; pick_compiler; build_targets; cmake_defines; build_key_material | sha256sum',
    ).out;

  test('changes with the Arm flags, the commit and the targets, not with the model or the tag\'s name', () => {
    const base = key({});
    expect(key({ GLLM_MODEL_SHA256: 'b'.repeat(64) })).toBe(base);
    expect(key({ GLLM_ARM_ARCH: 'armv8.2-a+dotprod+fp16' })).not.toBe(base);
    expect(key({ GLLM_LLAMA_CPP_COMMIT: 'c'.repeat(40) })).not.toBe(base);
    // The commit is what is built: another name for it builds the same thing.
    expect(key({ GLLM_LLAMA_CPP_REF: 'b6500' })).toBe(base);
    expect(key({ GLLM_QUANTIZE_TO: 'Q4_0' })).not.toBe(base);
  });
});

/** A build's files as the kit packs them: a server that prints its version, and a manifest. */
const BUILD_FILES: TarEntry[] = [
  { name: './', type: 'dir' },
  { name: './bin/', type: 'dir' },
  { name: './bin/llama-server', mode: 0o755, content: '#!/bin/sh\necho "version: 1 ($(id -un))"\n' },
  { name: './manifest.txt', content: 'manifest\n' },
];

describe('a cached build is unpacked as the service user, and only plain files and directories inside its tree', () => {
  // tar on PATH notes who runs it and how, then runs the real one.
  const tarCalls = path.join(open, 'tar-calls');
  const tarStub = path.join(open, 'tar-stub');
  beforeAll(() => {
    mkdirSync(tarStub, { recursive: true, mode: 0o755 });
    writeFileSync(path.join(tarStub, 'tar'), `#!/bin/sh\necho "$(id -un) $*" >>${tarCalls}\nexec /usr/bin/tar "$@"\n`, { mode: 0o755 });
    // Written by root and by the service user.
    writeFileSync(tarCalls, '');
    chmodSync(tarCalls, 0o666);
  });

  function unpack(entries: TarEntry[]) {
    const t = mkdtempSync(path.join(open, 'unpack-'));
    chmodSync(t, 0o755);
    const tarball = makeTarball(path.join(t, 'build.tar.gz'), entries);
    const into = path.join(t, 'build');
    mkdirSync(into, { mode: 0o755 });
    // From a working directory the service user cannot read, as a root shell may have.
    const r = withServiceUser(renderBootEnvironment(awsEnv()),
      `LOG_FILE=${t}/boot.log; cd /root; if problem=$(extract_build ${tarball} ${into}); then echo UNPACKED; else echo "REFUSED: $problem"; fi`,
      { ...process.env, PATH: `${tarStub}:${process.env.PATH}` });
    return { ...r, t, into };
  }

  test('a plain build is unpacked by the service user, without the tarball\'s owners or modes, and then owned by root', () => {
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const r = unpack(BUILD_FILES.map((e) => ({ ...e, uid: 1234, mode: e.type === 'dir' ? 0o777 : e.mode === 0o755 ? 0o777 : 0o666 })));
    expect(r.out).toContain('UNPACKED');
    expect(readFileSync(tarCalls, 'utf8')).toContain(`llama -xzf - -C ${r.into} --no-same-owner --no-same-permissions`);
    const modes = Object.fromEntries(['.', 'bin', 'bin/llama-server', 'manifest.txt'].map((f) => {
      const st = statSync(path.join(r.into, f));
      return [f, `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`];
    }));
    // The server runs as the service user, which must not be able to change its programs.
    expect(modes).toEqual({ '.': '0:0 755', bin: '0:0 755', 'bin/llama-server': '0:0 755', 'manifest.txt': '0:0 644' });
  });

  test.each<[string, TarEntry, RegExp]>([
    ['a setuid program', { name: './bin/llama-server', mode: 0o4755, content: '#!/bin/sh\n' }, /llama-server with the setuid, setgid or sticky bit \(-rwsr-xr-x\)/],
    ['a setgid directory', { name: './lib/', type: 'dir', mode: 0o2755 }, /lib\/ with the setuid, setgid or sticky bit/],
    ['a symbolic link out of the tree', { name: './bin/llama-server', type: 'symlink', target: '/etc/passwd' }, /a symbolic link \(.*llama-server -> \/etc\/passwd\)/],
    ['a symbolic link inside the tree', { name: './bin/llama-quantize', type: 'symlink', target: 'llama-server' }, /a symbolic link/],
    ['a hard link', { name: './bin/shadow', type: 'hardlink', target: '/etc/shadow' }, /a hard link \(.*shadow link to \/etc\/shadow\)/],
    ['a device file', { name: './bin/mem', type: 'chardev', mode: 0o666 }, /a device file \(.*bin\/mem\)/],
    ['a path out of the tree', { name: '../escaped', content: 'x' }, /an entry named \.\.\/escaped, which is not a plain name inside the build tree/],
    ['an absolute path', { name: '/tmp/gllm-absolute-entry', content: 'x' }, /an entry named \/tmp\/gllm-absolute-entry/],
  ])('a tarball with %s is refused before anything is unpacked', (_what, entry, problem) => {
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const r = unpack([...BUILD_FILES, entry]);
    expect(r.out).toMatch(/REFUSED: /);
    expect(r.out).toMatch(problem);
    expect(readdirSync(r.into)).toEqual([]);
    expect(readdirSync(r.t)).not.toContain('escaped');
    expect(() => statSync('/tmp/gllm-absolute-entry')).toThrow();
  });
});

describe('the shared libraries a cached build loads', () => {
  /**
   * Stand-ins: ldd notes who runs it and reports `missing` as not found (as ldd prints a DT_NEEDED
   * entry the loader cannot find); dnf notes its arguments and installs nothing.
   */
  function libraryStubs(missing: string): { path: string; calls: string } {
    const t = mkdtempSync(path.join(open, 'libs-'));
    chmodSync(t, 0o755);
    const calls = path.join(t, 'calls');
    writeFileSync(calls, '');
    chmodSync(calls, 0o666);
    writeFileSync(path.join(t, 'ldd'), `#!/bin/sh\necho "ldd by $(id -un)" >>${calls}\nprintf '\\t%s => not found\\n' '${missing}'\n`, { mode: 0o755 });
    writeFileSync(path.join(t, 'dnf'), `#!/bin/sh\nfor a in "$@"; do echo "dnf arg [$a]"; done >>${calls}\nexit 1\n`, { mode: 0o755 });
    return { path: t, calls };
  }

  function ensureLibraries(missing: string) {
    const stubsHere = libraryStubs(missing);
    const build = path.join(stubsHere.path, 'build');
    mkdirSync(path.join(build, 'bin'), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(build, 'bin', 'llama-server'), '#!/bin/sh\n', { mode: 0o755 });
    const r = withServiceUser(renderBootEnvironment(awsEnv()), [
      `LOG_FILE=${stubsHere.path}/boot.log; LOG_DIR=${stubsHere.path}; build_targets`,
      `if problem=$(ensure_runtime_libraries ${build}); then echo "INSTALLED"; else echo "PROBLEM: $problem"; fi`,
      'echo STILL-RUNNING',
    ].join('\n'), { ...process.env, PATH: `${stubsHere.path}:${process.env.PATH}` });
    return { ...r, calls: readFileSync(stubsHere.calls, 'utf8') };
  }

  test('ldd runs as the service user; a library still missing after dnf is this version\'s problem, named, not the end of the boot', () => {
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const r = ensureLibraries('libgllmmissing.so.1');
    expect(r.calls).toMatch(/^ldd by llama$/m);
    expect(r.calls).not.toMatch(/^ldd by root$/m);
    // RPMs provide a soname: dnf is asked for it by name, after the end of its options.
    expect(r.calls).toContain('dnf arg [--]\ndnf arg [libgllmmissing.so.1()(64bit)]');
    expect(r.out).toContain('PROBLEM: it loads libgllmmissing.so.1, which this machine lacks and could not install');
    expect(r.out).toContain('STILL-RUNNING');
  });

  test('a library name that is no shared library\'s (a dnf option in DT_NEEDED) never reaches dnf', () => {
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const r = ensureLibraries('--repofrompath=evil,https:');
    expect(r.calls).not.toContain('repofrompath');
    expect(r.calls).not.toContain('dnf arg');
    expect(r.out).toContain('PROBLEM: it loads --repofrompath=evil\\,https:, which is not the name of a shared library');
    expect(r.out).toContain('STILL-RUNNING');
  });

  test('a cached build that loads a library this machine cannot get is discarded, to be compiled here, naming the library', () => {
    const t = mkdtempSync(path.join(dir, 'missing-lib-'));
    const stubsHere = libraryStubs('libgllmmissing.so.1');
    const cache = path.join(t, 'cache');
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_CACHE_URI: cache })), [
      `LOG_FILE=${t}/boot.log; LOG_DIR=${t}; MACHINE=x86_64; build_targets; cmake_defines; material=$(build_key_material)`,
      `mkdir -p ${t}/src/bin ${cache}/builds ${t}/into; printf '%s\\n' "$material" >${t}/src/manifest.txt`,
      `printf '#!/bin/sh\\necho version: 1\\n' >${t}/src/bin/llama-server; chmod 0755 ${t}/src/bin/llama-server`,
      `tar -czf ${cache}/builds/k.tar.gz -C ${t}/src .`,
      `if fetch_cached_build k ${t}/into "$material" ${t}/k.tar.gz; then echo HIT; else echo "MISS"; fi`,
    ].join('\n'), { ...process.env, PATH: `${stubsHere.path}:${process.env.PATH}` });
    expect(r.out).toMatch(/build: discarding cached builds\/k\.tar\.gz: it loads libgllmmissing\.so\.1, which this machine lacks and could not install/);
    expect(r.out).toContain('MISS');
    expect(readdirSync(path.join(t, 'into'))).toEqual([]);
  });
});

describe('quantizing on the instance', () => {
  test('llama-quantize, a build program, runs as the service user; root owns the model it made, which the service user may only read', () => {
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const t = mkdtempSync(path.join(open, 'quantize-'));
    chmodSync(t, 0o755);
    for (const d of ['state', 'models', 'logs', 'build/bin']) mkdirSync(path.join(t, d), { recursive: true, mode: 0o755 });
    writeFileSync(path.join(t, 'models', 'source.gguf'), 'f16 weights');
    // Writes its output as llama-quantize does, and who ran it.
    writeFileSync(path.join(t, 'build', 'bin', 'llama-quantize'), '#!/bin/sh\n{ id -un; cat "$1"; } >"$2"\n', { mode: 0o755 });
    const r = withServiceUser(renderBootEnvironment({ ...awsEnv(), GLLM_QUANTIZE_TO: 'Q4_0' }), [
      `LOG_FILE=${t}/logs/boot.log; LOG_DIR=${t}/logs; STATE_DIR=${t}/state; MODEL_DIR=${t}/models; BUILD_DIR=${t}/build`,
      'MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}',
      'quantize_model $MODEL_DIR/source.gguf if-absent && echo QUANTIZED',
    ].join('\n'), { ...process.env, PATH: `${stubs}:${process.env.PATH}` });
    expect(r.out).toContain('QUANTIZED');
    const model = path.join(t, 'models', 'model.gguf');
    expect(readFileSync(model, 'utf8')).toBe('llama\nf16 weights');
    const st = statSync(model);
    expect(`${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`).toBe('0:0 644');
    expect(readdirSync(path.join(t, 'state'))).toEqual([]);
  });
});

// That boot.sh's cmake_defines is kitCmakeDefines is test/runtime/boot/build/key.bash.test.ts's table.
describe('the x86_64 baseline the kit\'s build compiles for', () => {
  test('boot.sh checks an x86_64 CPU for X86_BASELINE_CPU_FLAGS, and names the one missing', () => {
    expect(withFunctions(renderBootEnvironment(localEnv()), 'printf "%s\\n" "${X86_BASELINE_FLAGS[@]}"').out.trimEnd().split('\n'))
      .toEqual([...X86_BASELINE_CPU_FLAGS]);
    for (const missing of X86_BASELINE_CPU_FLAGS) {
      const file = path.join(dir, `cpuinfo-x86-without-${missing}`);
      writeFileSync(file, `processor\t: 0\nflags\t\t: fpu ${X86_BASELINE_CPU_FLAGS.filter((f) => f !== missing).join(' ')}\n`);
      const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_CPUINFO_PATH: file })), 'check_x86_baseline && echo CHECKED');
      expect(r.status).toBe(1);
      expect(r.out).toContain(`this x86_64 CPU lacks ${missing},`);
    }
    const all = path.join(dir, 'cpuinfo-x86-baseline');
    writeFileSync(all, `processor\t: 0\nflags\t\t: fpu ${X86_BASELINE_CPU_FLAGS.join(' ')}\n`);
    expect(withFunctions(renderBootEnvironment(localEnv({ GLLM_CPUINFO_PATH: all })), 'check_x86_baseline && echo CHECKED').out).toContain('CHECKED');
  });
});

describe('systemd unit (aws mode)', () => {
  const unit = () =>
    withFunctions(
      renderBootEnvironment(awsEnv()),
      'MODEL_PATH=$MODEL_DIR/model.gguf; BUILD_DIR=/opt/graviton-llm/llama.cpp/k; LLAMA_SERVER=$BUILD_DIR/bin/llama-server; service_unit',
    );

  test('is hardened and runs llama-server with the key from a systemd credential', () => {
    const r = unit();
    expect(r.status).toBe(0);
    for (const line of [
      'User=llama',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'AmbientCapabilities=',
      'CapabilityBoundingSet=',
      'Restart=on-failure',
      'LimitMEMLOCK=infinity',
      'ReadOnlyPaths=/opt/graviton-llm/llama.cpp/k /var/lib/graviton-llm/models',
      'LoadCredential=api-key:/etc/graviton-llm/api-key',
    ]) {
      expect(r.out.split('\n')).toContain(line);
    }
    // Whether llama-server accepts this line is proven by running it (test/integration/server-args.test.ts)
    // and by systemd starting it in the instance box (test/integration/instance-box.test.ts).
    expect(r.out).toMatch(/^ExecStart=\/opt\/graviton-llm\/llama.cpp\/k\/bin\/llama-server .*--api-key-file %d\/api-key /m);
  });

  test('passes systemd-analyze verify where available', () => {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      console.log('skipped: systemd-analyze is not installed');
      return;
    }
    const unitDir = path.join(dir, 'units');
    const text = unit().out.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true');
    spawnSync('mkdir', ['-p', unitDir]);
    const file = path.join(unitDir, 'graviton-llm.service');
    writeFileSync(file, text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    // Only complaints about this unit count; a container without a running
    // systemd adds noise about other units and the manager itself.
    const ours = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('graviton-llm.service') && !/User=llama|llama.*not found|Failed to/.test(l));
    expect(ours).toEqual([]);
  });
});

describe('retries and the boot deadline', () => {
  // A command that fails until its Nth call: the counter lives in a file, as retry runs it in the same shell.
  const flaky = (t: string, failures: number) =>
    `flaky() { local n; n=$(( $(cat ${t}/calls 2>/dev/null || echo 0) + 1 )); echo $n >${t}/calls; ((n > ${failures})); }`;

  test('a failing call is retried with growing, jittered delays until it succeeds', () => {
    const t = mkdtempSync(path.join(dir, 'retry-'));
    const r = withFunctions(renderBootEnvironment(localEnv()), [
      `LOG_FILE=${t}/boot.log; BOOT_STARTED_MS=$(now_ms)`, flaky(t, 2),
      'retry "the flaky call" flaky && echo "RESULT=ok after $(<' + t + '/calls) calls"',
    ].join('\n'));
    expect(r.out).toContain('RESULT=ok after 3 calls');
    const delays = [...r.out.matchAll(/the flaky call failed \(exit 1\); try (\d)\/6 in ([\d.]+) s/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(delays.map((d) => d[0])).toEqual([2, 3]);
    // Equal jitter: the first wait is 0.5 to 1 s, the second 1 to 2 s.
    expect(delays[0][1]).toBeGreaterThanOrEqual(0.5);
    expect(delays[0][1]).toBeLessThanOrEqual(1);
    expect(delays[1][1]).toBeGreaterThanOrEqual(1);
    expect(delays[1][1]).toBeLessThanOrEqual(2);
  }, 30_000);

  test('the delays double up to 20 s, each between half and all of its step', () => {
    const r = withFunctions(renderBootEnvironment(localEnv()),
      'for n in 1 2 3 4 5 6 7; do xs=$(for i in $(seq 200); do retry_delay_ms $n; done | sort -n); echo "$(head -n 1 <<<"$xs") $(tail -n 1 <<<"$xs")"; done');
    expect(r.status).toBe(0);
    const ranges = r.out.trim().split('\n').map((l) => l.trim().split(' ').map(Number));
    const steps = [1000, 2000, 4000, 8000, 16000, 20000, 20000];
    ranges.forEach(([min, max], i) => {
      expect(min).toBeGreaterThanOrEqual(steps[i] / 2);
      expect(max).toBeLessThanOrEqual(steps[i]);
    });
  });

  test('no retry sleeps past the deadline, and a final answer is not retried', () => {
    const t = mkdtempSync(path.join(dir, 'retry-stop-'));
    const late = withFunctions(renderBootEnvironment(localEnv()), [
      `LOG_FILE=${t}/boot.log`, flaky(t, 10),
      // Started an hour ago with a one-hour deadline: no time for a second try.
      'CFG[GLLM_BOOT_DEADLINE_SECONDS]=3600; BOOT_STARTED_MS=$(( $(now_ms) - 3600000 + 500 ))',
      'retry "the late call" flaky || echo "STATUS=$? CALLS=$(<' + t + '/calls)"',
    ].join('\n'));
    expect(late.out).toContain('the late call failed (exit 1); no time left for another try');
    expect(late.out).toContain('STATUS=1 CALLS=1');

    const final = withFunctions(renderBootEnvironment(localEnv()), [
      `LOG_FILE=${t}/final.log; BOOT_STARTED_MS=$(now_ms)`,
      'answer() { return "$NO_RETRY"; }',
      'retry "the answered call" answer || echo "STATUS=$?"',
    ].join('\n'));
    expect(final.out).toContain('STATUS=75');
    expect(final.out).not.toContain('try 2/6');
  });

  test('a step that starts after the deadline fails the boot, naming the deadline and the step', () => {
    const file = resultFile();
    // As main runs a boot: the result noted from its start, written by the exit trap.
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_BOOT_DEADLINE_SECONDS: '60' })), [
      'LOG_FILE=/dev/null; BOOT_STARTED_MS=$(( $(now_ms) - 61000 )); RESULT_STARTED_MS=$(now_ms); trap on_exit EXIT',
      'step model true; echo NOT-REACHED',
    ].join('\n'), { ...process.env, GLLM_TEST_BOOT_RESULT_FILE: file });
    expect(r.status).toBe(1);
    expect(r.out).not.toContain('NOT-REACHED');
    expect(readResult(file).failure).toEqual({ phase: 'model', reason: 'boot deadline of 60 s passed before step model' });
  });

  test('a long command gets only the time the boot has left', () => {
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_BOOT_DEADLINE_SECONDS: '60' })), [
      'BOOT_STARTED_MS=$(( $(now_ms) - 58000 )); start=$(now_ms)',
      'within_deadline sleep 30 || echo "STATUS=$? TOOK=$(( ($(now_ms) - start) / 1000 ))"',
    ].join('\n'));
    expect(r.out).toMatch(/STATUS=124 TOOK=[12]\b/);
  });
});

describe('every long step is bounded by the deadline', () => {
  // Stand-ins that hang: what a stalled connection, a wedged package manager or a slow disk does.
  const hang = mkdtempSync(path.join(dir, 'hang-'));
  for (const tool of ['aws', 'sha256sum']) {
    writeFileSync(path.join(hang, tool), `#!/bin/sh\necho "$*" >>${hang}/${tool}.calls\nexec sleep 600\n`, { mode: 0o755 });
  }
  const hangEnv = { ...process.env, PATH: `${hang}:${process.env.PATH}` };
  const timed = (env: BootEnvironment, body: string) => {
    const started = Date.now();
    const r = withFunctions(renderBootEnvironment(env), body, hangEnv);
    return { ...r, seconds: (Date.now() - started) / 1000 };
  };

  test('an AWS CLI call ends at the deadline, and each request is bounded (connect 10 s, silence 30 s)', () => {
    const r = timed(awsEnv(), `LOG_FILE=/dev/null; CFG[GLLM_BOOT_DEADLINE_SECONDS]=60; BOOT_STARTED_MS=$(( $(now_ms) - 58000 ))
      aws_cli s3 ls s3://bucket || echo "STATUS=$?"`);
    expect(r.out).toContain('STATUS=124');
    expect(r.seconds).toBeLessThan(15);
    expect(readFileSync(path.join(hang, 'aws.calls'), 'utf8')).toContain('--cli-connect-timeout 10 --cli-read-timeout 30 s3 ls s3://bucket');
  }, 30_000);

  test('reporting runs on past the deadline, for its grace only', () => {
    const r = timed(awsEnv(), `CFG[GLLM_BOOT_DEADLINE_SECONDS]=60; BOOT_STARTED_MS=$(( $(now_ms) - 120000 ))
      within_deadline true || echo "AFTER-DEADLINE=$?"
      RETRY_UNTIL_MS=$(( $(now_ms) + 5000 )); within_deadline true && echo "IN-GRACE=0"
      RETRY_UNTIL_MS=$(( $(now_ms) - 1 )); within_deadline true || echo "AFTER-GRACE=$?"`);
    expect(r.out).toContain('AFTER-DEADLINE=124');
    expect(r.out).toContain('IN-GRACE=0');
    expect(r.out).toContain('AFTER-GRACE=124');
  });

  test('a model\'s SHA-256 ends at the deadline, and the boot says so', () => {
    const t = mkdtempSync(path.join(dir, 'sha-'));
    writeFileSync(path.join(t, 'model.gguf'), 'x'.repeat(1234));
    const r = timed(localEnv(), `LOG_FILE=/dev/null; CFG[GLLM_BOOT_DEADLINE_SECONDS]=60; BOOT_STARTED_MS=$(( $(now_ms) - 58000 ))
      verify_model ${t}/model.gguf https://example.com/model.gguf; echo NOT-REACHED`);
    expect(r.status).toBe(1);
    expect(r.out).toContain('model from https://example.com/model.gguf: its SHA-256 did not finish within the boot deadline of 60 s');
    expect(r.out).not.toContain('NOT-REACHED');
    expect(r.seconds).toBeLessThan(15);
  }, 30_000);

  test('llama-quantize ends at the deadline, and the boot says so', () => {
    const t = mkdtempSync(path.join(dir, 'quantize-slow-'));
    for (const d of ['state', 'models', 'logs', 'build/bin']) mkdirSync(path.join(t, d), { recursive: true });
    writeFileSync(path.join(t, 'models', 'source.gguf'), 'f16 weights');
    writeFileSync(path.join(t, 'build', 'bin', 'llama-quantize'), '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
    const r = timed(localEnv({ GLLM_QUANTIZE_TO: 'Q4_0' }), [
      `LOG_FILE=${t}/logs/boot.log; LOG_DIR=${t}/logs; STATE_DIR=${t}/state; MODEL_DIR=${t}/models; BUILD_DIR=${t}/build`,
      'MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}',
      'CFG[GLLM_BOOT_DEADLINE_SECONDS]=60; BOOT_STARTED_MS=$(( $(now_ms) - 58000 ))',
      'quantize_model $MODEL_DIR/source.gguf if-absent; echo NOT-REACHED',
    ].join('\n'));
    expect(r.status).toBe(1);
    expect(r.out).toContain('llama-quantize to Q4_0 did not finish within the boot deadline of 60 s');
    expect(r.out).not.toContain('NOT-REACHED');
    expect(r.seconds).toBeLessThan(15);
  }, 30_000);
});

describe('the deadline counts from the machine\'s start on an instance', () => {
  // PID 1's start as ps reports it (whole seconds): an independent reading of what the boot derives
  // from /proc/stat's btime and /proc/1/stat's start time.
  const initStartMs = () => Number(spawnSync('bash', ['-c', 'date -d "$(ps -o lstart= -p 1)" +%s'], { encoding: 'utf8' }).stdout.trim()) * 1000;
  const origin = (env: BootEnvironment) => {
    const r = withFunctions(renderBootEnvironment(env), 'echo "ORIGIN=$(deadline_origin_ms) NOW=$(now_ms)"');
    const m = /ORIGIN=(\d+) NOW=(\d+)/.exec(r.out)!;
    return { origin: Number(m[1]), now: Number(m[2]) };
  };

  test('aws mode: from init\'s start, which the launch hook\'s timer precedes (so the time the user data took counts)', () => {
    const { origin: o } = origin({ ...awsEnv(), GLLM_BOOT_DEADLINE_SECONDS: '999999999' });
    expect(Math.abs(o - initStartMs())).toBeLessThanOrEqual(2000);
  });

  test('aws mode, a whole deadline after init (a re-run by hand: no launch waits on it): from its own start', () => {
    const { origin: o, now } = origin({ ...awsEnv(), GLLM_BOOT_DEADLINE_SECONDS: '1' });
    expect(initStartMs()).toBeLessThan(now - 2000);
    expect(now - o).toBeLessThan(1000);
  });

  test('local mode: from the boot\'s own start', () => {
    const { origin: o, now } = origin({ ...localEnv(), GLLM_BOOT_DEADLINE_SECONDS: '999999999' });
    expect(now - o).toBeLessThan(1000);
  });
});

describe('lifecycle actions', () => {
  // An AWS CLI that takes the action on the hooks named in $OK_HOOKS and refuses the others with
  // AWS's ValidationError, recording every call; IMDS (curl) answers the instance id.
  const cli = mkdtempSync(path.join(dir, 'lifecycle-'));
  writeFileSync(path.join(cli, 'aws'), [
    '#!/bin/bash',
    `echo "$*" >>${cli}/calls`,
    'hook=""; while (($#)); do [[ $1 == --lifecycle-hook-name ]] && hook=$2; shift; done',
    '[[ ",$OK_HOOKS," == *",$hook,"* ]] && exit 0',
    'echo "An error occurred (ValidationError) when calling the CompleteLifecycleAction operation: No active Lifecycle Action found with instance ID i-0stub" >&2',
    'exit 254',
  ].join('\n'), { mode: 0o755 });
  writeFileSync(path.join(cli, 'curl'), '#!/bin/sh\necho i-0stub\n', { mode: 0o755 });
  const complete = (okHooks: string, status = 'SUCCESS') => {
    rmSync(path.join(cli, 'calls'), { force: true });
    const env = { ...awsEnv(), GLLM_LIFECYCLE_HOOK: 'graviton-llm-launch,graviton-llm-boot' };
    const r = withFunctions(renderBootEnvironment(env), `LOG_FILE=${cli}/boot.log; BOOT_STARTED_MS=$(now_ms); complete_lifecycle_action ${status}`,
      { ...process.env, PATH: `${cli}:${process.env.PATH}`, OK_HOOKS: okHooks });
    return { ...r, calls: readFileSync(path.join(cli, 'calls'), 'utf8').trim().split('\n') };
  };

  test('completes the group\'s hook, then the hooks of earlier kit versions, each once', () => {
    const r = complete('graviton-llm-launch,graviton-llm-boot');
    expect(r.calls.map((c) => /--lifecycle-hook-name (\S+)/.exec(c)![1])).toEqual(['graviton-llm-launch', 'graviton-llm-boot']);
    expect(r.calls.every((c) => c.includes('--lifecycle-action-result CONTINUE') && c.includes('--instance-id i-0stub'))).toBe(true);
    expect(r.out).toContain('lifecycle action graviton-llm-launch completed with CONTINUE');
    expect(r.out).toContain('lifecycle action graviton-llm-boot completed with CONTINUE');
  });

  test('a hook of an earlier version that AWS refuses is final and no warning; a failed boot abandons', () => {
    const r = complete('graviton-llm-launch', 'FAILURE');
    expect(r.calls).toHaveLength(2);
    expect(r.calls.every((c) => c.includes('--lifecycle-action-result ABANDON'))).toBe(true);
    expect(r.out).toContain('lifecycle hook graviton-llm-boot of an earlier kit version holds no action for this instance');
    expect(r.out).not.toContain('WARNING');
  });

  test('the group\'s own hook refused (a reboot of a serving instance): one call, a warning, the boot goes on', () => {
    const r = complete('');
    expect(r.status).toBe(0);
    expect(r.calls).toHaveLength(2);
    expect(r.out).toContain('WARNING: could not complete lifecycle action graviton-llm-launch with CONTINUE');
    expect(r.out).not.toContain('try 2/6');
  });

  test('the environment file refuses a hook list that is not names and commas, naming the key', () => {
    const r = boot(renderBootEnvironment({ ...awsEnv(), GLLM_LIFECYCLE_HOOK: 'graviton-llm-launch,,x' }));
    expect(r.result.failure).toEqual({ phase: 'config', reason: expect.stringContaining('GLLM_LIFECYCLE_HOOK must be empty or comma-separated lifecycle hook names') });
  });
});

describe('local-boot.ts', () => {
  test('renders an environment the script accepts', () => {
    // A git repository (as far as the flags' check looks: it has .git) to take the release's commit from.
    const src = path.join(dir, 'llama-src');
    mkdirSync(path.join(src, '.git'), { recursive: true });
    const parsed = parseLocalBootArgs(
      ['--model-url', 'http://127.0.0.1:8000/tiny.gguf', '--sha256', SHA, '--size-bytes', '42', '--work-dir', path.join(dir, 'lw'), '--llama-src', src],
      dir,
    );
    if (!('options' in parsed)) throw new Error(`unexpected ${JSON.stringify(parsed)}`);
    const opts = parsed.options;
    const env = localBootEnvironment(opts, path.join(dir, 'key'));
    expect(env.GLLM_MODEL_FILE).toBe('tiny.gguf');
    expect(env.GLLM_CACHE_URI).toBe(path.join(dir, 'lw', 'cache'));
    const r = withFunctions(renderBootEnvironment(env), 'echo "src=${CFG[GLLM_LLAMA_CPP_SOURCE_DIR]} model=${CFG[GLLM_MODEL_SOURCE]}"');
    expect(r.status).toBe(0);
    expect(r.out).toContain(`src=${src} model=http://127.0.0.1:8000/tiny.gguf`);
  });
});

/**
 * The aws-mode cache and key functions against moto_server's S3 and SSM (no
 * AWS account): the same `aws` CLI calls an instance makes, pointed at a
 * local endpoint with AWS_ENDPOINT_URL.
 */
describe('aws mode against moto_server', () => {
  let moto: ChildProcess | undefined;
  let skip = '';
  let awsEnvVars: NodeJS.ProcessEnv;
  const KEY = 'moto-api-key-0123456789';
  const VERSIONED = 'gllm-versioned';

  beforeAll(async () => {
    for (const tool of ['moto_server', 'aws']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) skip = `${tool} is not installed`;
    }
    if (skip) return;
    const port = 20000 + Math.floor(Math.random() * 20000);
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    awsEnvVars = {
      ...process.env,
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_DEFAULT_REGION: 'eu-west-1',
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await fetch(`http://127.0.0.1:${port}/`);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error('moto_server did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const aws = (...args: string[]) => {
      const r = spawnSync('aws', args, { env: awsEnvVars, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`aws ${args.join(' ')}: ${r.stderr}`);
    };
    aws('s3', 'mb', 's3://gllm-cache');
    // As the kit's artifact bucket is.
    aws('s3', 'mb', `s3://${VERSIONED}`);
    aws('s3api', 'put-bucket-versioning', '--bucket', VERSIONED, '--versioning-configuration', 'Status=Enabled');
    aws('ssm', 'put-parameter', '--name', '/graviton-llm/api-key', '--type', 'SecureString', '--value', KEY);
    aws('ssm', 'put-parameter', '--name', '/graviton-llm/agent', '--type', 'String', '--value', '{"logs":{}}');
  }, 60_000);

  afterAll(() => {
    moto?.kill();
  });

  test('cache_get misses quietly, cache_put uploads, cache_get then hits; the key lands in a 0600 file unseen; agent config is fetched', () => {
    if (skip) {
      console.log(`skipped: ${skip}`);
      return;
    }
    const t = mkdtempSync(path.join(dir, 'aws-'));
    const env = renderBootEnvironment({ ...awsEnv(), GLLM_CACHE_URI: 's3://gllm-cache/cache' });
    const r = withFunctions(
      env,
      [
        // Redirect the instance paths into the test's directory.
        `LOG_FILE=${t}/boot.log; SECRET_DIR=${t}/secrets; API_KEY_FILE=$SECRET_DIR/api-key`,
        `printf 'tarball' >${t}/obj`,
        `if cache_get builds/k.tar.gz ${t}/got; then echo FIRST=hit; else echo FIRST=miss; fi`,
        `cache_put ${t}/obj builds/k.tar.gz if-absent`,
        `cache_get builds/k.tar.gz ${t}/got && cmp ${t}/obj ${t}/got && echo SECOND=hit`,
        'install_api_key',
        `echo "MODE=$(stat -c %a "$API_KEY_FILE")"`,
        `[[ $(<"$API_KEY_FILE") == ${KEY} ]] && echo KEY=ok`,
        `ssm_to_file /graviton-llm/agent ${t}/agent.json && echo "AGENT=$(<${t}/agent.json)"`,
        `ssm_to_file /graviton-llm/absent ${t}/absent.json || echo "ABSENT=$(ls ${t} | grep -c absent)"`,
      ].join('\n'),
      awsEnvVars,
    );
    expect(r.out).toContain('FIRST=miss');
    expect(r.out).toContain('cached builds/k.tar.gz');
    expect(r.out).toContain('SECOND=hit');
    expect(r.out).toContain('MODE=600');
    expect(r.out).toContain('KEY=ok');
    expect(r.out).toContain('AGENT={"logs":{}}');
    expect(r.out).toContain('ABSENT=0');
    // A plain 404 is an ordinary miss: nothing alarming in the log.
    expect(r.out).not.toMatch(/treating it as a miss/);
    expect(r.out + readFileSync(path.join(t, 'boot.log'), 'utf8')).not.toContain(KEY);
    expect(r.status).toBe(0);
  }, 60_000);

  test('a failed boot counts itself in CloudWatch under the fleet dimension; no metric name publishes nothing', () => {
    if (skip) {
      console.log(`skipped: ${skip}`);
      return;
    }
    const t = mkdtempSync(path.join(dir, 'aws-metric-'));
    const env = renderBootEnvironment({ ...awsEnv(), GLLM_AUTOSCALING_GROUP: 'Stack-fleet', GLLM_BOOT_FAILURE_METRIC: 'BootFailure' });
    const r = withFunctions(env, [`LOG_FILE=${t}/boot.log`, 'count_boot_failure', 'count_boot_failure'].join('\n'), awsEnvVars);
    expect(r.status).toBe(0);
    expect(r.out).toContain('counted the failure in GravitonLlm/BootFailure');
    const listed = spawnSync('aws', ['cloudwatch', 'get-metric-statistics', '--namespace', 'GravitonLlm', '--metric-name', 'BootFailure',
      '--dimensions', 'Name=AutoScalingGroupName,Value=Stack-fleet', '--statistics', 'Sum', '--period', '60',
      '--start-time', new Date(Date.now() - 3_600_000).toISOString(), '--end-time', new Date(Date.now() + 60_000).toISOString()],
    { env: awsEnvVars, encoding: 'utf8' });
    expect(listed.status).toBe(0);
    const sum = JSON.parse(listed.stdout).Datapoints.reduce((a: number, d: { Sum: number }) => a + d.Sum, 0);
    expect(sum).toBe(2);

    const quiet = renderBootEnvironment({ ...awsEnv(), GLLM_BOOT_FAILURE_METRIC: '' });
    const q = withFunctions(quiet, [`LOG_FILE=${t}/quiet.log`, 'count_boot_failure && echo RETURNED=0'].join('\n'), awsEnvVars);
    expect(q.out).toContain('RETURNED=0');
    expect(q.out).not.toContain('counted the failure');
  }, 60_000);

  /** Puts `body` as a new version of `key` in the versioned bucket, as anyone holding an instance's credentials could. */
  function putVersion(key: string, body: string, sha256?: string): void {
    const file = path.join(mkdtempSync(path.join(dir, 'put-')), 'body');
    writeFileSync(file, body);
    const r = spawnSync('aws', ['s3api', 'put-object', '--bucket', VERSIONED, '--key', key, '--body', file,
      ...(sha256 ? ['--metadata', `sha256=${sha256}`] : [])], { env: awsEnvVars, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`put-object ${key}: ${r.stderr}`);
  }
  function versionCount(key: string): number {
    const r = spawnSync('aws', ['s3api', 'list-object-versions', '--bucket', VERSIONED, '--prefix', key, '--query', `length(Versions[?Key=='${key}'])`],
      { env: awsEnvVars, encoding: 'utf8' });
    return Number(r.stdout.trim());
  }
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

  /** An aws-mode environment on the versioned bucket that quantizes model `modelSha` on the instance. */
  function quantizingEnv(modelSha: string): string {
    return renderBootEnvironment({ ...awsEnv(), GLLM_CACHE_URI: `s3://${VERSIONED}/cache`, GLLM_MODEL_SHA256: modelSha, GLLM_QUANTIZE_TO: 'Q4_0' });
  }
  /** Runs fetch_quantized_from_cache with the instance's paths in a fresh directory; SERVED= says what it put in place. */
  function fetchQuantized(modelSha: string, env: NodeJS.ProcessEnv = awsEnvVars) {
    const t = mkdtempSync(path.join(dir, 'quantized-'));
    return withFunctions(quantizingEnv(modelSha), [
      `LOG_FILE=${t}/boot.log; STATE_DIR=${t}/state; MODEL_DIR=${t}/models; mkdir -p $STATE_DIR $MODEL_DIR`,
      'MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}',
      'if fetch_quantized_from_cache; then echo "SERVED=$(<"$MODEL_PATH")"; else echo "NOT-SERVED next-write=$CACHE_NEXT_WRITE"; fi',
    ].join('\n'), env);
  }
  /** The quantized model's object key, as the boot names it. */
  function quantizedKey(modelSha: string): string {
    return `cache/${withFunctions(quantizingEnv(modelSha), 'quantized_cache_rel').out.trim()}`;
  }

  test('a quantized model written again later is not served: the version first written is, with a warning', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const modelSha = 'b'.repeat(64);
    const key = quantizedKey(modelSha);
    expect(key).toBe(`${QUANTIZED_CACHE_PREFIX}${modelSha}-Q4_0-llama.cpp-${awsEnv().GLLM_LLAMA_CPP_COMMIT}.gguf`);
    putVersion(key, 'quantized by the fleet', sha256('quantized by the fleet'));
    // Whoever holds an instance's credentials can write the object and its checksum again.
    putVersion(key, 'planted', sha256('planted'));
    const r = fetchQuantized(modelSha);
    expect(r.out).toContain('SERVED=quantized by the fleet');
    expect(r.out).toMatch(new RegExp(`WARNING: ${key.slice('cache/'.length)} has 2 versions: it was written again after it was first cached`));
    expect(r.out).toMatch(/model: cache hit quantized\/\S+, version \S+ \(written 1 of 2\)/);
  }, 60_000);

  test('a quantized version that does not have the SHA-256 it was cached with is discarded; one the same as it is skipped; the next is served', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const modelSha = 'c'.repeat(64);
    const key = quantizedKey(modelSha);
    putVersion(key, 'damaged', sha256('intact'));
    putVersion(key, 'damaged', sha256('intact'));
    putVersion(key, 'intact', sha256('intact'));
    const r = fetchQuantized(modelSha);
    expect(r.out).toMatch(new RegExp(`model: discarding cached quantized/\\S+ version \\S+: its SHA-256 is ${sha256('damaged')}, not the ${sha256('intact')} it was cached with`));
    expect(r.out).toMatch(/model: skipping cached quantized\/\S+ version \S+: the same contents as a version discarded above/);
    expect(r.out).toContain('SERVED=intact');
  }, 60_000);

  test('at most four versions of different contents are downloaded; then the boot goes on without the cache and adds no version', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const modelSha = 'd'.repeat(64);
    const key = quantizedKey(modelSha);
    for (let i = 1; i <= 6; i++) putVersion(key, `bad ${i}`, sha256('good'));
    const r = fetchQuantized(modelSha);
    expect(r.out.match(/model: discarding cached/g)).toHaveLength(4);
    expect(r.out).toMatch(/WARNING: model: none of the 4 versions of quantized\/\S+ tried passes its checks; not trying its 2 later ones; quantizing, and not caching the result/);
    expect(r.out).toContain('NOT-SERVED next-write=none');
  }, 60_000);

  test('a first write is conditional: an instance that quantized at the same time as another adds no second version', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    const modelSha = 'e'.repeat(64);
    const key = quantizedKey(modelSha);
    const t = mkdtempSync(path.join(dir, 'put-once-'));
    writeFileSync(path.join(t, 'q.gguf'), 'quantized');
    const put = (env: NodeJS.ProcessEnv) => withFunctions(quantizingEnv(modelSha),
      `LOG_FILE=${t}/boot.log; cache_put ${t}/q.gguf "$(quantized_cache_rel)" if-absent ${sha256('quantized')}`, env);
    expect(put(awsEnvVars).out).toContain(`cached ${key.slice('cache/'.length)}`);
    const second = put(awsEnvVars);
    expect(second.out).toContain(`cache already holds ${key.slice('cache/'.length)}, written by another instance meanwhile; keeping that one`);
    expect(versionCount(key)).toBe(1);
    // Both instances' boots then take that one version, with no warning.
    const r = fetchQuantized(modelSha);
    expect(r.out).toContain('SERVED=quantized');
    expect(r.out).not.toContain('WARNING');
  }, 60_000);

  test('with an AWS CLI that cannot write only if absent (Debian 12\'s 2.9.19), the write is unconditional, and identical versions warn no one', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    // That CLI's put-object knows no --if-none-match: its skeleton lacks IfNoneMatch, the option is refused.
    const oldCli = mkdtempSync(path.join(dir, 'old-cli-'));
    const real = spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(path.join(oldCli, 'aws'), [
      '#!/bin/sh',
      `for a in "$@"; do case $a in --if-none-match) echo 'Unknown options: --if-none-match, *' >&2; exit 252 ;; esac; done`,
      `case "$*" in *--generate-cli-skeleton*) "${real}" "$@" | grep -v IfNoneMatch; exit 0 ;; esac`,
      `exec "${real}" "$@"`, '',
    ].join('\n'), { mode: 0o755 });
    const oldEnv = { ...awsEnvVars, PATH: `${oldCli}:${awsEnvVars.PATH}` };
    const modelSha = 'f'.repeat(64);
    const key = quantizedKey(modelSha);
    const t = mkdtempSync(path.join(dir, 'put-old-'));
    writeFileSync(path.join(t, 'q.gguf'), 'quantized');
    const put = () => withFunctions(quantizingEnv(modelSha),
      `LOG_FILE=${t}/boot.log; cache_put ${t}/q.gguf "$(quantized_cache_rel)" if-absent ${sha256('quantized')}`, oldEnv);
    expect(put().out).toContain('this AWS CLI cannot write only if absent (no --if-none-match): cache objects are written unconditionally');
    put();
    expect(versionCount(key)).toBe(2);
    const r = fetchQuantized(modelSha, oldEnv);
    expect(r.out).toContain('SERVED=quantized');
    expect(r.out).not.toContain('WARNING');
    expect(r.out).toMatch(/quantized\/\S+ has 2 versions of the same contents \(instances that cached it at the same time\)/);
  }, 60_000);

  test('a build is run as first written: identical versions warn no one, a version of other contents warns and is not run', () => {
    if (skip) return console.log(`skipped: ${skip}`);
    if (serviceUserSkip) return console.log(`skipped: ${serviceUserSkip}`);
    const t = mkdtempSync(path.join(open, 'versions-'));
    chmodSync(t, 0o755);
    const env = renderBootEnvironment({ ...awsEnv(), GLLM_CACHE_URI: `s3://${VERSIONED}/cache` });
    const run = (body: string) => withServiceUser(env, [
      `T=${t}; LOG_FILE=$T/boot.log; STATE_DIR=$T/state; LOG_DIR=$T; mkdir -p $STATE_DIR`,
      'MACHINE=x86_64; build_targets; cmake_defines; material=$(build_key_material)',
      // What ensure_build packs: the same files give the same bytes.
      'pack() { rm -rf $T/src; mkdir -p $T/src/bin; printf "%s\\n" "$material" >$T/src/manifest.txt; printf "#!/bin/sh\\necho %s\\n" "$1" >$T/src/bin/llama-server; chmod 0755 $T/src/bin/llama-server; tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C $T/src . | gzip -n >$T/$1.tar.gz; }',
      `put() { aws s3api put-object --bucket ${VERSIONED} --key cache/builds/vkey.tar.gz --body $T/$1.tar.gz >/dev/null; }`,
      'fetch() { rm -rf $T/into; install -d -m 0755 $T/into; if fetch_cached_build vkey $T/into "$material" $T/vkey.tar.gz; then echo "RUNS=$($T/into/bin/llama-server)"; else echo NO-BUILD; fi; }',
      body,
    ].join('\n'), awsEnvVars);
    const identical = run('pack first; sleep 1; put first; pack first; put first; fetch');
    expect(identical.out).toContain('RUNS=first');
    expect(identical.out).toContain('builds/vkey.tar.gz has 2 versions of the same contents');
    expect(identical.out).not.toContain('WARNING');
    const planted = run('pack planted; put planted; fetch');
    expect(planted.out).toContain('WARNING: builds/vkey.tar.gz has 3 versions: it was written again after it was first cached, with other contents (2 different)');
    expect(planted.out).toMatch(/build: cache hit builds\/vkey\.tar\.gz \(no compile\), version \S+ \(written 1 of 3\)/);
    expect(planted.out).toContain('RUNS=first');
  }, 60_000);
});
