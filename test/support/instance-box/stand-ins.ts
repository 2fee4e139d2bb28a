/**
 * Files the instance box adds to a machine for what Amazon Linux 2023 has and
 * Debian lacks, each standing in for one thing and saying so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

import { cacheRoot, LlamaCppSource, withLock } from '../llama-cpp-source';
import type { BoxBind, BoxFile } from './box';

/** Where the box's Prometheus answers queries, inside the box's namespace. */
export const BOX_PROMETHEUS_URL = 'http://127.0.0.1:9090';

/**
 * The CloudWatch agent's control script, as the boot calls it
 * (`-a fetch-config -m ec2 -s -c file:CONFIG`). The agent's Prometheus
 * receiver is Prometheus's own scrape code; the stand-in runs the real
 * Prometheus with the scrape configuration the agent configuration names, so
 * the kit's scrape configuration (bearer key file, target, labels) is proven
 * against a real scraper. Shipping logs and EMF to CloudWatch is not stood in
 * for: the call and the configuration it was given are recorded in
 * /var/lib/box/agent.json for the test.
 */
const AGENT_CTL = `#!/usr/bin/python3
"""Instance box stand-in for amazon-cloudwatch-agent-ctl (see test/support/instance-box/stand-ins.ts)."""
import json
import os
import subprocess
import sys

args = sys.argv[1:]
config_path = next((a[len("file:"):] for a in args if a.startswith("file:")), None)
with open(config_path, encoding="utf-8") as f:
    config = json.load(f)
os.makedirs("/var/lib/box", exist_ok=True)
with open("/var/lib/box/agent.json", "w", encoding="utf-8") as f:
    json.dump({"argv": args, "config": config}, f)
prometheus = config.get("logs", {}).get("logs_collected", {}).get("prometheus", {})
if prometheus.get("prometheus_config_path"):
    subprocess.run(["systemctl", "stop", "box-prometheus.service"], check=False, capture_output=True)
    subprocess.run(["systemctl", "reset-failed", "box-prometheus.service"], check=False, capture_output=True)
    subprocess.run([
        "systemd-run", "--unit=box-prometheus", "--quiet",
        "/usr/local/bin/prometheus",
        "--config.file=" + prometheus["prometheus_config_path"],
        "--storage.tsdb.path=/var/lib/box-prometheus",
        "--web.listen-address=127.0.0.1:9090",
    ], check=True)
`;

/** A bare repository with the release tag, standing in for GitHub: the boot's own `git clone --depth 1 --branch TAG` runs against it. */
export async function ensureBoxGitRepository(source: LlamaCppSource): Promise<string> {
  const repo = path.join(cacheRoot(), 'box', `llama.cpp-${source.tag}.git`);
  return withLock(`${repo}.lock`, async () => {
    if (existsSync(path.join(repo, 'refs', 'tags', source.tag))) return repo;
    const scratch = `${repo}.partial`;
    spawnSync('rm', ['-rf', scratch, repo]);
    const clone = spawnSync('git', ['clone', '--quiet', '--bare', '--no-local', source.dir, scratch], { encoding: 'utf8' });
    if (clone.status !== 0) throw new Error(`git clone --bare of ${source.dir} failed: ${clone.stderr}`);
    const tag = spawnSync('git', ['-C', scratch, 'tag', source.tag, 'HEAD'], { encoding: 'utf8' });
    if (tag.status !== 0) throw new Error(`git tag ${source.tag} failed: ${tag.stderr}`);
    spawnSync('mv', [scratch, repo]);
    return repo;
  });
}

/** This host's ccache directory, shared with the boxes so a box's compile reuses the host's objects. */
export function hostCcacheDir(): string | undefined {
  const r = spawnSync('ccache', ['-k', 'cache_dir'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const dir = r.stdout.trim();
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface StandInOptions {
  readonly gitRepository: string;
  readonly upstreamRepository: string;
  /**
   * Stand in for the CloudWatch agent with this host's Prometheus (an x86_64
   * program: x86_64 boxes only). Without it the box has no agent, which the
   * boot logs and carries on without.
   */
  readonly prometheus: boolean;
}

/** The files and binds every box gets. */
export function standIns(options: StandInOptions): { files: BoxFile[]; binds: BoxBind[] } {
  const files: BoxFile[] = [
    // The source the instance clones: the boot's GitHub URL, served from the bare repository.
    { path: '/etc/gitconfig', content: `[url "file:///srv/llama.cpp.git"]\n\tinsteadOf = ${options.upstreamRepository}\n` },
  ];
  const binds: BoxBind[] = [{ host: options.gitRepository, box: '/srv/llama.cpp.git', readOnly: true }];
  if (options.prometheus) {
    files.push({ path: '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl', content: AGENT_CTL, mode: 0o755 });
    binds.push(
      { host: '/usr/bin/prometheus', box: '/usr/local/bin/prometheus', readOnly: true },
      { host: '/usr/bin/promtool', box: '/usr/local/bin/promtool', readOnly: true },
    );
  }
  const ccache = hostCcacheDir();
  if (ccache) {
    files.push({ path: '/etc/ccache.conf', content: 'cache_dir = /var/cache/ccache\n' });
    binds.push({ host: ccache, box: '/var/cache/ccache' });
  }
  return { files, binds };
}

/** An emulated Graviton for an arm64 box: the CPU qemu-user emulates, and the /proc/cpuinfo the boot's CPU check reads. */
export interface ArmProfile {
  readonly files: BoxFile[];
  readonly enableUnits: string[];
  readonly initEnvironment: Record<string, string>;
}

/**
 * qemu-user (registered in binfmt_misc) runs every arm64 program in the box
 * and reads QEMU_CPU from each one's environment: systemd passes it to every
 * service through DefaultEnvironment. Under qemu-user /proc/cpuinfo is the
 * host's (x86, no `CPU part`), so a unit ordered before the cloud-init
 * stand-in binds a Graviton-shaped one over it.
 */
export function armProfile(qemuCpu: string, cpuPart: string, features: string): ArmProfile {
  const core = (n: number) => [
    `processor\t: ${n}`, 'BogoMIPS\t: 2100.00', `Features\t: ${features}`, 'CPU implementer\t: 0x41',
    'CPU architecture: 8', 'CPU variant\t: 0x1', `CPU part\t: ${cpuPart}`, 'CPU revision\t: 1', '',
  ].join('\n');
  return {
    initEnvironment: { QEMU_CPU: qemuCpu },
    enableUnits: ['box-cpuinfo.service'],
    files: [
      { path: '/etc/systemd/system.conf.d/box-qemu-cpu.conf', content: `[Manager]\nDefaultEnvironment=QEMU_CPU=${qemuCpu}\n` },
      { path: '/etc/box/cpuinfo', content: `${core(0)}\n${core(1)}` },
      {
        path: '/etc/systemd/system/box-cpuinfo.service',
        content: [
          '[Unit]',
          'Description=Instance box: a Graviton-shaped /proc/cpuinfo (qemu-user shows the host\'s)',
          'DefaultDependencies=no',
          'Before=box-cloud-init.service sysinit.target',
          '',
          '[Service]',
          'Type=oneshot',
          'RemainAfterExit=yes',
          'ExecStart=/bin/mount --bind /etc/box/cpuinfo /proc/cpuinfo',
          '',
          '[Install]',
          'WantedBy=multi-user.target',
          '',
        ].join('\n'),
      },
    ],
  };
}
