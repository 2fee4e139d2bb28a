/**
 * The Platform of a Linux machine, an instance or a developer's: what the
 * kernel and the distribution say about it, and on an instance the metadata
 * service (IMDSv2). Files it reads are options, so tests point it at their own.
 */
import { request, type IncomingMessage } from "node:http";
import { readFile } from "node:fs/promises";
import * as os from "node:os";
import type { Clock } from "../core/clock";
import type { Deadline } from "../core/deadline";
import { type Attempt, retry } from "../core/retry";
import type { CpuinfoRead, InstanceIdOutcome, Platform } from "../ports";

/** The instance metadata service's address (IMDSv2). */
export const IMDS_BASE_URL = "http://169.254.169.254";
/** How long one metadata request may take. */
const IMDS_REQUEST_TIMEOUT_MS = 5_000;

export interface LinuxPlatformOptions {
  /** The CPU description: /proc/cpuinfo, or the file a local boot names instead (GLLM_CPUINFO_PATH). @default "/proc/cpuinfo" */
  readonly cpuinfoPath?: string;
  /** @default "/etc/os-release" */
  readonly osReleasePath?: string;
  /** This process's resource limits. @default "/proc/self/limits" */
  readonly limitsPath?: string;
  /**
   * The metadata service, on an instance; undefined off EC2 (a local boot),
   * where instanceId answers that there is none.
   */
  readonly imds?: {
    readonly baseUrl: string;
    readonly clock: Clock;
    readonly random: () => number;
    /** The time limit its retries stop at (the boot's deadline, or the reporting grace). */
    readonly deadline: () => Deadline;
    readonly log: (message: string) => void;
  };
}

export class LinuxPlatform implements Platform {
  constructor(private readonly opts: LinuxPlatformOptions = {}) {}

  machine(): string {
    return os.machine();
  }

  async cpuinfo(): Promise<CpuinfoRead> {
    const source = this.opts.cpuinfoPath ?? "/proc/cpuinfo";
    return { source, text: await readFile(source, "utf8").catch(() => undefined) };
  }

  cpuCount(): number {
    // The CPUs this process may run on, as nproc counts them (its affinity), not all the machine has.
    return os.availableParallelism();
  }

  async memlockLimitBytes(): Promise<number | "unlimited"> {
    const text = await readFile(this.opts.limitsPath ?? "/proc/self/limits", "utf8");
    const soft = /^Max locked memory\s+(\S+)/m.exec(text)?.[1];
    if (soft === undefined) throw new Error("no 'Max locked memory' line in the process's limits");
    return soft === "unlimited" ? "unlimited" : Number(soft);
  }

  async osRelease(): Promise<{ readonly id: string; readonly versionId: string }> {
    const text = await readFile(this.opts.osReleasePath ?? "/etc/os-release", "utf8").catch(() => "");
    const field = (name: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${name}=`));
      return line === undefined ? "unknown" : line.slice(name.length + 1).replace(/"/g, "");
    };
    return { id: field("ID"), versionId: field("VERSION_ID") };
  }

  isRoot(): boolean {
    return process.getuid?.() === 0;
  }

  async instanceId(): Promise<InstanceIdOutcome> {
    const imds = this.opts.imds;
    if (imds === undefined) return { ok: false, detail: "no instance metadata service here (not an EC2 instance)" };
    const out = await retry("instance metadata read of instance-id", async () => imdsInstanceId(imds.baseUrl), {
      clock: imds.clock, random: imds.random, limitMs: imds.deadline().timeLimitMs(), log: imds.log,
    });
    return out.ok ? { ok: true, instanceId: out.value } : { ok: false, detail: out.detail };
  }
}

/**
 * One IMDSv2 read: a session token (PUT /latest/api/token), then GET `path`
 * with it. `token` is the status that refused a token; rejects where the
 * service cannot be reached.
 */
export async function imdsGet(baseUrl: string, path: string): Promise<{ readonly token: number; readonly status: number; readonly body: string }> {
  const token = await imdsRequest("PUT", `${baseUrl}/latest/api/token`, { "X-aws-ec2-metadata-token-ttl-seconds": "300" });
  if (token.status !== 200) return { token: token.status, status: 0, body: "" };
  const answer = await imdsRequest("GET", `${baseUrl}${path}`, { "X-aws-ec2-metadata-token": token.body });
  return { token: token.status, ...answer };
}

/** One try: a session token, then the instance's id with it. Every failure is worth another try. */
async function imdsInstanceId(baseUrl: string): Promise<Attempt<string>> {
  try {
    const id = await imdsGet(baseUrl, "/latest/meta-data/instance-id");
    if (id.token !== 200) return { kind: "transient", detail: `token: HTTP ${id.token}` };
    if (id.status !== 200) return { kind: "transient", detail: `instance-id: HTTP ${id.status}` };
    if (!/^i-[0-9a-f]+$/.test(id.body)) return { kind: "transient", detail: `instance-id: not an instance id: ${JSON.stringify(id.body.slice(0, 40))}` };
    return { kind: "done", value: id.body };
  } catch (e) {
    return { kind: "transient", detail: (e as Error).message };
  }
}

function imdsRequest(method: "GET" | "PUT", url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: IMDS_REQUEST_TIMEOUT_MS }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").trim() }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} within ${IMDS_REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
    req.end();
  });
}
