/**
 * Starts the drain watcher on an instance: its unit (server/drain-unit.ts)
 * written under /etc/systemd/system, then (re)started. No daemon-reload: the
 * server is already running, and a reload forgets every unit's start rate
 * limit (not preserved across reloads, systemd/systemd#29574), so the
 * server's crash loop would get its burst of restarts afresh (the box saw six
 * kills where the unit allows five). systemd loads a unit it has not loaded
 * yet from disk when a job names it; the file's text is the same on every
 * boot of one kit version, so a loaded one is never stale.
 * Every program runs through core/exec.ts under the boot's time limit; `root`
 * is where /etc is, so tests write under a temporary directory.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ExecRequest, type ExecResult, explainExit, succeeded } from '../core/exec';
import type { DrainWatchStartOutcome, DrainWatchStarter } from '../phases/drain-watch';
import { DRAIN_UNIT_NAME, type DrainUnitInput, drainWatchUnit } from '../server/drain-unit';

export interface SystemdDrainWatchOptions extends DrainUnitInput {
  readonly exec: { run(req: ExecRequest): Promise<ExecResult> };
  /** The boot's time limit, in ms since the epoch (Deadline.timeLimitMs). */
  readonly limitMs: () => number;
  /** Where /etc/systemd/system is, below this. @default "/" */
  readonly root?: string;
}

export class SystemdDrainWatch implements DrainWatchStarter {
  constructor(private readonly opts: SystemdDrainWatchOptions) {}

  async start(): Promise<DrainWatchStartOutcome> {
    const unit = join(this.opts.root ?? '/', '/etc/systemd/system', DRAIN_UNIT_NAME);
    try {
      mkdirSync(dirname(unit), { recursive: true });
      writeFileSync(`${unit}.tmp`, drainWatchUnit(this.opts));
      renameSync(`${unit}.tmp`, unit);
    } catch (e) {
      return { ok: false, detail: `cannot write ${unit}: ${(e as Error).message}` };
    }
    for (const args of [['restart', DRAIN_UNIT_NAME]]) {
      const r = await this.opts.exec.run({ step: 'drain-watch', program: 'systemctl', args, limitMs: this.opts.limitMs() });
      if (!succeeded(r)) return { ok: false, detail: `systemctl ${args.join(' ')}: ${explainExit(r)}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}` };
    }
    return { ok: true, unit: DRAIN_UNIT_NAME };
  }
}
