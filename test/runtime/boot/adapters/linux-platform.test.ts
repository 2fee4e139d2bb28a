import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import { join } from "node:path";
import { LinuxPlatform } from "../../../../runtime/boot/adapters/linux-platform";
import { Deadline } from "../../../../runtime/boot/core/deadline";
import { RETRY_ATTEMPTS } from "../../../../runtime/boot/core/retry";
import { FakeClock } from "../support/fake-clock";
import { GRAVITON3 } from "../support/cpuinfo-samples";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(os.tmpdir(), "gllm-platform-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe("the machine", () => {
  test("is uname -m's name, and the CPUs this process may use", () => {
    const p = new LinuxPlatform();
    expect(p.machine()).toBe(os.machine());
    expect(p.cpuCount()).toBeGreaterThanOrEqual(1);
    expect(p.isRoot()).toBe(process.getuid?.() === 0);
  });

  test("its CPU description comes from the file it is given, and an unreadable one says where it looked", async () => {
    await expect(new LinuxPlatform({ cpuinfoPath: file("cpuinfo", GRAVITON3) }).cpuinfo()).resolves.toEqual({ source: join(dir, "cpuinfo"), text: GRAVITON3 });
    await expect(new LinuxPlatform({ cpuinfoPath: join(dir, "absent") }).cpuinfo()).resolves.toEqual({ source: join(dir, "absent"), text: undefined });
  });

  test("its memory lock limit is the soft limit, in bytes, or unlimited", async () => {
    const limits = (soft: string) => file(`limits-${soft}`, [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max open files            1024                 524288               files     ",
      `Max locked memory         ${soft}              unlimited            bytes     `,
      "",
    ].join("\n"));
    await expect(new LinuxPlatform({ limitsPath: limits("8388608") }).memlockLimitBytes()).resolves.toBe(8388608);
    await expect(new LinuxPlatform({ limitsPath: limits("unlimited") }).memlockLimitBytes()).resolves.toBe("unlimited");
    await expect(new LinuxPlatform({ limitsPath: file("garbled", "nothing\n") }).memlockLimitBytes()).rejects.toThrow(/no 'Max locked memory' line/);
    if (process.platform === "linux") await expect(new LinuxPlatform().memlockLimitBytes()).resolves.toBeDefined();
  });

  test("its release is os-release's ID and VERSION_ID, unquoted, or unknown", async () => {
    const al2023 = file("al2023", 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n');
    await expect(new LinuxPlatform({ osReleasePath: al2023 }).osRelease()).resolves.toEqual({ id: "amzn", versionId: "2023" });
    const debian = file("debian", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nID=debian\n');
    await expect(new LinuxPlatform({ osReleasePath: debian }).osRelease()).resolves.toEqual({ id: "debian", versionId: "12" });
    await expect(new LinuxPlatform({ osReleasePath: join(dir, "absent") }).osRelease()).resolves.toEqual({ id: "unknown", versionId: "unknown" });
  });
});

describe("the instance's id, from a stand-in metadata service", () => {
  let server: Server;
  let baseUrl: string;
  const seen: string[] = [];
  /** How many requests, and how many of the id's requests, to fail with 500 before answering. */
  let failures = 0;
  let idFailures = 0;
  let instanceId = "i-0123456789abcdef0";

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(`${req.method} ${req.url} ${req.headers["x-aws-ec2-metadata-token-ttl-seconds"] ?? ""}${req.headers["x-aws-ec2-metadata-token"] ?? ""}`);
      if (failures > 0) {
        failures--;
        res.writeHead(500).end();
      } else if (idFailures > 0 && req.method === "GET") {
        idFailures--;
        res.writeHead(500).end();
      } else if (req.method === "PUT" && req.url === "/latest/api/token") {
        res.writeHead(200).end("token-1");
      } else if (req.method === "GET" && req.url === "/latest/meta-data/instance-id" && req.headers["x-aws-ec2-metadata-token"] === "token-1") {
        res.writeHead(200).end(instanceId);
      } else {
        res.writeHead(401).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
    failures = 0;
    idFailures = 0;
    instanceId = "i-0123456789abcdef0";
  });

  function platform() {
    const clock = new FakeClock();
    const lines: string[] = [];
    const deadline = new Deadline(clock.now(), 3600, clock);
    return { clock, lines, p: new LinuxPlatform({ imds: { baseUrl, clock, random: () => 0, deadline: () => deadline, log: (m) => lines.push(m) } }) };
  }

  test("asks for a session token, then for the id with it (IMDSv2)", async () => {
    const { p } = platform();
    await expect(p.instanceId()).resolves.toEqual({ ok: true, instanceId: "i-0123456789abcdef0" });
    expect(seen).toEqual(["PUT /latest/api/token 300", "GET /latest/meta-data/instance-id token-1"]);
  });

  test("retries a failing service", async () => {
    failures = 1;
    idFailures = 1;
    const { clock, lines, p } = platform();
    await expect(p.instanceId()).resolves.toEqual({ ok: true, instanceId: "i-0123456789abcdef0" });
    expect(clock.sleeps).toEqual([500, 1000]);
    expect(lines).toEqual([
      "instance metadata read of instance-id failed (token: HTTP 500); try 2/6 in 0.500 s",
      "instance metadata read of instance-id failed (instance-id: HTTP 500); try 3/6 in 1.000 s",
    ]);
  });

  test("gives up after its tries, saying why", async () => {
    failures = 100;
    const { p } = platform();
    await expect(p.instanceId()).resolves.toEqual({ ok: false, detail: "token: HTTP 500" });
    expect(seen).toHaveLength(RETRY_ATTEMPTS);
  });

  test("takes only an instance id for an answer", async () => {
    instanceId = "<html>captive portal</html>";
    const { p } = platform();
    await expect(p.instanceId()).resolves.toMatchObject({ ok: false, detail: expect.stringMatching(/not an instance id/) });
  });

  test("off EC2 there is none, and nothing is asked", async () => {
    await expect(new LinuxPlatform().instanceId()).resolves.toEqual({ ok: false, detail: "no instance metadata service here (not an EC2 instance)" });
  });
});
