/**
 * Fast checks of lib/boot/boot.sh that need no build: lint, the environment
 * file parser, the CPU check and the systemd unit. The functions are loaded
 * into a bash shell with `source` (the script boots only when executed).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BOOT_ENV_KEYS, BootEnvironment, LOCAL_BOOT_ENV_KEYS, renderBootEnvironment } from '../../lib/boot/boot-environment';
import {
  cmakeDefineMap, kitCmakeDefines, kitCmakeDefinesWith, SERVER_KEEPALIVE_SECONDS, X86_BASELINE_CPU_FLAGS,
} from '../../lib/boot/build-defines';
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { configSchema } from '../../lib/config/schema';

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

/** Runs the real entry point; parse failures stop it before anything else happens. */
function boot(envText: string) {
  const r = spawnSync('bash', [SCRIPT, writeEnv(envText)], {
    encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: `${stubs}:${process.env.PATH}` },
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, last: lines[lines.length - 1] };
}

/** Runs `body` in a shell that has sourced boot.sh and parsed `envText`. */
function withFunctions(envText: string, body: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(
    'bash',
    ['-c', `source "$0"; exec 3>&1; parse_env "$1"; set_layout; ${body}`, SCRIPT, writeEnv(envText)],
    { encoding: 'utf8', timeout: 60_000, env },
  );
  return { status: r.status, out: r.stdout + r.stderr };
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

  test('rejects an unknown key, naming it', () => {
    const r = boot(`${valid}GLLM_SURPRISE=1\n`);
    expect(r.status).toBe(1);
    expect(r.last).toMatch(/^GLLM_BOOT_RESULT=FAILURE reason=.*unknown key GLLM_SURPRISE/);
  });

  test('rejects a missing required key, naming it', () => {
    const r = boot(valid.replace(/^GLLM_MODEL_SHA256=.*\n/m, ''));
    expect(r.status).toBe(1);
    expect(r.last).toMatch(/^GLLM_BOOT_RESULT=FAILURE reason=.*required key GLLM_MODEL_SHA256 is missing/);
  });

  test.each([
    ['command substitution', 'x$(touch PWNED)'],
    ['a space', 'two words'],
    ['a double quote', 'a"b'],
    ['a single quote', "a'b"],
    ['a backtick', 'a`id`'],
  ])('rejects a value with %s, naming the key, without running it', (_what, value) => {
    const marker = path.join(dir, 'PWNED');
    const r = spawnSync('bash', [SCRIPT, writeEnv(valid.replace(/^GLLM_MODEL_FILE=.*$/m, `GLLM_MODEL_FILE=${value}`))], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/GLLM_BOOT_RESULT=FAILURE reason=.*GLLM_MODEL_FILE has characters outside/);
    expect(() => readFileSync(marker)).toThrow();
  });

  test('rejects a key set twice, and a line that is not KEY=value', () => {
    expect(boot(`${valid}GLLM_PORT=1\n`).last).toMatch(/GLLM_PORT is set twice/);
    const badLine = valid.trimEnd().split('\n').length + 1;
    expect(boot(`${valid}export FOO\n`).last).toMatch(new RegExp(`line ${badLine} is not KEY=value`));
  });

  test('rejects local-only keys in aws mode (no cpuinfo or path override on an instance)', () => {
    const r = boot(`${renderBootEnvironment(awsEnv())}GLLM_CPUINFO_PATH=/tmp/fake\n`);
    expect(r.last).toMatch(/GLLM_CPUINFO_PATH is accepted in local mode only/);
    // Even a configuration failure is reported to the stack, in its region.
    expect(readFileSync(path.join(stubs, 'calls'), 'utf8')).toMatch(/^aws cloudformation signal-resource --stack-name Stack .*--status FAILURE --region eu-west-1$/m);
    expect(() => renderBootEnvironment({ ...awsEnv(), GLLM_CPUINFO_PATH: '/tmp/x' })).toThrow(/only allowed with GLLM_MODE=local/);
  });

  test('accepts plain http model sources in local mode only', () => {
    const aws = renderBootEnvironment(awsEnv()).replace(/^GLLM_MODEL_SOURCE=.*$/m, 'GLLM_MODEL_SOURCE=http://example.com/m.gguf');
    expect(boot(aws).last).toMatch(/GLLM_MODEL_SOURCE must be an https:\/\/ or s3:\/\/ URL/);
  });

  test.each([
    ['GLLM_PORT', 'eighty', /GLLM_PORT must be a positive integer/],
    ['GLLM_MODEL_SHA256', 'ABC', /GLLM_MODEL_SHA256 must be 64 lowercase hex/],
    ['GLLM_LLAMA_CPP_REF', '--upload-pack=x', /GLLM_LLAMA_CPP_REF must be a tag/],
    ['GLLM_MODEL_FILE', '../etc/passwd.gguf', /GLLM_MODEL_FILE must be a plain file name/],
    ['GLLM_MODE', 'cloud', /GLLM_MODE must be aws or local/],
  ])('validates %s=%s', (key, value, message) => {
    const text = valid.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);
    expect(boot(text).last).toMatch(message);
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
    // The configuration refuses any idle timeout this long or longer.
    const idle = configSchema.shape.loadBalancerIdleTimeoutSeconds;
    expect(idle.safeParse(seconds).success).toBe(false);
    expect(idle.safeParse(4000).success).toBe(true);
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

describe('the kit\'s CMake defines, one list for the boot, the tests and the benchmarks', () => {
  const bootDefines = (machine: string, armArch?: string) => {
    const r = withFunctions(
      renderBootEnvironment(localEnv(armArch === undefined ? {} : { GLLM_ARM_ARCH: armArch })),
      `MACHINE=${machine}; cmake_defines; printf 'CMAKE_DEFINES\\0'; printf '%s\\0' "\${CMAKE_DEFINES[@]}"`,
    );
    expect(r.status).toBe(0);
    // Whatever the script logged comes before the marker.
    return r.out.split('CMAKE_DEFINES\0')[1].split('\0').slice(0, -1);
  };

  test('boot.sh cmake_defines is kitCmakeDefines (lib/boot/build-defines.ts) on x86_64', () => {
    expect(bootDefines('x86_64')).toEqual(kitCmakeDefines({ machine: 'x86_64' }));
  });

  test.each(Object.values(GENERATIONS).map((g) => [g.name, g.armArch]))(
    'boot.sh cmake_defines is kitCmakeDefines on aarch64 for %s (%s)',
    (_name, armArch) => {
      expect(bootDefines('aarch64', armArch)).toEqual(kitCmakeDefines({ machine: 'aarch64', armArch }));
    },
  );

  test('the build never tunes for the build host, and the Arm flags are the generation\'s', () => {
    const x86 = cmakeDefineMap(kitCmakeDefines({ machine: 'x86_64' }));
    expect(x86.get('GGML_NATIVE')).toBe('OFF');
    expect(x86.has('GGML_CPU_ARM_ARCH')).toBe(false);
    expect(x86.get('CMAKE_CXX_FLAGS')).toBe(`-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=${SERVER_KEEPALIVE_SECONDS}`);
    const arm = cmakeDefineMap(kitCmakeDefines({ machine: 'aarch64', armArch: GENERATIONS[3].armArch }));
    expect(arm.get('GGML_NATIVE')).toBe('OFF');
    expect(arm.get('GGML_CPU_ARM_ARCH')).toBe(GENERATIONS[3].armArch);
  });

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

  test('a build may add only defines that select programs, never ones that change the code', () => {
    const tests = kitCmakeDefinesWith({ machine: 'x86_64' }, { LLAMA_BUILD_EXAMPLES: 'ON' });
    expect(tests.get('LLAMA_BUILD_EXAMPLES')).toBe('ON');
    expect(tests.get('GGML_NATIVE')).toBe('OFF');
    expect(() => kitCmakeDefinesWith({ machine: 'x86_64' }, { GGML_NATIVE: 'ON' })).toThrow(/GGML_NATIVE=ON would change what the kit's build compiles/);
    expect(() => kitCmakeDefinesWith({ machine: 'x86_64' }, { CMAKE_C_FLAGS: '-march=native' })).toThrow(/CMAKE_C_FLAGS/);
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
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_BOOT_DEADLINE_SECONDS: '60' })), [
      'LOG_FILE=/dev/null; BOOT_STARTED_MS=$(( $(now_ms) - 61000 ))',
      'step model true; echo NOT-REACHED',
    ].join('\n'));
    expect(r.status).toBe(1);
    expect(r.out).toContain('[model] ERROR: boot deadline of 60 s passed before step model');
    expect(r.out).not.toContain('NOT-REACHED');
  });

  test('a long command gets only the time the boot has left', () => {
    const r = withFunctions(renderBootEnvironment(localEnv({ GLLM_BOOT_DEADLINE_SECONDS: '60' })), [
      'BOOT_STARTED_MS=$(( $(now_ms) - 58000 )); start=$(now_ms)',
      'within_deadline sleep 30 || echo "STATUS=$? TOOK=$(( ($(now_ms) - start) / 1000 ))"',
    ].join('\n'));
    expect(r.out).toMatch(/STATUS=124 TOOK=[12]\b/);
  });
});

describe('local-boot.ts', () => {
  test('renders an environment the script accepts', () => {
    const parsed = parseLocalBootArgs(
      ['--model-url', 'http://127.0.0.1:8000/tiny.gguf', '--sha256', SHA, '--size-bytes', '42', '--work-dir', path.join(dir, 'lw'), '--llama-src', dir],
      dir,
    );
    if (!('options' in parsed)) throw new Error(`unexpected ${JSON.stringify(parsed)}`);
    const opts = parsed.options;
    const env = localBootEnvironment(opts, path.join(dir, 'key'));
    expect(env.GLLM_MODEL_FILE).toBe('tiny.gguf');
    expect(env.GLLM_CACHE_URI).toBe(path.join(dir, 'lw', 'cache'));
    const r = withFunctions(renderBootEnvironment(env), 'echo "src=${CFG[GLLM_LLAMA_CPP_SOURCE_DIR]} model=${CFG[GLLM_MODEL_SOURCE]}"');
    expect(r.status).toBe(0);
    expect(r.out).toContain(`src=${dir} model=http://127.0.0.1:8000/tiny.gguf`);
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
        `cache_put ${t}/obj builds/k.tar.gz`,
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
});
