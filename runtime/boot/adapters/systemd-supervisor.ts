/**
 * The Supervisor of an instance: llama-server as a hardened systemd unit
 * (server/unit.ts writes its text), run as a service user of its own, its log
 * kept in bounds by a timer, the metadata service checked out of its reach.
 *
 * Every program (systemctl, journalctl, useradd, chown, systemd-run) runs
 * through core/exec.ts under the boot's time limit; `root` is where /etc and
 * /opt are, so the tests write under a temporary directory.
 */
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ExecRequest, type ExecResult, explainExit, succeeded } from '../core/exec';
import type { MetadataCheckOutcome } from '../phases/serve';
import type { ServerLaunch, Supervisor, SupervisorStartOutcome } from '../ports';
import { CREDENTIAL_KEY_FILE, LOG_ROTATE_SCRIPT, LOG_ROTATE_UNIT, logRotation, renderUnit, systemdExecLine, UNIT_NAME } from '../server/unit';
import { logOffset, serverLastWords } from './server-log';

export const SYSTEMD_STEP = 'serve';

export interface SystemdSupervisorOptions {
  /** Runs the programs (as root: none of them as the service user). */
  readonly exec: { run(req: ExecRequest): Promise<ExecResult> };
  /** The boot's time limit, in ms since the epoch (Deadline.timeLimitMs). */
  readonly limitMs: () => number;
  /** The user the unit runs as (server/unit.ts SERVICE_USER; the unit names it). */
  readonly serviceUser: string;
  /** The program that writes the units, named in their first line. */
  readonly writer: string;
  /** Where /etc/systemd/system and /opt/graviton-llm are. @default "/" */
  readonly root?: string;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
}

/** Where systemd reads the units from, below the root. */
const UNIT_DIR = '/etc/systemd/system';

export class SystemdSupervisor implements Supervisor {
  /** NRestarts when this boot started the unit: restarts before it do not count against it. */
  private restartsBefore = '0';
  /** Where this boot's part of the (appended) server log starts. */
  private logStart = 0;
  private logFile: string | undefined;

  constructor(private readonly opts: SystemdSupervisorOptions) {}

  private at(path: string): string {
    return join(this.opts.root ?? '/', path);
  }

  private run(program: string, args: readonly string[]): Promise<ExecResult> {
    return this.opts.exec.run({ step: SYSTEMD_STEP, program, args, limitMs: this.opts.limitMs() });
  }

  /** Runs a program that must succeed; its failure is thrown as the reason start gives. */
  private async must(program: string, args: readonly string[]): Promise<ExecResult> {
    const r = await this.run(program, args);
    if (!succeeded(r)) throw new Error(`${explainExit(r)}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
    return r;
  }

  /** One property of the unit (systemctl show -p NAME --value); empty where systemctl cannot say. */
  private async property(name: string): Promise<string> {
    const r = await this.run('systemctl', ['show', '-p', name, '--value', UNIT_NAME]);
    return r.stdout.trim();
  }

  /** The service user: a system user with its own group, no home, no shell. */
  async ensureServiceUser(): Promise<void> {
    const user = this.opts.serviceUser;
    if (succeeded(await this.run('id', ['-u', user]))) return;
    await this.must('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/sbin/nologin', user]);
  }

  /** The unit for `launch`, the key read from systemd's credential. */
  unitText(launch: ServerLaunch): string {
    if (launch.readOnlyPaths.length !== 2) throw new Error(`the unit takes the build and the model directory as its read-only paths, got ${launch.readOnlyPaths.length}`);
    const [buildDir, modelDir] = launch.readOnlyPaths;
    const execStart = systemdExecLine([launch.program, ...launch.args(CREDENTIAL_KEY_FILE)], [CREDENTIAL_KEY_FILE]);
    return renderUnit({ writer: this.opts.writer, execStart, apiKeyFile: launch.apiKeyFile, serverLog: launch.logFile, buildDir, modelDir });
  }

  /** The server log's rotation: the script and the timer that keep the server's log in bounds. */
  installLogRotation(serverLog: string): void {
    const files = logRotation({ writer: this.opts.writer, serverLog });
    const script = this.at(LOG_ROTATE_SCRIPT);
    mkdirSync(dirname(script), { recursive: true, mode: 0o755 });
    writeFileSync(`${script}.tmp`, files.script);
    chmodSync(`${script}.tmp`, 0o755);
    renameSync(`${script}.tmp`, script);
    writeFileSync(this.at(join(UNIT_DIR, `${LOG_ROTATE_UNIT}.service`)), files.service);
    writeFileSync(this.at(join(UNIT_DIR, `${LOG_ROTATE_UNIT}.timer`)), files.timer);
  }

  async start(launch: ServerLaunch): Promise<SupervisorStartOutcome> {
    try {
      await this.ensureServiceUser();
      const log = launch.logFile;
      mkdirSync(dirname(log), { recursive: true, mode: 0o755 });
      writeFileSync(log, '', { flag: 'a' });
      await this.must('chown', [`${this.opts.serviceUser}:${this.opts.serviceUser}`, log]);
      chmodSync(log, 0o640);
      const unit = this.at(join(UNIT_DIR, UNIT_NAME));
      mkdirSync(dirname(unit), { recursive: true });
      writeFileSync(`${unit}.tmp`, this.unitText(launch));
      renameSync(`${unit}.tmp`, unit);
      this.installLogRotation(log);
      await this.must('systemctl', ['daemon-reload']);
      await this.must('systemctl', ['enable', '--quiet', UNIT_NAME]);
      await this.must('systemctl', ['enable', '--now', '--quiet', `${LOG_ROTATE_UNIT}.timer`]);
      this.restartsBefore = (await this.must('systemctl', ['show', '-p', 'NRestarts', '--value', UNIT_NAME])).stdout.trim();
      this.logStart = logOffset(log);
      this.logFile = log;
      await this.must('systemctl', ['restart', UNIT_NAME]);
    } catch (e) {
      return { ok: false, detail: e instanceof Error ? e.message : String(e) };
    }
    this.opts.log(`started ${UNIT_NAME}`);
    return { ok: true };
  }

  async stop(): Promise<void> {
    if (!existsSync(this.at(join(UNIT_DIR, UNIT_NAME)))) return;
    const r = await this.run('systemctl', ['disable', '--now', '--quiet', UNIT_NAME]);
    // No systemctl at all: nothing of ours can be running.
    if (r.startError !== undefined) return;
    this.opts.log(`stopped ${UNIT_NAME}`);
  }

  /** Not failed, and not restarted since this boot started it. */
  async alive(): Promise<boolean> {
    if ((await this.property('ActiveState')) === 'failed') return false;
    return (await this.property('NRestarts')) === this.restartsBefore;
  }

  /**
   * The server's own log says why it stopped; where systemd could not even
   * start it (credentials, user, sandboxing), the reason is only in the
   * unit's state and journal, so both are quoted.
   */
  async exitReason(): Promise<string> {
    const state = await this.run('systemctl', ['show', '-p', 'Result', '-p', 'ExecMainCode', '-p', 'ExecMainStatus', '-p', 'NRestarts', UNIT_NAME]);
    const journal = await this.run('journalctl', ['-u', UNIT_NAME, '-n', '4', '-o', 'cat', '--no-pager']);
    const oneLine = (text: string) => text.split('\n').filter((l) => l !== '').join(' ');
    const words = this.logFile === undefined ? '' : serverLastWords(this.logFile, this.logStart);
    return `${UNIT_NAME} ${oneLine(state.stdout)}; journal: ${oneLine(journal.stdout)}; server.log: ${words}`;
  }

  /**
   * Checks that the server cannot reach the metadata service. The unit's
   * IPAddressDeny needs systemd's BPF firewall (cgroup v2, as on Amazon Linux 2023); elsewhere
   * systemd accepts it and enforces nothing. So a request to the metadata
   * service is tried as the service user, under the unit's filter: it must
   * not get through. Run after start, which writes the unit.
   */
  async checkMetadataDenied(): Promise<MetadataCheckOutcome> {
    const deny = await this.property('IPAddressDeny');
    const r = await this.run('systemd-run', [
      '--wait', '--pipe', '--quiet', `--property=User=${this.opts.serviceUser}`, `--property=IPAddressDeny=${deny}`,
      'curl', '--silent', '--output', '/dev/null', '--write-out', '%{http_code}', '--max-time', '2', '-X', 'PUT',
      '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60', 'http://169.254.169.254/latest/api/token',
    ]);
    const code = r.stdout.trim();
    return code === '000' ? { enforced: true } : { enforced: false, answered: code };
  }
}
