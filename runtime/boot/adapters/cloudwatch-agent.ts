/**
 * The aws-mode LogAgent: the CloudWatch agent, driven by its control program
 * (`-a fetch-config -m ec2 -s -c file:CONF`: load the configuration and
 * (re)start the agent), through core/exec.ts so it runs under the boot's time
 * limit.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { describeExit, type Exec } from '../core/exec';
import type { LogAgent, LogAgentOutcome } from '../ports';

/** Where the amazon-cloudwatch-agent package installs its control program. */
export const CLOUDWATCH_AGENT_CTL = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';

export interface CloudWatchAgentOptions {
  /** The control program: CLOUDWATCH_AGENT_CTL, or a stand-in in tests. */
  readonly program: string;
  /** Where its configuration goes: layout.ts INSTANCE_FILES.agentConfig on an instance. */
  readonly configFile: string;
  /** layout.ts INSTANCE_FILES.prometheusConfig on an instance, the path the stack's agent configuration names. */
  readonly prometheusConfigFile: string;
  readonly exec: Exec;
  /** The time limit of the call, in ms since the epoch (Deadline.timeLimitMs), read when it starts. */
  readonly limitMs: () => number;
  /** Where its output is appended: the boot's log. */
  readonly logFile: string;
}

export class CloudWatchAgent implements LogAgent {
  constructor(private readonly opts: CloudWatchAgentOptions) {}

  get program(): string {
    return this.opts.program;
  }

  get configFile(): string {
    return this.opts.configFile;
  }

  get prometheusConfigFile(): string {
    return this.opts.prometheusConfigFile;
  }

  installed(): Promise<boolean> {
    return access(this.opts.program, constants.X_OK).then(() => true, () => false);
  }

  async start(configFile: string): Promise<LogAgentOutcome> {
    const r = await this.opts.exec.run({
      step: 'agent', program: this.opts.program, args: ['-a', 'fetch-config', '-m', 'ec2', '-s', '-c', `file:${configFile}`],
      limitMs: this.opts.limitMs(), appendOutputTo: this.opts.logFile,
    });
    return r.exitCode === 0 ? { ok: true } : { ok: false, detail: describeExit(r) };
  }
}
