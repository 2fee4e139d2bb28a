/**
 * The Packages port over dnf (Amazon Linux 2023) and apt-get (Debian: the
 * instance-in-a-box and developer machines), and what the machine says about
 * its toolchain: which commands are missing, the installs of the boot's
 * dependencies, build tools and runtime libraries, and the release and
 * compiler the build key names.
 *
 * Every install runs through core/exec.ts under the boot's time limit, with
 * build/libraries.ts's argument vectors: the packages after `--`, so that no
 * name (some come from an untrusted binary's DT_NEEDED) is read as an option.
 */
import { constants } from 'node:fs';
import { access, appendFile, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { type PackageInstaller, installCommands } from '../build/libraries';
import { type ReleaseFacts, toolchainIdentity } from '../build/toolchain';
import { describeExit, type Exec } from '../core/exec';
import type { InstallOutcome, Packages } from '../ports';

export interface DnfAptPackagesOptions {
  /** Runs the package manager (core/exec.ts's Exec). */
  readonly exec: Pick<Exec, 'run'>;
  /** Deadline.timeLimitMs: when an install is stopped. */
  readonly limitMs: () => number;
  /** Where dnf.log and apt.log are appended (layout.ts logDir). */
  readonly logDir: string;
  /** Whether the boot runs as root: only root installs (Platform.isRoot). */
  readonly root: boolean;
  /** @default '/etc/os-release' */
  readonly osReleasePath?: string;
  /** @default '/etc/debian_version' */
  readonly debianVersionPath?: string;
  /** @default '/etc/dnf/vars/releasever' */
  readonly releaseverPath?: string;
}

/** The log an installer's output is appended to: dnf.log, apt.log. */
export function installerLogName(installer: PackageInstaller): string {
  return installer === 'dnf' ? 'dnf.log' : 'apt.log';
}

/** A field of os-release's text: the first KEY= line, its double quotes dropped; 'unknown' where absent. */
export function osReleaseField(text: string | undefined, field: string): string {
  if (text === undefined) return 'unknown';
  const line = text.split('\n').find((l) => l.startsWith(`${field}=`));
  return line === undefined ? 'unknown' : line.slice(field.length + 1).replace(/"/g, '');
}

const readOrUndefined = (file: string) => readFile(file, 'utf8').catch(() => undefined);

export class DnfAptPackages implements Packages {
  /**
   * @param manager dnf where there is one, else apt-get; undefined for
   * neither, or a boot that is not root (see onThisMachine)
   */
  constructor(
    private readonly opts: DnfAptPackagesOptions,
    readonly manager: PackageInstaller | undefined,
  ) {}

  /** The adapter for this machine: its manager found on PATH, none where the boot is not root. */
  static async onThisMachine(opts: DnfAptPackagesOptions): Promise<DnfAptPackages> {
    const probe = new DnfAptPackages(opts, undefined);
    if (!opts.root) return probe;
    const [dnf, apt] = await probe.missingTools(['dnf', 'apt-get']).then((missing) => [!missing.includes('dnf'), !missing.includes('apt-get')]);
    return new DnfAptPackages(opts, dnf ? 'dnf' : apt ? 'apt-get' : undefined);
  }

  /** The command's path on PATH (the one the programs run are looked up on), as `command -v` finds an executable file; undefined where none. */
  async which(command: string): Promise<string | undefined> {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir === '') continue;
      const file = join(dir, command);
      const isFile = await stat(file).then((s) => s.isFile(), () => false);
      if (isFile && (await access(file, constants.X_OK).then(() => true, () => false))) return file;
    }
    return undefined;
  }

  async missingTools(tools: readonly string[]): Promise<readonly string[]> {
    const present = await Promise.all(tools.map((t) => this.which(t)));
    return tools.filter((_, i) => present[i] === undefined);
  }

  /**
   * Installs `packages` with the manager (apt-get: after an update), each
   * command under the time limit, their output appended to the manager's
   * log. Not ok: `detail` is that log's path, whose last line says which
   * command ended how.
   */
  async install(packages: readonly string[]): Promise<InstallOutcome> {
    const installer = this.manager;
    if (installer === undefined) throw new Error('no package manager this boot may run');
    const log = join(this.opts.logDir, installerLogName(installer));
    for (const command of installCommands(installer, packages)) {
      const r = await this.opts.exec.run({
        step: 'install', program: command.argv[0], args: command.argv.slice(1), env: command.env, limitMs: this.opts.limitMs(), appendOutputTo: log,
      });
      if (r.exitCode !== 0) {
        await appendFile(log, `graviton-llm boot: ${command.argv.join(' ')}: ${describeExit(r)}\n`);
        return { ok: false, detail: log };
      }
    }
    return { ok: true };
  }

  /** What the build key's toolchain is read from (os_field, /etc/debian_version, amzn_release). */
  async releaseFacts(): Promise<ReleaseFacts> {
    const osRelease = await readOrUndefined(this.opts.osReleasePath ?? '/etc/os-release');
    const id = osReleaseField(osRelease, 'ID');
    const versionId = osReleaseField(osRelease, 'VERSION_ID');
    const debianVersion = (await readOrUndefined(this.opts.debianVersionPath ?? '/etc/debian_version'))?.trim();
    return { id, versionId, debianVersion: debianVersion || undefined, amznRelease: id === 'amzn' ? await this.amznRelease(versionId) : undefined };
  }

  /** The build key's toolchain line for this machine. */
  async toolchainIdentity(): Promise<string> {
    return toolchainIdentity(await this.releaseFacts());
  }

  /** dnf's release version, else the system-release package's version, else VERSION_ID. */
  private async amznRelease(versionId: string): Promise<string> {
    const releasever = (await readOrUndefined(this.opts.releaseverPath ?? '/etc/dnf/vars/releasever'))?.replace(/\s/g, '');
    if (releasever) return releasever;
    const rpm = await this.opts.exec.run({ step: 'toolchain', program: 'rpm', args: ['-q', '--qf', '%{VERSION}', 'system-release'], limitMs: this.opts.limitMs() });
    if (rpm.exitCode === 0 && rpm.stdout !== '') return rpm.stdout;
    return versionId;
  }
}
