/**
 * The drain watcher's entry: `boot drain-watch ENV_FILE`, the same bundle as
 * the boot, run by its systemd unit (server/drain-unit.ts) once the boot
 * serves. Reads the boot's configuration (a fleet instance's, in aws mode,
 * with GLLM_TARGET_GROUP_ARN), builds the instance's adapters, and watches
 * and drains (drain/watch.ts), its lines in the boot log tagged `drain` (the
 * CloudWatch agent ships that log, so a drain is seen there); with
 * GLLM_DRAIN_METRIC, each drain is counted in CloudWatch too (the dashboard's graph).
 */
import { readFileSync } from 'node:fs';

import { type AwsBootConfig, parseBootEnvironment } from './contract';
import { type Clock, systemClock } from './core/clock';
import { Deadline } from './core/deadline';
import { Exec } from './core/exec';
import { BootLog } from './core/log';
import { type DrainOutcome, type DrainWatchInput, watchAndDrain } from './drain/watch';
import { INSTANCE_LAYOUT } from './layout';
import { AwsCli } from './adapters/aws-cli';
import { DrainMetric } from './adapters/drain-metric';
import { ElbTargets } from './adapters/elb-targets';
import { ImdsNotices } from './adapters/imds-notices';
import { IMDS_BASE_URL, LinuxPlatform } from './adapters/linux-platform';
import { ServerMetrics } from './adapters/server-metrics';
import { SystemdSupervisor } from './adapters/systemd-supervisor';
import { DRAIN_WATCH_COMMAND } from './server/drain-unit';
import { SERVICE_USER } from './server/unit';

export const DRAIN_USAGE = `usage: boot ${DRAIN_WATCH_COMMAND} ENV_FILE`;

/** A time limit that ends at `untilMs` (the adapters' retries read theirs from a Deadline). */
function limitAt(untilMs: number, clock: Clock): Deadline {
  return new Deadline(clock.now(), 1, clock, untilMs);
}

/** The watcher's adapters on an instance. */
export function instanceDrainInput(config: AwsBootConfig & { targetGroupArn: string }, clock: Clock, log: (m: string) => void): DrainWatchInput {
  const exec = new Exec({ clock, serviceUser: SERVICE_USER });
  const imds = (untilMs: number) => ({ baseUrl: IMDS_BASE_URL, clock, random: Math.random, deadline: () => limitAt(untilMs, clock), log });
  let stopUntilMs = clock.now();
  const supervisor = new SystemdSupervisor({ exec, limitMs: () => stopUntilMs, serviceUser: SERVICE_USER, writer: 'graviton-llm drain', log });
  const cli = (untilMs: number) => new AwsCli({ program: 'aws', region: config.region, exec, clock, random: Math.random, deadline: () => limitAt(untilMs, clock), log });
  return {
    notices: new ImdsNotices(IMDS_BASE_URL),
    instanceId: (untilMs) => new LinuxPlatform({ imds: imds(untilMs) }).instanceId(),
    targets: new ElbTargets({ cli, targetGroupArn: config.targetGroupArn, port: config.port }),
    load: new ServerMetrics({ port: config.port, apiKeyFile: INSTANCE_LAYOUT.apiKeyFile }),
    ...(config.drainMetric !== undefined
      ? { counter: new DrainMetric({ cli, namespace: config.metricNamespace, metricName: config.drainMetric, autoScalingGroup: config.autoScalingGroup }) }
      : {}),
    stopServer: () => {
      // systemd's own stop timeout bounds it; this bound is for systemctl itself.
      stopUntilMs = clock.now() + 60_000;
      return supervisor.stop();
    },
    clock,
    log,
  };
}

/** What drainWatchMain runs against: an instance's adapters, or fakes in tests. */
export interface DrainSeams {
  readonly bootLog: string;
  readonly inputFor: (config: AwsBootConfig & { targetGroupArn: string }, clock: Clock, log: (m: string) => void) => DrainWatchInput;
  readonly clock: Clock;
}

const THIS_INSTANCE: DrainSeams = { bootLog: INSTANCE_LAYOUT.bootLog, inputFor: instanceDrainInput, clock: systemClock };

/** The watcher: arguments, configuration, log, watch. Resolves with the exit status (0 once drained). */
export async function drainWatchMain(
  argv: readonly string[],
  out: (line: string) => void,
  err: (line: string) => void,
  seams: DrainSeams = THIS_INSTANCE,
): Promise<number> {
  if (argv.length !== 1) {
    err(DRAIN_USAGE);
    return 2;
  }
  const envFile = argv[0];
  let text: string;
  try {
    text = readFileSync(envFile, 'utf8');
  } catch (e) {
    err(`${DRAIN_WATCH_COMMAND}: cannot read ${envFile}: ${(e as Error).message}`);
    return 2;
  }
  const parsed = parseBootEnvironment(text);
  // The boot read the same file before it started the watcher, and said what is wrong with it in full.
  if (!parsed.ok) {
    err(`${DRAIN_WATCH_COMMAND}: ${envFile} is not a usable boot configuration (${parsed.problems.map((p) => p.key ?? `line ${p.line}`).join(', ')}); see the boot's log`);
    return 2;
  }
  const config = parsed.config;
  if (config.mode !== 'aws' || config.role !== 'fleet' || config.targetGroupArn === undefined) {
    err(`${DRAIN_WATCH_COMMAND}: ${envFile} is not a fleet instance's configuration with GLLM_TARGET_GROUP_ARN: nothing to drain`);
    return 2;
  }
  const log = new BootLog({ clock: seams.clock, console: out, step: 'drain' });
  log.openFile(seams.bootLog);
  const say = (m: string) => log.log(m);
  const outcome: DrainOutcome = await watchAndDrain(seams.inputFor({ ...config, targetGroupArn: config.targetGroupArn }, seams.clock, say));
  return outcome.kind === 'drained' ? 0 : 1;
}
