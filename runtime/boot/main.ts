/**
 * The boot program's entry: `boot ENV_FILE`. Reads and checks the
 * configuration, takes the boot lock, opens the boot log, builds the adapters
 * for this machine (in one place: machineAdapters), runs the phases in order
 * under the one deadline, then reports how the boot ended under the
 * reporting grace.
 *
 * Both modes: local mode (a developer machine, `npm run local`) and aws mode
 * (an instance: the instance layout, the deadline from init's start, the
 * CloudWatch agent, the S3 cache, SSM, systemd, reports to AWS). Each runs
 * where the user data's trampoline (lib/boot/trampoline.sh) or `npm run
 * local` (lib/boot/local-boot.ts) runs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { type AwsBootConfig, type BootConfig, type BootEnvProblem, type BootRole, type LocalBootConfig, parseBootEnvironment } from './contract';
import { type Clock, systemClock } from './core/clock';
import { Deadline, deadlineOriginMs, initStartMs, procInitStartSources } from './core/deadline';
import { Exec } from './core/exec';
import { BootLog, type BootEvent, type BootEventData, secondsText } from './core/log';
import { PhaseFailure, runPhase } from './core/phase';
import { type BootLayout, INSTANCE_FILES, INSTANCE_LAYOUT, localLayout } from './layout';
import type { Cache, CachePublisher, LogAgent, ModelDownload, Packages, Platform, Reporter, Secrets, Supervisor } from './ports';
import { type ArtifactTrust, parsePins, type Pins, type PinsByGeneration, pinsForGeneration, pinsGenerationKey, PINS_VERSION } from './pins';
import { WaitConditionReporter } from './adapters/wait-condition-reporter';
import { AwsCli } from './adapters/aws-cli';
import { CLOUDWATCH_AGENT_CTL, CloudWatchAgent } from './adapters/cloudwatch-agent';
import { AwsReporter } from './adapters/aws-reporter';
import { S3Cache } from './adapters/s3-cache';
import { S3Download } from './adapters/s3-download';
import { SsmSecrets } from './adapters/ssm-secrets';
import { SystemdSupervisor } from './adapters/systemd-supervisor';
import { DirCache } from './adapters/dir-cache';
import { FileSecrets } from './adapters/file-secrets';
import { HttpsDownload } from './adapters/https-download';
import { IMDS_BASE_URL, LinuxPlatform } from './adapters/linux-platform';
import { LocalReporter } from './adapters/local-reporter';
import { LocalSupervisor } from './adapters/local-supervisor';
import { DnfAptPackages } from './adapters/packages';
import { X86_BASELINE_CPU_FLAGS } from './build/defines';
import { cpuPhase } from './phases/cpu';
import { depsPhase, type OptionalPackage } from './phases/deps';
import { agentPhase } from './phases/agent';
import { buildPhase } from './phases/build';
import { modelPhase } from './phases/model';
import { apiKeyPhase } from './phases/api-key';
import { preflightPhase, type ServerSettings } from './phases/preflight';
import { type MetadataCheck, servePhase } from './phases/serve';
import { healthPhase, httpHealthProbe } from './phases/health';
import { type BootEnd, reportPhase, type ReportPhaseOutput } from './phases/report';
import { type DrainWatchStarter, drainWatchPhase } from './phases/drain-watch';
import { SystemdDrainWatch } from './adapters/systemd-drain-watch';
import { drainWatchMain } from './drain-watch';
import { DRAIN_WATCH_COMMAND } from './server/drain-unit';
import { bootResultFromOutcome } from './result-from-outcome';
import { listenHost } from './server/args';
import { SERVICE_USER } from './server/unit';

export const USAGE = 'usage: boot ENV_FILE';

/** The configuration could not be used: the file, and every problem found (key, given, expected). */
export function describeProblems(file: string, problems: readonly BootEnvProblem[]): string[] {
  return problems.map((p) => {
    const where = p.line !== undefined ? `${file}:${p.line}` : file;
    const given = p.given === undefined ? 'not set' : `given ${JSON.stringify(p.given)}`;
    return `${where}: ${p.key ?? 'line'}: ${given}; expected ${p.expected}`;
  });
}

/** What the boot is for: a local boot is a fleet of one; an instance's is GLLM_ROLE's. */
export function roleOf(config: BootConfig): BootRole {
  return config.mode === 'aws' ? config.role : 'fleet';
}

/** The adapters the phases drive, for this machine: the one place that knows the mode. */
export interface MachineAdapters {
  readonly layout: BootLayout;
  readonly cache: Cache;
  readonly secrets: Secrets;
  /** What the api-key phase asks the secrets for: the key file (local), the SSM parameter (aws). */
  readonly apiKeySecret: string;
  readonly supervisor: Supervisor;
  readonly reporter: Reporter;
  readonly packages: Packages & Pick<DnfAptPackages, 'toolchainIdentity'>;
  readonly platform: Platform;
  readonly download: ModelDownload;
  readonly exec: Exec;
  /** The service user the build's programs and the server run as; none locally. */
  readonly serviceUser: string | undefined;
  /** The commands every boot runs. */
  readonly requiredTools: readonly string[];
  /** Nice to have, installed where missing (an instance's cfn-signal and CloudWatch agent). */
  readonly optionalPackages: readonly OptionalPackage[];
  /** What ships the logs off the machine (an instance's CloudWatch agent); none locally, and the agent phase does not run. */
  readonly logAgent?: LogAgent;
  /** The service's filter from the metadata service, checked after start (an instance). */
  readonly metadata?: MetadataCheck;
  readonly x86: 'allowed' | 'refused' | 'allowed-in-test-box';
  readonly lock: 'always' | 'where-memlock-covers';
  /** A builder's (GLLM_ROLE=builder): where it publishes, and the report its reporter sends once the phases made it. */
  readonly builder?: BuilderAdapters;
  /** What starts the drain watcher once the server serves: a fleet instance's whose stack names its target group. */
  readonly drainWatch?: DrainWatchStarter;
}

/** What a builder has that a fleet instance has not. */
export interface BuilderAdapters {
  readonly publisher: CachePublisher;
  /** Filled in by the boot once the build and the model are published; the reporter sends it. */
  readonly report: { pins?: Pins };
}

/** What the adapters read their time limit from: the deadline, then the reporting grace. */
export interface TimeLimit {
  current: Deadline;
}

/** Where a boot with this configuration keeps everything. */
export function layoutOf(config: BootConfig): BootLayout {
  return config.mode === 'aws' ? INSTANCE_LAYOUT : localLayout(config.workDir);
}

/** The commands every boot runs, in both modes. */
const LOCAL_REQUIRED_TOOLS = ['tar', 'gzip', 'curl', 'sha256sum', 'flock', 'setsid'] as const;

/**
 * The adapters for an instance: the S3 cache, SSM secrets, the lifecycle,
 * signal and metric reporter, the systemd unit, the package manager, the
 * model from https or S3 by its scheme; every AWS call through one CLI
 * runner under the time limit (`limit`, which the report moves to its grace).
 */
export async function awsAdapters(config: AwsBootConfig, limit: TimeLimit, clock: Clock, log: (m: string) => void): Promise<MachineAdapters> {
  const layout = layoutOf(config);
  const deadline = () => limit.current;
  const limitMs = () => limit.current.timeLimitMs();
  const platform = new LinuxPlatform({ imds: { baseUrl: IMDS_BASE_URL, clock, random: Math.random, deadline, log } });
  const exec = new Exec({ clock, serviceUser: SERVICE_USER });
  const cli = new AwsCli({ program: 'aws', region: config.region, exec, clock, random: Math.random, deadline, log });
  const packages = await DnfAptPackages.onThisMachine({ exec, limitMs, logDir: layout.logDir, root: platform.isRoot() });
  const supervisor = new SystemdSupervisor({ exec, limitMs, serviceUser: SERVICE_USER, writer: 'graviton-llm boot', log });
  const cache = new S3Cache({ cli, uri: config.cacheUri, log });
  const builder: BuilderAdapters | undefined = config.role === 'builder' ? { publisher: cache, report: {} } : undefined;
  const download: ModelDownload = config.modelSource.startsWith('s3://')
    ? new S3Download({ source: config.modelSource, cli, log })
    : new HttpsDownload({ source: config.modelSource, clock, deadline: { seconds: config.bootDeadlineSeconds, secondsLeft: () => limit.current.secondsLeft(), timeLimitMs: limitMs }, random: Math.random, log });
  // A builder reports to its wait condition's handle, a fleet instance to its group and stack.
  const reporter: Reporter = builder !== undefined
    ? new WaitConditionReporter({
      url: await readSignalUrl(config.builderSignalFile ?? ''), platform, pins: () => builder.report.pins, clock, random: Math.random, deadline, log,
    })
    : new AwsReporter({
      cli, platform, autoScalingGroup: config.autoScalingGroup, lifecycleHooks: config.lifecycleHooks, stackName: config.stackName,
      signalResource: config.signalResource, metricNamespace: config.metricNamespace, bootFailureMetric: config.bootFailureMetric, log,
    });
  return {
    layout,
    cache,
    secrets: new SsmSecrets(cli),
    apiKeySecret: config.apiKeyParameter,
    supervisor,
    reporter,
    packages,
    platform,
    download,
    exec,
    serviceUser: SERVICE_USER,
    requiredTools: [...LOCAL_REQUIRED_TOOLS, 'aws', 'systemctl', 'useradd', 'setpriv'],
    optionalPackages: [
      { package: 'aws-cfn-bootstrap', program: '/opt/aws/bin/cfn-signal' },
      { package: 'amazon-cloudwatch-agent', program: CLOUDWATCH_AGENT_CTL },
    ],
    logAgent: new CloudWatchAgent({
      program: CLOUDWATCH_AGENT_CTL, configFile: INSTANCE_FILES.agentConfig, prometheusConfigFile: INSTANCE_FILES.prometheusConfig,
      exec, limitMs, logFile: layout.bootLog,
    }),
    metadata: supervisor,
    // The instance box runs the instance's boot in an x86_64 container; the stack's user data never sets this.
    x86: process.env.GLLM_TEST_BOX_ALLOW_X86 === '1' ? 'allowed-in-test-box' : 'refused',
    lock: 'always',
    ...(builder !== undefined ? { builder } : {}),
    ...(config.role === 'fleet' && config.targetGroupArn !== undefined ? {
      drainWatch: new SystemdDrainWatch({
        exec, limitMs, writer: 'graviton-llm boot', node: process.execPath, bundle: INSTANCE_FILES.bootProgram, envFile: INSTANCE_FILES.bootEnv,
      }),
    } : {}),
  };
}

/** The wait condition handle's URL, the one line of GLLM_BUILDER_SIGNAL_FILE. */
async function readSignalUrl(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch((e: Error) => {
    throw new Error(`cannot read the builder's signal file ${file}: ${e.message}`);
  });
  const url = text.trim();
  if (!/^https?:\/\/\S+$/.test(url)) throw new Error(`the builder's signal file ${file} holds no URL`);
  return url;
}

/** The pins of a fleet instance the template pins (GLLM_PINS_FILE), or undefined where it pins nothing; throws the problem. */
async function readPins(config: BootConfig): Promise<{ readonly pinsFile: string; readonly pins: PinsByGeneration } | undefined> {
  if (config.mode !== 'aws' || config.pinsFile === undefined) return undefined;
  const file = config.pinsFile;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`pins file ${file}: cannot be read (${(e as Error).message})`);
  }
  const parsed = parsePins(file, text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return { pinsFile: file, pins: parsed.pins };
}

/**
 * Whom the build and the model are taken from (pins.ts ArtifactTrust): a
 * builder makes them; a pinned fleet instance takes its own generation's
 * pins, and a file without them fails the boot in the build phase, whose
 * build they were to name (recorded there by the end of the boot, as a
 * failure between phases is).
 */
function trustFor(a: MachineAdapters, pinned: { readonly pinsFile: string; readonly pins: PinsByGeneration } | undefined, generation: number, log: (m: string) => void): ArtifactTrust {
  if (a.builder !== undefined) return { kind: 'builder', publisher: a.builder.publisher };
  if (pinned === undefined) return { kind: 'cache' };
  const picked = pinsForGeneration(pinned.pinsFile, pinned.pins, generation);
  if ('problem' in picked) throw new PhaseFailure('build', picked.problem);
  const { pins } = picked;
  log(`pinned by ${pinned.pinsFile} (${pinsGenerationKey(generation)}): build ${pins.build.object} version ${pins.build.versionId}, model ${pins.model.object} version ${pins.model.versionId}`);
  return { kind: 'pinned', pinsFile: pinned.pinsFile, pins };
}

/** The adapters for a local boot: a directory cache, file secrets, a background server, no one to report to. */
export async function localAdapters(config: LocalBootConfig, limit: TimeLimit, clock: Clock, log: (m: string) => void): Promise<MachineAdapters> {
  const layout = layoutOf(config);
  const platform = new LinuxPlatform(config.cpuinfoPath !== undefined ? { cpuinfoPath: config.cpuinfoPath } : {});
  const exec = new Exec({ clock });
  const packages = await DnfAptPackages.onThisMachine({ exec, limitMs: () => limit.current.timeLimitMs(), logDir: layout.logDir, root: platform.isRoot() });
  return {
    layout,
    cache: new DirCache(config.cacheUri),
    secrets: new FileSecrets(),
    apiKeySecret: config.apiKeyFile,
    supervisor: new LocalSupervisor({ installRoot: layout.installRoot, pidFile: layout.pidFile, clock, log }),
    reporter: new LocalReporter(),
    packages,
    platform,
    download: new HttpsDownload({ source: config.modelSource, clock, deadline: { seconds: limit.current.seconds, secondsLeft: () => limit.current.secondsLeft(), timeLimitMs: () => limit.current.timeLimitMs() }, random: Math.random, log }),
    exec,
    serviceUser: undefined,
    requiredTools: LOCAL_REQUIRED_TOOLS,
    optionalPackages: [],
    x86: 'allowed',
    lock: 'where-memlock-covers',
  };
}

/** Builds the adapters for a configuration: machineAdapters, or fakes in tests. */
export type AdaptersFactory = (config: BootConfig, limit: TimeLimit, clock: Clock, log: (m: string) => void) => Promise<MachineAdapters>;

/** The adapters for this machine, by mode. */
export async function machineAdapters(config: BootConfig, limit: TimeLimit, clock: Clock, log: (m: string) => void): Promise<MachineAdapters> {
  return config.mode === 'local' ? localAdapters(config, limit, clock, log) : awsAdapters(config, limit, clock, log);
}

/** The service user's uid and gid (the build phase has made the user), for the model phase's llama-quantize. */
async function userIds(exec: Exec, user: string, limitMs: number): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => {
    const r = await exec.run({ step: 'model', program: 'id', args: [flag, user], limitMs });
    const n = Number(r.stdout.trim());
    if (r.exitCode !== 0 || !Number.isInteger(n)) throw new PhaseFailure('model', `step model: id ${flag} ${user} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
    return n;
  };
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * What a boot came to, for its result file (result.ts; made by
 * result-from-outcome.ts): how it ended, what each report came to, and every
 * event the phases recorded, oldest first.
 */
export interface BootOutcome {
  readonly mode: BootConfig['mode'];
  /** A local boot is a fleet of one. */
  readonly role: BootRole;
  /** The boot's deadline, in ms since the epoch. */
  readonly deadlineAtMs: number;
  readonly end: BootEnd;
  readonly report: ReportPhaseOutput | undefined;
  readonly events: readonly BootEvent[];
  readonly startedMs: number;
  readonly endedMs: number;
}

/** A program the boot needs before it can log or report (the lock's flock): what is missing, why, and what to install. */
export class MissingProgram extends Error {
  constructor(readonly program: string, readonly providedBy: string, why: string) {
    super(`the ${program} program is not installed (${why}); install the ${providedBy} package and run the boot again`);
    this.name = 'MissingProgram';
  }
}

/**
 * Takes the boot lock (layout.ts bootLock), so two boots on one machine never
 * run at once: a flock child holds it until this process's end closes its
 * standard input.
 */
export async function takeBootLock(lockFile: string): Promise<ChildProcess> {
  // The environment named, so flock is looked up on the PATH this process sees (as tests set it), not the one it started with.
  const holder = spawn('flock', [lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env });
  await new Promise<void>((resolve, reject) => {
    holder.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new MissingProgram('flock', 'util-linux', `it takes the boot lock ${lockFile}`) : e));
    holder.once('exit', (code) => reject(new Error(`flock ${lockFile} exited ${code} before the lock was held`)));
    holder.stdout!.once('data', () => resolve());
  });
  holder.removeAllListeners('exit');
  return holder;
}

/**
 * Runs the boot with this configuration and returns what it came to; lines
 * go to `log` (which the caller has made). Never rejects for a phase's sake.
 */
export async function boot(config: BootConfig, envFile: string, log: BootLog, clock: Clock, startedMs: number, adaptersFor: AdaptersFactory = machineAdapters): Promise<BootOutcome> {
  // An instance's deadline counts from init's start (the hook's timer started at launch); a local boot's from its own.
  const initStart = config.mode === 'aws' ? initStartMs(procInitStartSources) : undefined;
  const deadline = new Deadline(deadlineOriginMs(startedMs, config.bootDeadlineSeconds, initStart), config.bootDeadlineSeconds, clock);
  const limit: TimeLimit = { current: deadline };
  const say = (m: string) => log.log(m);
  const recordFor = (phase: string) => (event: string, detail: string, data?: BootEventData) => void log.record(phase, event, detail, data);
  const runner = { clock, log, deadline };
  let adapters: MachineAdapters | undefined;
  let end: BootEnd;
  try {
    adapters = await adaptersFor(config, limit, clock, say);
    const a = adapters;
    const { layout } = a;
    log.log(`boot (${config.mode} mode) with ${envFile}: ${config.instanceTypes.join(' or ')}, llama.cpp ${config.llamaCppRef}, model ${config.modelFile}; deadline in ${deadline.secondsLeft()} s`);
    // The pins are part of the configuration: a fleet instance whose pins cannot be read runs nothing.
    let pinned: Awaited<ReturnType<typeof readPins>>;
    try {
      pinned = await readPins(config);
    } catch (e) {
      const reason = (e as Error).message;
      log.record('config', 'failed', reason);
      log.log(`ERROR: ${reason}`);
      throw new PhaseFailure('config', reason);
    }
    if (pinned !== undefined) log.log(`pins file ${pinned.pinsFile}: pins for ${[...pinned.pins.keys()].map(pinsGenerationKey).join(', ')}`);
    // The config phase began with the program (BootOutcome.startedMs).
    log.record('config', 'done');
    const limitMs = () => limit.current.timeLimitMs();
    await runPhase(depsPhase, { requiredTools: a.requiredTools, optionalPackages: a.optionalPackages, packages: a.packages, platform: a.platform, log: say }, runner);
    if (a.logAgent !== undefined) {
      await runPhase(agentPhase, {
        agentConfigParameter: config.agentConfigParameter, prometheusConfigParameter: config.prometheusConfigParameter,
        bootLogGroup: config.bootLogGroup, serverLogGroup: config.serverLogGroup, bootLog: layout.bootLog, serverLog: layout.serverLog,
        agent: a.logAgent, secrets: a.secrets, log: say,
      }, runner);
    }
    const cpu = await runPhase(cpuPhase, { instanceTypes: config.instanceTypes, generations: config.generations, x86: a.x86, x86BaselineFlags: X86_BASELINE_CPU_FLAGS, platform: a.platform, log: say }, runner);
    const trust = trustFor(a, pinned, cpu.generation, say);
    const build = await runPhase(buildPhase, {
      trust,
      llamaCppRef: config.llamaCppRef,
      llamaCppCommit: config.llamaCppCommit,
      source: config.mode === 'local' && config.llamaCppSourceDir !== undefined ? { kind: 'directory', dir: config.llamaCppSourceDir } : { kind: 'repository', url: config.llamaCppRepository },
      quantizeTo: config.quantizeTo,
      machine: cpu.machine === 'aarch64' ? { machine: 'aarch64', armArch: cpu.armArch } : { machine: 'x86_64' },
      bootDeadlineSeconds: config.bootDeadlineSeconds,
      layout,
      serviceUser: a.serviceUser,
      exec: a.exec,
      limitMs,
      clock,
      random: Math.random,
      cache: { cache: a.cache, log: say, record: recordFor('build') },
      packages: a.packages,
      platform: a.platform,
      toolchain: () => a.packages.toolchainIdentity(),
      log: say,
    }, runner);
    const serviceIds = a.serviceUser === undefined ? undefined : await userIds(a.exec, a.serviceUser, limitMs());
    const model = await runPhase(modelPhase, {
      trust,
      modelSha256: config.modelSha256, modelSizeBytes: config.modelSizeBytes, modelFile: config.modelFile, quantizeTo: config.quantizeTo,
      llamaCppCommit: config.llamaCppCommit, llamaCppRef: config.llamaCppRef, hfTokenParameter: config.hfTokenParameter, bootDeadlineSeconds: config.bootDeadlineSeconds,
      layout, buildDir: build.buildDir, download: a.download, secrets: a.secrets, cache: a.cache, exec: a.exec, ...(serviceIds ? { serviceUser: serviceIds } : {}),
      cpuCount: a.platform.cpuCount(), clock, deadline: { timeLimitMs: limitMs }, log: say, record: recordFor('model'),
    }, runner);
    if (a.builder !== undefined) {
      // A builder serves nothing: what it made is its report, which the report phase sends.
      if (build.published === undefined || model.published === undefined) throw new PhaseFailure('model', 'the builder published no build or no model (a bug)');
      a.builder.report.pins = { version: PINS_VERSION, buildKey: build.key, build: build.published, model: model.published };
      log.log(`builder: published build ${build.published.object} version ${build.published.versionId} and model ${model.published.object} version ${model.published.versionId}`);
      end = { ok: true };
    } else {
      const key = await runPhase(apiKeyPhase, { secret: a.apiKeySecret, secrets: a.secrets, layout, log: say, record: recordFor('api-key') }, runner);
      const settings: ServerSettings = {
        modelPath: model.modelPath, host: listenHost(config.mode), port: config.port, parallelSlots: config.parallelSlots,
        contextPerSlot: config.contextPerSlot, promptCacheMiB: config.promptCacheMiB, threads: a.platform.cpuCount(),
      };
      const modelBytes = (await stat(model.modelPath)).size;
      const preflight = await runPhase(preflightPhase, {
        llamaServer: build.llamaServer, settings, lock: a.lock, modelBytes, scratchDir: layout.stateDir, limitMs, exec: a.exec,
        platform: a.platform, log: say, record: recordFor('preflight'),
      }, runner);
      await runPhase(servePhase, {
        llamaServer: build.llamaServer, settings, lockArgs: preflight.lockArgs, apiKeyFile: key.apiKeyFile, buildDir: build.buildDir,
        modelDir: layout.modelDir, serverLog: layout.serverLog, supervisor: a.supervisor, ...(a.metadata ? { metadata: a.metadata } : {}),
        log: say, record: recordFor('serve'),
      }, runner);
      await runPhase(healthPhase, {
        healthTimeoutSeconds: config.healthTimeoutSeconds, deadline, clock, probe: httpHealthProbe(config.port), supervisor: a.supervisor,
        log: say, record: recordFor('health'),
      }, runner);
      if (a.drainWatch !== undefined) await runPhase(drainWatchPhase, { watcher: a.drainWatch, log: say, record: recordFor('drain-watch') }, runner);
      end = { ok: true };
    }
  } catch (e) {
    const failure = e instanceof PhaseFailure ? e : new PhaseFailure(log.step, e instanceof Error ? e.message : String(e));
    if (!(e instanceof PhaseFailure)) {
      log.record(failure.phase, 'failed', failure.reason);
      log.log(`ERROR: ${failure.reason}`);
    }
    end = { ok: false, failure };
  }

  // The end: a failed boot says why, stops the server it may have started, then reports.
  log.step = end.ok ? 'signal' : 'failure';
  if (!end.ok) log.log(`boot failed: ${end.failure.reason}`);
  if (!end.ok && adapters !== undefined) {
    try {
      await adapters.supervisor.stop();
    } catch (e) {
      log.log(`WARNING: could not stop llama-server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let report: ReportPhaseOutput | undefined;
  if (adapters !== undefined) {
    log.record(reportPhase.name, 'start');
    report = await reportPhase.run({
      end, deadline, enterGrace: (grace) => { limit.current = grace; }, reporter: adapters.reporter, log: say, record: recordFor('report'),
    });
    log.record(reportPhase.name, 'done');
  }
  if (end.ok) log.log(`boot succeeded in ${secondsText(clock.now() - startedMs)} s; ${roleOf(config) === 'builder' ? 'build and model published' : `serving ${config.modelFile} on port ${config.port}`}`);
  return { mode: config.mode, role: roleOf(config), deadlineAtMs: deadline.endMs, end, report, events: log.events(), startedMs, endedMs: clock.now() };
}

/**
 * Writes the boot's result to `file` (layout.ts bootResult) through a
 * temporary name, so a reader finds the whole of it or none; readable by its
 * owner only (a failure reason can quote the model's source URL, which may
 * carry a presigned signature). Best effort:
 * a result that cannot be written fails no boot; the warning says so. Written
 * before the last output line, so whoever waits on that line finds it.
 */
export async function writeBootResult(file: string, outcome: BootOutcome, log: (m: string) => void): Promise<void> {
  const tmp = `${file}.tmp.${process.pid}`;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(bootResultFromOutcome(outcome))}\n`, { mode: 0o600 });
    // writeFile's mode holds only for a file it creates (one a killed boot left under this name keeps its own).
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    log(`WARNING: could not write the boot result ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What main runs against: this machine, or in tests a layout under a temporary directory and fake adapters. */
export interface MainSeams {
  readonly layoutFor: (config: BootConfig) => BootLayout;
  readonly adaptersFor: AdaptersFactory;
}

const THIS_MACHINE: MainSeams = { layoutFor: layoutOf, adaptersFor: machineAdapters };

/** The whole program: arguments, configuration, lock, log, boot. Resolves with the exit status. */
export async function main(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  seams: MainSeams = THIS_MACHINE,
): Promise<number> {
  // The same bundle is the drain watcher, which its unit runs once the boot serves.
  if (argv[0] === DRAIN_WATCH_COMMAND) return drainWatchMain(argv.slice(1), out, err);
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    out(USAGE);
    return 0;
  }
  if (argv.length !== 1) {
    err(USAGE);
    return 2;
  }
  const envFile = argv[0];
  const clock = systemClock;
  const startedMs = clock.now();
  let text: string;
  try {
    text = readFileSync(envFile, 'utf8');
  } catch (e) {
    err(`boot: cannot read ${envFile}: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const parsed = parseBootEnvironment(text);
  if (!parsed.ok) {
    err(`boot: ${envFile} is not a usable boot configuration:`);
    for (const line of describeProblems(envFile, parsed.problems)) err(`  ${line}`);
    return 2;
  }
  const config = parsed.config;
  const layout = seams.layoutFor(config);
  // Before the log exists, a failure can only be said on stderr (an instance's trampoline then reports it).
  for (const dir of [layout.logDir, layout.stateDir]) {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      // A Node fs error's own text (code, syscall, path); `instanceof Error` is not relied on across realms.
      err(`boot: cannot make the directory ${dir}: ${(e as { message?: unknown }).message ?? String(e)}`);
      return 1;
    }
  }
  let lock: ChildProcess;
  try {
    lock = await takeBootLock(layout.bootLock);
  } catch (e) {
    if (!(e instanceof MissingProgram)) throw e;
    err(`boot: cannot take the boot lock: ${e.message}`);
    return 1;
  }
  try {
    // The previous boot's result goes: until this one ends, there is none.
    await rm(layout.bootResult, { force: true });
    const log = new BootLog({ clock, console: out, step: 'config' });
    log.openFile(layout.bootLog);
    const outcome = await boot(config, envFile, log, clock, startedMs, seams.adaptersFor);
    await writeBootResult(layout.bootResult, outcome, (m) => log.log(m));
    // The last line, which `npm run local` and the tests read.
    out(outcome.end.ok ? 'GLLM_BOOT_RESULT=SUCCESS' : `GLLM_BOOT_RESULT=FAILURE reason=${outcome.end.failure.reason}`);
    return outcome.end.ok ? 0 : 1;
  } finally {
    lock.stdin!.end();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e) => {
      process.stderr.write(`boot: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
