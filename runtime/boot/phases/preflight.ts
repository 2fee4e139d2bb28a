/**
 * The preflight phase: before anything is started, the built server is asked
 * whether it takes the argument vector the service will get, the lock switch
 * chosen among those it parses.
 *
 * `--version` makes llama-server exit once every earlier argument has been
 * parsed, so a flag this release rejects fails the boot here, with the
 * server's own words, instead of a service that restarts until the health
 * check gives up.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeExit, type ExecRequest, type ExecResult, succeeded } from '../core/exec';
import { type Phase, PhaseFailure } from '../core/phase';
import type { Platform } from '../ports';
import { chooseLockArgs, LOCK_CANDIDATES, type LockCandidate, memlockCovers, serverArgs, type ServerArgsInput } from '../server/args';

export const PREFLIGHT_PHASE = 'preflight';

/** The server's settings: its argument vector but for the key file and the lock switch, which this phase supplies. */
export type ServerSettings = Omit<ServerArgsInput, 'keyFile' | 'lockArgs'>;

export interface PreflightPhaseInput {
  /** The build's llama-server. */
  readonly llamaServer: string;
  readonly settings: ServerSettings;
  /**
   * When the model may be locked in RAM: always on an instance (the unit
   * sets LimitMEMLOCK=infinity); locally only where RLIMIT_MEMLOCK covers the
   * model (a developer's default limit is a few MiB).
   */
  readonly lock: 'always' | 'where-memlock-covers';
  /** The served model's size in bytes, for the memory lock's limit. */
  readonly modelBytes: number;
  /** Where the stand-in key file is made (the layout's state directory). */
  readonly scratchDir: string;
  /** The boot's time limit, in ms since the epoch (Deadline.timeLimitMs). */
  readonly limitMs: () => number;
  /** Runs the server as the service user where the boot has one (core/exec.ts). */
  readonly exec: { run(req: ExecRequest): Promise<ExecResult> };
  readonly platform: Pick<Platform, 'memlockLimitBytes'>;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an outcome for the boot's result (BootLog.record, this phase's). */
  readonly record: (event: string, detail: string) => void;
}

export interface PreflightPhaseOutput {
  /** The lock switch chosen for this build, for the served argument vector. */
  readonly lockArgs: readonly string[];
}

function run(input: PreflightPhaseInput, args: readonly string[]): Promise<ExecResult> {
  return input.exec.run({ step: PREFLIGHT_PHASE, program: input.llamaServer, args, limitMs: input.limitMs(), asServiceUser: true });
}

/** What the server wrote, its two streams together, as lines. */
function outputLines(r: ExecResult): string[] {
  return `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
}

/**
 * The lock switch: where locking is allowed, the newest lock
 * switch the built server parses (server/args.ts decides among them).
 */
export async function chooseLock(input: PreflightPhaseInput): Promise<readonly string[]> {
  if (input.lock === 'where-memlock-covers') {
    const bytes = await input.platform.memlockLimitBytes();
    const kib = bytes === 'unlimited' ? bytes : Math.floor(bytes / 1024);
    if (!memlockCovers(kib, input.modelBytes)) {
      const choice = chooseLockArgs({ lockAllowed: false, accepted: [] });
      input.log(`memory lock: off (RLIMIT_MEMLOCK ${kib} KiB is below the model's size)`);
      input.record('memory-lock', choice.reason);
      return choice.args;
    }
  }
  // Asked newest first, and no further once one is accepted: each question runs the server.
  let accepted: LockCandidate | undefined;
  for (const candidate of LOCK_CANDIDATES) {
    if (succeeded(await run(input, [...candidate, '--version']))) {
      accepted = candidate;
      break;
    }
  }
  const choice = chooseLockArgs({ lockAllowed: true, accepted: accepted ? [accepted] : [] });
  if (choice.reason === 'accepted') input.log(`memory lock: ${choice.args.join(' ')} (accepted by this llama-server)`);
  else input.log('WARNING: this llama-server accepts neither --load-mode mmap+mlock nor --mlock; the model is not locked in RAM');
  input.record('memory-lock', choice.reason === 'accepted' ? choice.args.join(' ') : choice.reason);
  return choice.args;
}

/**
 * The check itself: the served argument vector, key file aside,
 * plus --version. The server reads its key file while parsing, so it gets a
 * stand-in, not the key (which systemd hands the service as a credential).
 * The stand-in guards nothing, so anyone may read it, the service user
 * included.
 */
export async function preflightServer(input: PreflightPhaseInput, lockArgs: readonly string[]): Promise<void> {
  const probeKey = join(input.scratchDir, `preflight-key.${randomBytes(6).toString('hex')}`);
  let r: ExecResult;
  let args: string[];
  try {
    writeFileSync(probeKey, `preflight-stand-in-${randomBytes(8).toString('hex')}\n`, { mode: 0o644, flag: 'wx' });
    chmodSync(probeKey, 0o644);
    args = serverArgs({ ...input.settings, keyFile: probeKey, lockArgs });
    r = await run(input, [...args, '--version']);
  } finally {
    rmSync(probeKey, { force: true });
  }
  const lines = outputLines(r);
  if (!succeeded(r)) {
    const said = lines.find((l) => /error|invalid|unknown/i.test(l)) ?? lines[lines.length - 1];
    throw new PhaseFailure(PREFLIGHT_PHASE, `llama-server rejects its arguments (${describeExit(r)})${said === undefined ? '' : `: ${said}`}`);
  }
  input.log(`llama-server accepts its ${args.length} arguments: ${lines[0] ?? ''}`);
}

export const preflightPhase: Phase<PreflightPhaseInput, PreflightPhaseOutput> = {
  name: PREFLIGHT_PHASE,
  async run(input) {
    const lockArgs = await chooseLock(input);
    await preflightServer(input, lockArgs);
    return { lockArgs };
  },
};
