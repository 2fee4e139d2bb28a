import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecRequest, ExecResult } from '../../../../runtime/boot/core/exec';
import { preflightPhase, type PreflightPhaseInput } from '../../../../runtime/boot/phases/preflight';
import { serverArgs } from '../../../../runtime/boot/server/args';
import { failureOf } from '../support/phase-failure';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-preflight-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const settings = { modelPath: '/m/model.gguf', host: '127.0.0.1', port: 8080, parallelSlots: 2, contextPerSlot: 4096, promptCacheMiB: 0, threads: 2 };

/** What the stand-in server answers: exit status and output for an argument vector. */
type Answer = (args: readonly string[]) => Partial<Pick<ExecResult, 'exitCode' | 'stdout' | 'stderr' | 'signal' | 'timedOut'>>;

/** The key file each run was given, as it was when the run saw it. */
interface KeySeen {
  readonly path: string;
  readonly mode: number;
  readonly text: string;
}

function setup(answer: Answer, overrides: Partial<PreflightPhaseInput> = {}, memlock: number | 'unlimited' = 'unlimited') {
  const requests: ExecRequest[] = [];
  const keys: KeySeen[] = [];
  const lines: string[] = [];
  const events: string[] = [];
  const input: PreflightPhaseInput = {
    llamaServer: '/opt/b/bin/llama-server',
    settings,
    lock: 'always',
    modelBytes: 100 * MiB,
    scratchDir: dir,
    limitMs: () => 42,
    exec: {
      run: async (req) => {
        requests.push(req);
        const args = req.args ?? [];
        const k = args.indexOf('--api-key-file');
        if (k >= 0) keys.push({ path: args[k + 1], mode: statSync(args[k + 1]).mode & 0o777, text: readFileSync(args[k + 1], 'utf8') });
        return { step: req.step, program: req.program, argv: [req.program, ...args], exitCode: 0, signal: undefined, timedOut: false, startError: undefined, stdout: '', stderr: '', ...answer(args) };
      },
    },
    platform: { memlockLimitBytes: async () => memlock },
    log: (m) => lines.push(m),
    record: (e, d) => events.push(`${e}: ${d}`),
    ...overrides,
  };
  return { input, requests, keys, lines, events };
}

/** A v0.5.0-like server: takes --load-mode, rejects --mlock. */
const newServer: Answer = (args) => (args.includes('--mlock') ? { exitCode: 1, stderr: "error: invalid argument: --mlock\n" } : { stdout: 'version: 7000 (abc)\nbuilt with cc\n' });
/** An older server: knows --mlock only. */
const oldServer: Answer = (args) => (args.includes('--load-mode') ? { exitCode: 1, stderr: 'error: unknown argument: --load-mode\n' } : { stdout: 'version: 4000 (def)\n' });


describe('the memory lock switch', () => {
  test('the newest one the server parses, asked as the service user under the time limit', async () => {
    const { input, requests, lines, events } = setup(newServer);
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: ['--load-mode', 'mmap+mlock'] });
    expect(events).toEqual(['memory-lock: --load-mode mmap+mlock']);
    expect(requests[0]).toMatchObject({ program: '/opt/b/bin/llama-server', args: ['--load-mode', 'mmap+mlock', '--version'], asServiceUser: true, limitMs: 42, step: 'preflight' });
    expect(lines[0]).toBe('memory lock: --load-mode mmap+mlock (accepted by this llama-server)');
  });

  test('an older server gets --mlock, after it refused the newer switch', async () => {
    const { input, requests, lines } = setup(oldServer);
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: ['--mlock'] });
    expect(requests.slice(0, 2).map((r) => r.args)).toEqual([['--load-mode', 'mmap+mlock', '--version'], ['--mlock', '--version']]);
    expect(lines[0]).toBe('memory lock: --mlock (accepted by this llama-server)');
  });

  test('a server that takes neither serves unlocked, with a warning', async () => {
    const { input, lines, events } = setup((args) => (args.includes('--model') ? {} : { exitCode: 1 }));
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: [] });
    expect(events).toEqual(['memory-lock: none-accepted']);
    expect(lines[0]).toMatch(/^WARNING: this llama-server accepts neither/);
  });

  test('where the lock must fit RLIMIT_MEMLOCK, a limit below the model and its headroom asks nothing and locks nothing', async () => {
    const { input, requests, lines, events } = setup(newServer, { lock: 'where-memlock-covers' }, 8 * MiB);
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: [] });
    expect(events).toEqual(['memory-lock: not-allowed']);
    expect(lines[0]).toBe("memory lock: off (RLIMIT_MEMLOCK 8192 KiB is below the model's size)");
    // Only the preflight itself ran.
    expect(requests).toHaveLength(1);
    expect(requests[0].args).not.toContain('--load-mode');
  });

  test.each([[164 * MiB], ['unlimited' as const]])('where the limit (%s) covers the model and 64 MiB, the server is asked', async (limit) => {
    const { input } = setup(newServer, { lock: 'where-memlock-covers' }, limit);
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: ['--load-mode', 'mmap+mlock'] });
  });

  test('one byte short of model and headroom is not enough', async () => {
    const { input } = setup(newServer, { lock: 'where-memlock-covers' }, 164 * MiB - 1024);
    await expect(preflightPhase.run(input)).resolves.toEqual({ lockArgs: [] });
  });
});

describe('the preflight run', () => {
  test('runs the served vector with a stand-in key and --version, and says how many arguments it took', async () => {
    const { input, requests, keys, lines } = setup(newServer);
    await preflightPhase.run(input);
    const last = requests[requests.length - 1];
    expect(keys).toHaveLength(1);
    const key = keys[0];
    expect(last.args).toEqual([...serverArgs({ ...settings, keyFile: key.path, lockArgs: ['--load-mode', 'mmap+mlock'] }), '--version']);
    expect(last.asServiceUser).toBe(true);
    // A stand-in anyone may read (it guards nothing), in the scratch directory, gone after.
    expect(key.path.startsWith(`${dir}/preflight-key.`)).toBe(true);
    expect(key.mode).toBe(0o644);
    expect(key.text).toMatch(/^preflight-stand-in-[0-9a-f]+\n$/);
    expect(existsSync(key.path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    const n = (last.args ?? []).length - 1;
    expect(lines[1]).toBe(`llama-server accepts its ${n} arguments: version: 7000 (abc)`);
  });

  test('a rejected argument fails the phase with the server\'s own error line', async () => {
    const { input, keys } = setup((args) =>
      args.includes('--model') ? { exitCode: 1, stdout: 'build: 7000\n', stderr: 'loading...\nerror: invalid argument: --no-slots\nusage: ...\n' } : {},
    );
    const f = await failureOf(preflightPhase.run(input));
    expect(f.phase).toBe('preflight');
    expect(f.reason).toBe('llama-server rejects its arguments (exit 1): error: invalid argument: --no-slots');
    expect(existsSync(keys[0].path)).toBe(false);
  });

  test('without an error line, the last line is quoted', async () => {
    const { input } = setup((args) => (args.includes('--model') ? { exitCode: 2, stderr: 'one\ntwo\n' } : {}));
    expect((await failureOf(preflightPhase.run(input))).reason).toBe('llama-server rejects its arguments (exit 2): two');
  });

  test('a server killed by a signal, having said nothing, says so', async () => {
    const { input } = setup((args) => (args.includes('--model') ? { exitCode: undefined, signal: 'SIGILL' } : {}));
    expect((await failureOf(preflightPhase.run(input))).reason).toBe('llama-server rejects its arguments (killed by SIGILL)');
  });
});
