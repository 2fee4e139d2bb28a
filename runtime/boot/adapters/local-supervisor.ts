/**
 * The Supervisor of a developer machine: llama-server as a background
 * process of its own session, which outlives the boot; its pid in the
 * layout's pid file, through which a later boot finds, checks and stops it.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock';
import type { ServerLaunch, Supervisor, SupervisorStartOutcome } from '../ports';
import { logOffset, serverLastWords } from './server-log';

export interface LocalSupervisorOptions {
  /** Where the builds are installed (layout.ts installRoot): only a llama-server from there is ours. */
  readonly installRoot: string;
  /** layout.ts pidFile. */
  readonly pidFile: string;
  readonly clock: Clock;
  /** Where a process's command line is read (/proc/PID/cmdline). @default "/proc" */
  readonly proc?: string;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
}

/** How long a server asked to stop (SIGTERM) has before SIGKILL, and how often it is looked at meanwhile. */
const STOP_GRACE_MS = 5000;
const STOP_POLL_MS = 100;

/** Whether process `pid` exists (kill -0). */
function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LocalSupervisor implements Supervisor {
  /** Where this boot's part of the (appended) server log starts. */
  private logStart = 0;
  private logFile: string | undefined;

  constructor(private readonly opts: LocalSupervisorOptions) {}

  /**
   * The pid in the pid file, where it names a running llama-server of this
   * install root; undefined otherwise. A stale pid file must not have a
   * stranger killed.
   */
  serverPid(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.opts.pidFile, 'utf8').trim();
    } catch {
      return undefined;
    }
    if (!/^[0-9]+$/.test(text)) return undefined;
    let cmdline: string;
    try {
      cmdline = readFileSync(`${this.opts.proc ?? '/proc'}/${text}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return undefined;
    }
    const root = `${this.opts.installRoot}/`;
    const at = cmdline.indexOf(root);
    if (at < 0 || cmdline.indexOf('/bin/llama-server ', at + root.length) < 0) return undefined;
    return Number(text);
  }

  async start(launch: ServerLaunch): Promise<SupervisorStartOutcome> {
    await this.stop();
    const { pidFile } = this.opts;
    mkdirSync(dirname(launch.logFile), { recursive: true });
    mkdirSync(dirname(pidFile), { recursive: true });
    this.logStart = logOffset(launch.logFile);
    this.logFile = launch.logFile;
    const out = openSync(launch.logFile, 'a');
    try {
      // Its own session (setsid), its output to the log and nothing else of
      // ours: a server holding the boot's stdout or its lock would keep the
      // caller's pipe open and block the next boot.
      const child = spawn(launch.program, [...launch.args(launch.apiKeyFile)], { detached: true, stdio: ['ignore', out, out] });
      const pid = await new Promise<number | string>((resolve) => {
        child.once('spawn', () => resolve(child.pid as number));
        child.once('error', (e) => resolve(e.message));
      });
      if (typeof pid === 'string') return { ok: false, detail: `${launch.program}: ${pid}` };
      child.unref();
      writeFileSync(pidFile, `${pid}\n`);
      this.opts.log(`started llama-server pid ${pid}; log ${launch.logFile}`);
      return { ok: true };
    } finally {
      closeSync(out);
    }
  }

  async stop(): Promise<void> {
    const pid = this.serverPid();
    if (pid !== undefined) {
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(pid, s);
        } catch {
          // Already gone.
        }
      };
      signal('SIGTERM');
      for (let waited = 0; waited < STOP_GRACE_MS && exists(pid) && this.serverPid() === pid; waited += STOP_POLL_MS) {
        await this.opts.clock.sleep(STOP_POLL_MS);
      }
      if (this.serverPid() === pid) signal('SIGKILL');
      this.opts.log(`stopped llama-server pid ${pid}`);
    }
    rmSync(this.opts.pidFile, { force: true });
  }

  async alive(): Promise<boolean> {
    return this.serverPid() !== undefined;
  }

  async exitReason(): Promise<string> {
    return `server.log: ${this.logFile === undefined ? '' : serverLastWords(this.logFile, this.logStart)}`;
  }
}
