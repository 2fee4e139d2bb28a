// End to end against a real SSM API (moto_server): catches wire-level mistakes a client mock
// cannot, such as error names, tag handling and what SecureString values look like on return.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";
import { format } from "node:util";
import { DeleteParameterCommand, GetParameterCommand, ListTagsForResourceCommand, SSMClient } from "@aws-sdk/client-ssm";
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceUpdateEvent,
} from "aws-lambda";
import { apiKeyPattern } from "../../../runtime/api-key/api-key";

type Handler = typeof import("../../../runtime/api-key/handler").handler;

// Decided at load time so the suite is reported as skipped (with a reason), never as passed.
function motoUnavailableReason(): string | undefined {
  const probe = spawnSync("moto_server", ["--help"], { encoding: "utf8", timeout: 60_000 });
  if (probe.error) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "moto_server is not on PATH (pip install 'moto[server]>=5')" : `moto_server --help failed: ${probe.error.message}`;
  }
  if (probe.status !== 0) {
    // e.g. a pyenv shim whose active Python has no moto installed
    return `moto_server --help exited with ${probe.status}: ${(probe.stderr || probe.stdout).trim().slice(0, 300)}`;
  }
  return undefined;
}

const skipReason = motoUnavailableReason();
if (skipReason) console.warn(`Skipping the moto SSM end-to-end tests: ${skipReason}`);
const describeMoto = skipReason ? describe.skip : describe;

const STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/gllm/0d2c1f20-1111-2222-3333-444455556666";
const OTHER_STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/9d2c1f20-1111-2222-3333-444455556666";
const NAME = "/graviton-llm/moto/api-key";
const NEW_NAME = "/graviton-llm/moto/api-key-2";
const base = {
  ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:provider",
  ResponseURL: "https://cloudformation-custom-resource-response.example/ignored",
  StackId: STACK_ID,
  RequestId: "5d3e4f44-aaaa-bbbb-cccc-ddddeeeeffff",
  LogicalResourceId: "ApiKey",
  ResourceType: "Custom::ApiKey",
};
const createEvent = (props: Record<string, string>, stackId = STACK_ID): CloudFormationCustomResourceCreateEvent => ({
  ...base,
  StackId: stackId,
  RequestType: "Create",
  ResourceProperties: { ServiceToken: base.ServiceToken, ...props },
});
const updateEvent = (
  props: Record<string, string>,
  oldProps: Record<string, string>,
  physicalId: string,
): CloudFormationCustomResourceUpdateEvent => ({
  ...base,
  RequestType: "Update",
  PhysicalResourceId: physicalId,
  ResourceProperties: { ServiceToken: base.ServiceToken, ...props },
  OldResourceProperties: { ServiceToken: base.ServiceToken, ...oldProps },
});
const deleteEvent = (physicalId: string): CloudFormationCustomResourceDeleteEvent => ({
  ...base,
  RequestType: "Delete",
  PhysicalResourceId: physicalId,
  ResourceProperties: { ServiceToken: base.ServiceToken, ParameterName: NAME },
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: "GET", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

describeMoto("api-key handler against moto_server (SSM)", () => {
  const ENV_KEYS = [
    "AWS_ENDPOINT_URL_SSM",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_EC2_METADATA_DISABLED",
  ];
  const savedEnv: Record<string, string | undefined> = {};
  let server: ChildProcess | undefined;
  let serverOutput = "";
  let handler: Handler;
  let ssm: SSMClient;
  const seenKeys = new Set<string>();
  let logged: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    // Own process group, so afterAll can stop the server and anything a wrapper (pyenv shim) spawned.
    server = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      serverOutput = (serverOutput + chunk.toString()).slice(-4000);
    };
    server.stdout?.on("data", collect);
    server.stderr?.on("data", collect);
    let exited: string | undefined;
    server.on("exit", (code, signal) => {
      exited = `exited with ${code ?? signal}`;
    });

    const deadline = Date.now() + 45_000;
    while ((await httpStatus(`${endpoint}/moto-api/`)) !== 200) {
      if (exited || Date.now() > deadline) {
        throw new Error(`moto_server did not start on ${endpoint} (${exited ?? "timed out"}):\n${serverOutput}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }

    for (const key of ENV_KEYS) savedEnv[key] = process.env[key];
    // Set before the handler module loads: its SSM client is created at import time.
    process.env.AWS_ENDPOINT_URL_SSM = endpoint;
    process.env.AWS_REGION = "us-east-1";
    process.env.AWS_ACCESS_KEY_ID = "testing";
    process.env.AWS_SECRET_ACCESS_KEY = "testing";
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    jest.isolateModules(() => {
      handler = (require("../../../runtime/api-key/handler") as typeof import("../../../runtime/api-key/handler")).handler;
    });

    ssm = new SSMClient({
      region: "us-east-1",
      endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
  }, 60_000);

  afterAll(async () => {
    ssm?.destroy();
    for (const key of ENV_KEYS) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    const child = server;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await gone;
      clearTimeout(timer);
    }
  }, 30_000);

  beforeEach(() => {
    logged = [];
    for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        logged.push(format(...args));
      });
    }
  });

  afterEach(() => {
    for (const key of seenKeys) for (const line of logged) expect(line).not.toContain(key);
    jest.restoreAllMocks();
  });

  async function read(name: string) {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = Parameter?.Value ?? "";
    seenKeys.add(value);
    return { value, type: Parameter?.Type, version: Parameter?.Version };
  }

  async function exists(name: string) {
    try {
      await ssm.send(new GetParameterCommand({ Name: name }));
      return true;
    } catch (err) {
      if ((err as Error).name === "ParameterNotFound") return false;
      throw err;
    }
  }

  test("create -> get -> update (same name) -> delete -> delete again", async () => {
    const created = await handler(createEvent({ ParameterName: NAME, Description: "endpoint key" }));
    expect(created).toEqual({
      PhysicalResourceId: NAME,
      Data: { ParameterName: NAME, ParameterArn: `arn:aws:ssm:us-east-1:123456789012:parameter${NAME}` },
    });

    const first = await read(NAME);
    expect(first.type).toBe("SecureString");
    expect(first.value).toMatch(apiKeyPattern(32));
    expect(JSON.stringify(created)).not.toContain(first.value);
    const { TagList } = await ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: NAME }));
    expect(TagList).toEqual(expect.arrayContaining([expect.objectContaining({ Value: STACK_ID })]));

    const updated = await handler(
      updateEvent({ ParameterName: NAME, Description: "changed", KeyBytes: "48" }, { ParameterName: NAME }, NAME),
    );
    expect(updated.PhysicalResourceId).toBe(NAME);
    const afterUpdate = await read(NAME);
    expect(afterUpdate.value).toBe(first.value);
    expect(afterUpdate.version).toBe(first.version);

    await expect(handler(deleteEvent(NAME))).resolves.toEqual({ PhysicalResourceId: NAME });
    expect(await exists(NAME)).toBe(false);
    await expect(handler(deleteEvent(NAME))).resolves.toEqual({ PhysicalResourceId: NAME });
    await expect(handler(deleteEvent("AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"))).resolves.toBeDefined();
  });

  test("create refuses a name another stack owns and leaves its value alone", async () => {
    await handler(createEvent({ ParameterName: NAME }, OTHER_STACK_ID));
    const theirs = await read(NAME);

    await expect(handler(createEvent({ ParameterName: NAME }))).rejects.toThrow(
      /already exists and was not created by .*Another stack or a person may own it/s,
    );
    expect((await read(NAME)).value).toBe(theirs.value);

    await ssm.send(new DeleteParameterCommand({ Name: NAME }));
  });

  test("update to a new name, rollback to the old one, then cleanup deletes the new one", async () => {
    await handler(createEvent({ ParameterName: NAME }));
    const original = await read(NAME);

    const renamed = await handler(updateEvent({ ParameterName: NEW_NAME }, { ParameterName: NAME }, NAME));
    expect(renamed.PhysicalResourceId).toBe(NEW_NAME);
    const second = await read(NEW_NAME);
    expect(second.value).toMatch(apiKeyPattern(32));
    expect(second.value).not.toBe(original.value);

    // Rollback: CloudFormation sends Update back to the old properties while NAME still exists.
    const rolledBack = await handler(updateEvent({ ParameterName: NAME }, { ParameterName: NEW_NAME }, NEW_NAME));
    expect(rolledBack.PhysicalResourceId).toBe(NAME);
    expect((await read(NAME)).value).toBe(original.value);

    // Cleanup phase deletes the physical id that lost.
    await handler(deleteEvent(NEW_NAME));
    expect(await exists(NEW_NAME)).toBe(false);
    expect(await exists(NAME)).toBe(true);

    await handler(deleteEvent(NAME));
  });

  test("update re-creates a parameter that went missing", async () => {
    await handler(createEvent({ ParameterName: NAME }));
    const before = await read(NAME);
    await ssm.send(new DeleteParameterCommand({ Name: NAME }));

    const result = await handler(updateEvent({ ParameterName: NAME }, { ParameterName: NAME }, NAME));
    expect(result.PhysicalResourceId).toBe(NAME);
    const after = await read(NAME);
    expect(after.type).toBe("SecureString");
    expect(after.value).toMatch(apiKeyPattern(32));
    expect(after.value).not.toBe(before.value);

    await handler(deleteEvent(NAME));
  });
});
