/**
 * The instance in a box: a Debian 12 systemd machine booted with
 * systemd-nspawn on this host, in a network namespace of its own that holds
 * only loopback and 169.254.169.254, with the box's AWS (moto and an IMDSv2
 * stand-in, box_aws.py) inside that namespace. The synthesized user data runs
 * in it as cloud-init would run it, so the kit's whole instance path (IMDS,
 * S3, SSM, systemd and its sandboxing, the lifecycle hook, the failure
 * metric) executes for real, and nothing can reach any other address.
 *
 * Needs root, systemd-nspawn, debootstrap, iproute2 and moto on python3.
 * Everything a box makes (the overlay mount, the container, the namespace,
 * the moto process) is removed by destroy(), by an exit handler if the test
 * process dies first, and by the next run's sweep if even that was missed.
 */
import { ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { BOOT_RESULT_PATHS, BootResult, parseBootResult } from '../../../runtime/boot/result';
import { cacheRoot } from '../llama-cpp-source';
import { BoxArch, ensureRootfs } from './rootfs';
import { BOX_WAIT_CONDITION_SECRET, HandlePut, handlePuts } from './wait-condition';

const run = promisify(execFile);

const BOX_AWS = path.join(__dirname, 'box_aws.py');
const NETNS_PREFIX = 'gllm-box-';
/** Where moto listens inside the box's namespace; the box's `aws` wrapper points there. */
export const BOX_AWS_ENDPOINT = 'http://127.0.0.1:5000';
/** Inside a box: one line per AWS CLI call, its arguments. */
export const BOX_AWS_CALLS_LOG = '/var/log/box-aws-calls.log';

/** Why the box cannot run on this machine, or undefined when it can. */
export function boxUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the instance box needs root (systemd-nspawn, mounts, network namespaces)';
  for (const tool of ['systemd-nspawn', 'debootstrap', 'ip', 'nsenter', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `the instance box needs ${tool}: run .ci/setup (or apt-get install systemd-container debootstrap iproute2 util-linux)`;
  }
  if (spawnSync('python3', ['-c', 'import moto, boto3']).status !== 0) return 'the instance box needs moto and boto3 on python3';
  return undefined;
}

export interface BoxFile {
  /** Absolute path inside the box. */
  readonly path: string;
  readonly content: string | Buffer;
  readonly mode?: number;
}

export interface BoxBind {
  readonly host: string;
  readonly box: string;
  readonly readOnly?: boolean;
}

export interface BoxOptions {
  readonly arch: BoxArch;
  /** Short name, for the run directory and messages. */
  readonly name: string;
  /** The user data script, tokens resolved: run once, on the first boot, as cloud-init's scripts_user. */
  readonly userData: string;
  /** Environment of the cloud-init stand-in (and so of the user data). */
  readonly cloudInitEnvironment?: Record<string, string>;
  readonly files?: readonly BoxFile[];
  readonly binds?: readonly BoxBind[];
  /** Units among `files` to enable (wanted by multi-user.target). */
  readonly enableUnits?: readonly string[];
  /** Environment of the machine's init (systemd-nspawn --setenv). */
  readonly initEnvironment?: Record<string, string>;
  /** Absolute paths deleted from the box's file system before it boots: an image that lacks them. */
  readonly removePaths?: readonly string[];
}

/**
 * One boot of the box as the box saw it: the cloud-init stand-in's exit status and output. What the
 * kit's boot itself says it did is its own boot result (runtime/boot/result.ts): see bootResult().
 */
export interface BoxBootRun {
  /** Boot number, from 1. */
  readonly boot: number;
  /**
   * Exit status of the user data (first boot) or of the per-boot scripts (later boots); null where the
   * machine powered off before the cloud-init stand-in recorded it (a builder's `shutdown -h now`).
   */
  readonly status: number | null;
  /** What the user data or per-boot scripts printed. */
  readonly output: string;
  readonly seconds: number;
  /** Whether the machine powered itself off before the boot() call returned (only with mayPowerOff). */
  readonly poweredOff: boolean;
}

/** Leftovers of runs that died before cleaning up: their namespaces and mounts. */
function sweep(runRoot: string): void {
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  for (const line of names.split('\n')) {
    const name = line.split(' ')[0];
    const m = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    if (m && !processExists(Number(m[1]))) deleteNetns(name);
  }
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((p) => p?.startsWith(runRoot));
  for (const mount of mounts.sort().reverse()) {
    const owner = /\/(\d+)-[^/]+\/merged$/.exec(mount);
    if (owner && !processExists(Number(owner[1]))) spawnSync('umount', ['-l', mount]);
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function deleteNetns(name: string): void {
  // Whatever still runs in it (a moto that outlived its parent) goes with it.
  const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
  for (const pid of pids.split('\n').filter(Boolean)) spawnSync('kill', ['-KILL', pid]);
  spawnSync('ip', ['netns', 'delete', name]);
}

function runRoot(): string {
  const dir = path.join(cacheRoot(), 'box', 'run');
  mkdirSync(dir, { recursive: true });
  return dir;
}

let boxCount = 0;
const liveResources = new Set<{ destroySync(): void }>();
process.on('exit', () => {
  // Machines first: they use the namespaces.
  for (const r of [...liveResources].reverse()) r.destroySync();
});

/**
 * The box's AWS: a network namespace holding only loopback and
 * 169.254.169.254, with moto and the IMDS stand-in (box_aws.py) inside it.
 * One per test file; the instances booted in it one after another are
 * launches of the same stack, sharing its buckets, parameters and group.
 */
export class BoxAws {
  readonly dir: string;
  readonly netns: string;
  readonly stateDir: string;
  private process?: ChildProcess;

  private constructor(id: string) {
    this.dir = path.join(runRoot(), `${process.pid}-${id}-aws`);
    this.netns = `${NETNS_PREFIX}${process.pid}-${id}`;
    this.stateDir = path.join(this.dir, 'state');
  }

  static async create(id: string): Promise<BoxAws> {
    sweep(runRoot());
    const aws = new BoxAws(id);
    liveResources.add(aws);
    try {
      rmSync(aws.dir, { recursive: true, force: true });
      mkdirSync(aws.stateDir, { recursive: true });
      await run('ip', ['netns', 'add', aws.netns]);
      await run('ip', ['-n', aws.netns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', aws.netns, 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
      await aws.start();
      return aws;
    } catch (err) {
      aws.destroySync();
      throw err;
    }
  }

  private async start(): Promise<void> {
    const logFile = path.join(this.dir, 'aws.log');
    const log = openSync(logFile, 'a');
    this.process = spawn('ip', ['netns', 'exec', this.netns, 'python3', BOX_AWS, 'serve', this.stateDir], {
      stdio: ['ignore', log, log], env: { ...process.env, BOX_WAIT_CONDITION_SECRET },
    });
    closeSync(log);
    const ready = path.join(this.stateDir, 'ready');
    for (let i = 0; i < 300 && !existsSync(ready) && this.process.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!existsSync(ready)) throw new Error(`the box's AWS (moto) did not start: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
  }

  /** Creates what the stack would have made, where missing, and launches one instance (pending on the boot hook); returns its id. */
  async launchInstance(spec: unknown): Promise<string> {
    writeFileSync(path.join(this.stateDir, 'spec.json'), JSON.stringify(spec));
    return (await this.command('setup')).instanceId;
  }

  /**
   * Makes the box's AWS fail the next `count` calls of `api` with a throttling
   * error (a transient failure, as the AWS CLI and the boot's retries see it).
   * Only CompleteLifecycleAction is wired for faults.
   */
  injectFaults(api: 'CompleteLifecycleAction', count: number): void {
    const file = path.join(this.stateDir, 'faults.json');
    const faults = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
    writeFileSync(file, JSON.stringify({ ...faults, [api]: count }));
  }

  /** What the instances did, as the box's AWS recorded it: API events, metrics, objects, wait condition signals. */
  async observe(): Promise<BoxObservation> {
    const observed = await this.command('observe');
    return { ...observed, handlePuts: handlePuts(observed.events) };
  }

  /** Every version in `bucket`: its key, version id, the SHA-256 of its bytes and whether it is the latest. */
  async objectVersions(bucket: string): Promise<BoxObjectVersion[]> {
    writeFileSync(path.join(this.stateDir, 'request.json'), JSON.stringify({ bucket }));
    return this.command('versions');
  }

  /** Deletes one version of an object (a permanent delete, as the bucket's owner could make). */
  async deleteObjectVersion(bucket: string, key: string, versionId: string): Promise<void> {
    writeFileSync(path.join(this.stateDir, 'request.json'), JSON.stringify({ bucket, key, versionId }));
    await this.command('delete-version');
  }

  /** Writes an object into the box's S3, from outside any instance (as anyone with the stack's credentials could). */
  async putObject(bucket: string, key: string, file: string): Promise<void> {
    writeFileSync(path.join(this.stateDir, 'put.json'), JSON.stringify({ bucket, key, file }));
    await this.command('put');
  }

  /**
   * Registers the instance with the stack's target groups, on their port, as Auto Scaling does
   * with a group's instances once they are in service ("Use Elastic Load Balancing to distribute
   * incoming application traffic in your Auto Scaling group",
   * https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-load-balancer.html).
   */
  async registerTargets(instanceId: string): Promise<void> {
    writeFileSync(path.join(this.stateDir, 'request.json'), JSON.stringify({ instanceId }));
    await this.command('register-targets');
  }

  /** DescribeTargetHealth of the instance in each of the stack's target groups, as moto answers it. */
  async targetHealth(instanceId: string): Promise<BoxTargetHealth[]> {
    writeFileSync(path.join(this.stateDir, 'request.json'), JSON.stringify({ instanceId }));
    return this.command('target-health');
  }

  /**
   * The IMDS stand-in starts announcing `notice` as EC2 does, and returns when (ms since the epoch):
   * - interruption: spot/instance-action, `{"action": "terminate", "time": ...}`, the time of the
   *   interruption two minutes on ("Spot Instance interruption notices", instance-action,
   *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html);
   * - rebalance: events/recommendations/rebalance, `{"noticeTime": ...}`, the time it was emitted
   *   ("EC2 instance rebalance recommendations", Use instance metadata,
   *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html).
   * Both paths answer 404 until announced, and again after withdrawNotices().
   */
  announce(notice: 'interruption' | 'rebalance'): number {
    const nowMs = Date.now();
    // EC2 writes these times to the second: 2017-09-18T08:22:00Z.
    const at = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    const notices = notice === 'interruption'
      ? { '/latest/meta-data/spot/instance-action': JSON.stringify({ action: 'terminate', time: at(nowMs + 120_000) }) }
      : { '/latest/meta-data/events/recommendations/rebalance': JSON.stringify({ noticeTime: at(nowMs) }) };
    const file = path.join(this.stateDir, 'notices.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(notices));
    renameSync(`${file}.tmp`, file);
    return nowMs;
  }

  /** The IMDS stand-in announces nothing again (a fresh instance's metadata). */
  withdrawNotices(): void {
    rmSync(path.join(this.stateDir, 'notices.json'), { force: true });
  }

  /** The events the box's AWS recorded so far (events.jsonl), read directly: cheap enough to poll. */
  events(): BoxEvent[] {
    const file = path.join(this.stateDir, 'events.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  private async command(command: 'setup' | 'observe' | 'put' | 'versions' | 'delete-version' | 'register-targets' | 'target-health'): Promise<any> {
    const { stdout } = await run('ip', ['netns', 'exec', this.netns, 'python3', BOX_AWS, command, this.stateDir], { maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout);
  }

  /** curl in the namespace, from outside the machine (as the load balancer would reach it). */
  async http(url: string, options: { headers?: Record<string, string>; body?: string; method?: string; contentType?: string } = {}): Promise<{ status: number; body: string }> {
    const args = ['netns', 'exec', this.netns, 'curl', '-sS', '--max-time', '120', '-o', '-', '-w', '\n%{http_code}'];
    if (options.method !== undefined) args.push('-X', options.method);
    for (const [k, v] of Object.entries(options.headers ?? {})) args.push('-H', `${k}: ${v}`);
    // An empty contentType sends none (curl's `-H 'Content-Type:'`, as the wait condition documentation's example).
    if (options.body !== undefined) args.push('-H', `Content-Type:${options.contentType === '' ? '' : ` ${options.contentType ?? 'application/json'}`}`, '--data-binary', options.body);
    args.push(url);
    const r = spawnSync('ip', args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    const out = r.stdout ?? '';
    const cut = out.lastIndexOf('\n');
    return { status: Number(out.slice(cut + 1)), body: out.slice(0, cut) };
  }

  destroySync(): void {
    if (this.process && this.process.exitCode === null) this.process.kill('SIGTERM');
    this.process = undefined;
    deleteNetns(this.netns);
    rmSync(this.dir, { recursive: true, force: true });
    liveResources.delete(this);
  }
}

export interface BoxEvent {
  readonly api: string;
  /** When the box's AWS took the call (seconds since the epoch). */
  readonly time: number;
  readonly error?: string;
  readonly [key: string]: unknown;
}

export interface BoxObservation {
  readonly events: BoxEvent[];
  readonly metrics: { name: string; dimensions: Record<string, string>; sum: number }[];
  readonly objects: Record<string, string[]>;
  /** Per versioned bucket, how many versions each key has. */
  readonly versions: Record<string, Record<string, number>>;
  /** The PUTs to wait condition handle URLs the box's S3 took, in order: the signals (wait-condition.ts). */
  readonly handlePuts: HandlePut[];
}

export interface BoxTargetHealth {
  readonly targetGroupArn: string;
  readonly id: string;
  /** healthy, draining, unused, ... (ELB's TargetHealth State). */
  readonly state: string;
  readonly reason: string | null;
}

export interface BoxObjectVersion {
  readonly key: string;
  readonly versionId: string;
  readonly sha256: string;
  readonly isLatest: boolean;
}

export class InstanceBox {
  readonly dir: string;
  readonly merged: string;
  readonly consoleLog: string;
  private container?: ChildProcess;
  private mounted = false;
  private boots = 0;

  private constructor(readonly aws: BoxAws, readonly options: BoxOptions) {
    boxCount += 1;
    this.dir = path.join(runRoot(), `${process.pid}-${options.name}-${boxCount}`);
    this.merged = path.join(this.dir, 'merged');
    this.consoleLog = path.join(this.dir, 'console.log');
  }

  /** Mounts a fresh overlay of the root file system and writes the cloud-init stand-in and the user data into it. */
  static async create(aws: BoxAws, options: BoxOptions): Promise<InstanceBox> {
    const lower = await ensureRootfs(options.arch);
    const box = new InstanceBox(aws, options);
    liveResources.add(box);
    try {
      rmSync(box.dir, { recursive: true, force: true });
      for (const d of ['upper', 'work', 'merged']) mkdirSync(path.join(box.dir, d), { recursive: true });
      await run('mount', ['-t', 'overlay', 'overlay', '-o',
        `lowerdir=${lower},upperdir=${path.join(box.dir, 'upper')},workdir=${path.join(box.dir, 'work')}`, box.merged]);
      box.mounted = true;
      for (const p of options.removePaths ?? []) {
        if (!path.isAbsolute(p)) throw new Error(`removePaths: ${p} is not an absolute path`);
        // lstat semantics: a symlink (cc -> /etc/alternatives/cc) is removed, not what it points to.
        rmSync(path.join(box.merged, p), { recursive: true, force: true });
      }
      box.writeFiles();
      return box;
    } catch (err) {
      box.destroySync();
      throw err;
    }
  }

  /** The cloud-init stand-in, the AWS CLI pointed at the box's moto, and the test's own files. */
  private writeFiles(): void {
    const env = Object.entries(this.options.cloudInitEnvironment ?? {}).map(([k, v]) => `Environment=${k}=${v}`);
    const files: BoxFile[] = [
      { path: '/etc/hostname', content: `${this.options.name}\n` },
      { path: '/var/lib/cloud/instance/user-data.txt', content: this.options.userData, mode: 0o700 },
      { path: '/usr/local/sbin/box-cloud-init', mode: 0o755, content: CLOUD_INIT_STAND_IN },
      {
        path: '/etc/systemd/system/box-cloud-init.service',
        content: [
          '[Unit]',
          'Description=cloud-init final stage (instance box stand-in): per-boot scripts, then the user data on the first boot',
          'After=network-online.target',
          'Wants=network-online.target',
          '',
          '[Service]',
          'Type=oneshot',
          'ExecStart=/usr/local/sbin/box-cloud-init',
          'Environment=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          ...env,
          'TimeoutStartSec=infinity',
          'StandardOutput=journal+console',
          'StandardError=journal+console',
          '',
          '[Install]',
          'WantedBy=multi-user.target',
          '',
        ].join('\n'),
      },
      // Debian's CLI (2.9) ignores AWS_ENDPOINT_URL (honoured from 2.13): the endpoint goes on the command line.
      // Each call's arguments go to BOX_AWS_CALLS_LOG, for tests of what the instance asked.
      {
        path: '/usr/local/bin/aws', mode: 0o755,
        content: `#!/bin/sh\necho "$*" >>${BOX_AWS_CALLS_LOG}\nexec /usr/bin/aws --endpoint-url ${BOX_AWS_ENDPOINT} "$@"\n`,
      },
      ...(this.options.files ?? []),
    ];
    for (const f of files) this.write(f.path, f.content, f.mode);
    const wants = path.join(this.merged, 'etc/systemd/system/multi-user.target.wants');
    mkdirSync(wants, { recursive: true });
    for (const unit of ['box-cloud-init.service', ...(this.options.enableUnits ?? [])]) {
      rmSync(path.join(wants, unit), { force: true });
      spawnSync('ln', ['-s', `/etc/systemd/system/${unit}`, path.join(wants, unit)]);
    }
  }

  private nspawnArgs(): string[] {
    return [
      '--register=no', '--keep-unit', '--quiet', '-D', this.merged,
      `--network-namespace-path=/run/netns/${this.aws.netns}`,
      `--machine=${this.options.name}`,
      ...(this.options.binds ?? []).map((b) => `--bind${b.readOnly ? '-ro' : ''}=${b.host}:${b.box}`),
      ...Object.entries(this.options.initEnvironment ?? {}).map(([k, v]) => `--setenv=${k}=${v}`),
    ];
  }

  /** Runs one command in the machine's file system without booting it (before the first boot). */
  runOnce(argv: readonly string[], timeoutMs = 5 * 60 * 1000): { status: number | null; stdout: string; stderr: string } {
    if (this.container) throw new Error('the box is running');
    const r = spawnSync('systemd-nspawn', [...this.nspawnArgs(), '--pipe', '--', ...argv], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * Boots the machine and waits until the cloud-init stand-in has run; the machine keeps running.
   * With mayPowerOff, a machine that powers itself off first (a builder) ends the wait too.
   */
  async boot(timeoutMs: number, options: { mayPowerOff?: boolean } = {}): Promise<BoxBootRun> {
    if (this.container) throw new Error('the box is already running');
    this.boots += 1;
    const boot = this.boots;
    const rcFile = path.join(this.merged, 'var/lib/box', `boot-${boot}.rc`);
    const log = openSync(this.consoleLog, 'a');
    const started = Date.now();
    this.container = spawn('systemd-nspawn', [...this.nspawnArgs(), '-b'], { stdio: ['ignore', log, log] });
    closeSync(log);
    let poweredOff = false;
    for (;;) {
      if (existsSync(rcFile)) break;
      if (this.container.exitCode !== null || this.container.signalCode !== null) {
        const exited = `exit ${this.container.exitCode ?? this.container.signalCode}`;
        this.container = undefined;
        if (options.mayPowerOff && exited === 'exit 0') {
          poweredOff = true;
          break;
        }
        throw new Error(`the box exited during boot ${boot} (${exited}); console:\n${this.console().slice(-3000)}`);
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`boot ${boot} did not finish within ${timeoutMs / 1000} s; console:\n${this.console().slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const status = existsSync(rcFile) ? Number(readFileSync(rcFile, 'utf8').trim()) : null;
    const logFile = path.join(this.merged, 'var/lib/box', `boot-${boot}.log`);
    const output = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    return { boot, status, output, seconds: (Date.now() - started) / 1000, poweredOff };
  }

  /** Waits up to timeoutMs for the machine to power itself off (systemd-nspawn exits 0); whether it did. */
  async poweredOff(timeoutMs: number): Promise<boolean> {
    const container = this.container;
    if (!container) return true;
    const started = Date.now();
    while (container.exitCode === null && container.signalCode === null && Date.now() - started < timeoutMs) {
      await new Promise((r) => setTimeout(r, 250));
    }
    if (container.exitCode === null && container.signalCode === null) return false;
    this.container = undefined;
    return container.exitCode === 0;
  }

  console(): string {
    return existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8') : '';
  }

  /** PID (on this host) of the box's systemd: the descendant of our systemd-nspawn that is PID 1 in its namespace. */
  private initPid(): number {
    const root = this.container?.pid;
    if (!root) throw new Error('the box is not running');
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
        if (ppid) parents.set(Number(entry), Number(ppid[1]));
      } catch {
        // A process that ended while we looked.
      }
    }
    const descends = (pid: number): boolean => {
      for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
      return false;
    };
    for (const pid of parents.keys()) {
      if (!descends(pid)) continue;
      try {
        if (/^NSpid:\s+\d+\s+1$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return pid;
      } catch {
        // Ended meanwhile.
      }
    }
    throw new Error('the box is not running');
  }

  /** Runs a command inside the running box (its mounts, PIDs and network), as root. */
  exec(argv: readonly string[], timeoutMs = 60_000): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', ['-t', String(this.initPid()), '-m', '-u', '-i', '-n', '-p', '--', ...argv], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** `systemctl show` properties of a unit in the box. */
  unitProperties(unit: string, properties: readonly string[]): Record<string, string> {
    const r = this.exec(['systemctl', 'show', unit, ...properties.map((p) => `--property=${p}`)]);
    return Object.fromEntries(r.stdout.trim().split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }

  /** A file in the box's file system (through the overlay). */
  read(boxPath: string): string {
    return readFileSync(path.join(this.merged, boxPath), 'utf8');
  }

  /** Writes a file into the box's file system (through the overlay). */
  write(boxPath: string, content: string | Buffer, mode = 0o644): void {
    const target = path.join(this.merged, boxPath);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content, { mode });
  }

  exists(boxPath: string): boolean {
    return existsSync(path.join(this.merged, boxPath));
  }

  /** The kit boot's own result of its last boot, parsed with its schema: none, or a malformed one, throws. */
  bootResult(): BootResult {
    return parseBootResult(this.read(BOOT_RESULT_PATHS.instance));
  }

  /** An orderly shutdown (nspawn turns SIGTERM into the container's poweroff); the disk is kept for the next boot. */
  async shutdown(timeoutMs = 90_000): Promise<void> {
    const container = this.container;
    if (!container) return;
    const exited = new Promise<void>((resolve) => {
      if (container.exitCode !== null || container.signalCode !== null) resolve();
      else container.once('exit', () => resolve());
    });
    container.kill('SIGTERM');
    const timer = setTimeout(() => container.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.container = undefined;
  }

  async destroy(): Promise<void> {
    await this.shutdown().catch(() => undefined);
    this.destroySync();
  }

  /** Removes everything the box made; safe to call more than once and from an exit handler. */
  destroySync(): void {
    if (this.container && this.container.exitCode === null) {
      this.container.kill('SIGKILL');
      // nspawn's child (the container's init) dies with it; wait briefly so the mount is free.
      spawnSync('sleep', ['1']);
    }
    this.container = undefined;
    if (this.mounted) {
      if (spawnSync('umount', [this.merged]).status !== 0) spawnSync('umount', ['-l', this.merged]);
      this.mounted = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
    liveResources.delete(this);
  }
}

/**
 * What cloud-init's final stage does with the kit's user data: on every boot
 * the per-boot scripts (none yet on the first), then, on the first boot only,
 * the user data. The exit status and output land in /var/lib/box for the test.
 */
const CLOUD_INIT_STAND_IN = `#!/bin/bash
set -u
mkdir -p /var/lib/box /var/lib/cloud/instance/sem
n=$(( $(cat /var/lib/box/boots 2>/dev/null || echo 0) + 1 ))
echo "$n" > /var/lib/box/boots
log=/var/lib/box/boot-$n.log
rc=0
for script in /var/lib/cloud/scripts/per-boot/*; do
  [ -x "$script" ] || continue
  echo "== per-boot $script" >>"$log"
  "$script" >>"$log" 2>&1 || rc=$?
done
if [ ! -e /var/lib/cloud/instance/sem/user-data ]; then
  touch /var/lib/cloud/instance/sem/user-data
  echo "== user data" >>"$log"
  date +%s.%N >/var/lib/box/user-data-started
  /var/lib/cloud/instance/user-data.txt >>"$log" 2>&1 || rc=$?
fi
echo "$rc" > /var/lib/box/boot-$n.rc.tmp
mv /var/lib/box/boot-$n.rc.tmp /var/lib/box/boot-$n.rc
`;
