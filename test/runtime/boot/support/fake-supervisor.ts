import type { ServerLaunch, Supervisor, SupervisorStartOutcome } from '../../../../runtime/boot/ports';

/** A Supervisor whose server lives until `exit` is called; records what it was asked. */
export class FakeSupervisor implements Supervisor {
  readonly launches: ServerLaunch[] = [];
  readonly calls: string[] = [];
  running = false;
  reason = '';

  constructor(private readonly startOutcome: SupervisorStartOutcome = { ok: true }) {}

  async start(launch: ServerLaunch): Promise<SupervisorStartOutcome> {
    this.calls.push('start');
    this.launches.push(launch);
    this.running = this.startOutcome.ok;
    return this.startOutcome;
  }

  async stop(): Promise<void> {
    this.calls.push('stop');
    this.running = false;
  }

  async alive(): Promise<boolean> {
    this.calls.push('alive');
    return this.running;
  }

  async exitReason(): Promise<string> {
    this.calls.push('exitReason');
    return this.reason;
  }

  /** The server dies, saying `reason`. */
  exit(reason: string): void {
    this.running = false;
    this.reason = reason;
  }
}
