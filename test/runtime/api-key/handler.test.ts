import { format } from "node:util";
import {
  DeleteParameterCommand,
  GetParameterCommand,
  ListTagsForResourceCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceUpdateEvent,
} from "aws-lambda";
import {
  apiKeyLength,
  apiKeyPattern,
  generateApiKey,
  isValidParameterName,
  parameterArn,
  parseProperties,
} from "../../../runtime/api-key/api-key";
import { handler, LOGICAL_ID_TAG, STACK_ID_TAG } from "../../../runtime/api-key/handler";

const ssmMock = mockClient(SSMClient);

const STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/gllm/0d2c1f20-1111-2222-3333-444455556666";
const OTHER_STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/other/9d2c1f20-1111-2222-3333-444455556666";
const LOGICAL_ID = "ApiKey";
const NAME = "/graviton-llm/api-key";
const NEW_NAME = "/graviton-llm/api-key-2";
const FAILED_CREATE_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED";
const OUR_TAGS = [
  { Key: STACK_ID_TAG, Value: STACK_ID },
  { Key: LOGICAL_ID_TAG, Value: LOGICAL_ID },
];

type Props = Record<string, string>;

const base = {
  ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:provider",
  ResponseURL: "https://cloudformation-custom-resource-response.example/ignored",
  StackId: STACK_ID,
  RequestId: "5d3e4f44-aaaa-bbbb-cccc-ddddeeeeffff",
  LogicalResourceId: LOGICAL_ID,
  ResourceType: "Custom::ApiKey",
};

function createEvent(props: Props): CloudFormationCustomResourceCreateEvent {
  return { ...base, RequestType: "Create", ResourceProperties: { ServiceToken: base.ServiceToken, ...props } };
}

function updateEvent(props: Props, oldProps: Props, physicalId: string): CloudFormationCustomResourceUpdateEvent {
  return {
    ...base,
    RequestType: "Update",
    PhysicalResourceId: physicalId,
    ResourceProperties: { ServiceToken: base.ServiceToken, ...props },
    OldResourceProperties: { ServiceToken: base.ServiceToken, ...oldProps },
  };
}

function deleteEvent(physicalId: string, props: Props = { ParameterName: NAME }): CloudFormationCustomResourceDeleteEvent {
  return {
    ...base,
    RequestType: "Delete",
    PhysicalResourceId: physicalId,
    ResourceProperties: { ServiceToken: base.ServiceToken, ...props },
  };
}

const alreadyExists = () => new ParameterAlreadyExists({ message: "The parameter already exists.", $metadata: {} });
const notFound = () => new ParameterNotFound({ message: "Parameter not found.", $metadata: {} });
const accessDenied = () =>
  new SSMServiceException({ name: "AccessDeniedException", $fault: "client", message: "denied", $metadata: {} });

function putInputs() {
  return ssmMock.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
}

/** Every key the handler generated, taken from what it sent to SSM. */
function generatedKeys(): string[] {
  return putInputs()
    .map((i) => i.Value)
    .filter((v): v is string => typeof v === "string");
}

let logged: string[];
const consoleMethods = ["log", "info", "warn", "error", "debug", "trace"] as const;

beforeEach(() => {
  ssmMock.reset();
  logged = [];
  for (const method of consoleMethods) {
    jest.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(format(...args));
    });
  }
});

afterEach(() => {
  // The secret must not leak through any console channel, whatever the test did.
  const keys = generatedKeys();
  for (const key of keys) {
    for (const line of logged) expect(line).not.toContain(key);
  }
  jest.restoreAllMocks();
});

describe("api-key helpers", () => {
  test("generateApiKey: prefix, base64url alphabet, length from byte count, unique", () => {
    for (const bytes of [16, 32, 33, 64]) {
      const key = generateApiKey(bytes);
      expect(key).toMatch(apiKeyPattern(bytes));
      expect(key).toHaveLength(apiKeyLength(bytes));
    }
    expect(generateApiKey()).toHaveLength(5 + 43);
    expect(generateApiKey()).not.toEqual(generateApiKey());
    expect(() => generateApiKey(15)).toThrow(/KeyBytes 15 .*16 to 64/);
  });

  test("parameterArn derives partition, region and account from the stack ARN", () => {
    expect(parameterArn(STACK_ID, NAME)).toBe("arn:aws:ssm:us-east-1:123456789012:parameter/graviton-llm/api-key");
    expect(
      parameterArn("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/s/id", "/x"),
    ).toBe("arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x");
    expect(parameterArn("not-an-arn", NAME)).toBeUndefined();
  });

  test("parseProperties applies defaults and accepts CloudFormation's string numbers", () => {
    expect(parseProperties({ ParameterName: NAME })).toEqual({
      parameterName: NAME,
      description: undefined,
      keyId: undefined,
      keyBytes: 32,
    });
    expect(parseProperties({ ParameterName: NAME, KeyBytes: "64", KeyId: "", Description: "d" })).toEqual({
      parameterName: NAME,
      description: "d",
      keyId: undefined,
      keyBytes: 64,
    });
    expect(isValidParameterName(NAME)).toBe(true);
    expect(isValidParameterName(FAILED_CREATE_MARKER)).toBe(false);
  });
});

describe("Create", () => {
  test("puts a new SecureString without overwriting and returns no secret", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1, Tier: "Standard" });

    const result = await handler(createEvent({ ParameterName: NAME, Description: "endpoint key" }));

    const inputs = putInputs();
    expect(inputs).toHaveLength(1);
    const input = inputs[0];
    expect(input).toMatchObject({
      Name: NAME,
      Description: "endpoint key",
      Type: "SecureString",
      Overwrite: false,
      Tier: "Standard",
      Tags: OUR_TAGS,
    });
    expect(input.KeyId).toBeUndefined(); // SSM's default aws/ssm key
    expect(input.Value).toMatch(/^gllm-[A-Za-z0-9_-]{43}$/);

    expect(result).toEqual({
      PhysicalResourceId: NAME,
      Data: { ParameterName: NAME, ParameterArn: "arn:aws:ssm:us-east-1:123456789012:parameter/graviton-llm/api-key" },
    });
    expect(JSON.stringify(result)).not.toContain(input.Value as string);
    expect(logged.length).toBeGreaterThan(0); // the log check in afterEach is not vacuous
  });

  test("honours KeyBytes and KeyId", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    await handler(createEvent({ ParameterName: NAME, KeyBytes: "16", KeyId: "alias/gllm" }));
    const [input] = putInputs();
    expect(input.KeyId).toBe("alias/gllm");
    expect(input.Value).toMatch(apiKeyPattern(16));
    expect(input.Value).toHaveLength(5 + 22);
  });

  test("fails clearly when the name belongs to another stack, without overwriting", async () => {
    ssmMock.on(PutParameterCommand).rejects(alreadyExists());
    ssmMock.on(ListTagsForResourceCommand).resolves({
      TagList: [
        { Key: STACK_ID_TAG, Value: OTHER_STACK_ID },
        { Key: LOGICAL_ID_TAG, Value: LOGICAL_ID },
      ],
    });

    const error = await handler(createEvent({ ParameterName: NAME })).catch((e: Error) => e);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/SSM parameter \/graviton-llm\/api-key already exists/);
    expect((error as Error).message).toMatch(/Another stack or a person may own it/);
    expect((error as Error).message).toContain(OTHER_STACK_ID);
    expect(putInputs()).toHaveLength(1);
    expect(putInputs()[0].Overwrite).toBe(false);
    for (const key of generatedKeys()) expect((error as Error).message).not.toContain(key);
  });

  test("fails clearly when the existing parameter has no tags or its tags cannot be read", async () => {
    ssmMock.on(PutParameterCommand).rejects(alreadyExists());
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: [] });
    await expect(handler(createEvent({ ParameterName: NAME }))).rejects.toThrow(/already exists.*no ownership tags/);

    ssmMock.on(ListTagsForResourceCommand).rejects(accessDenied());
    await expect(handler(createEvent({ ParameterName: NAME }))).rejects.toThrow(
      /already exists.*could not be checked \(AccessDeniedException\)/,
    );
  });

  test("keeps a parameter that this very resource created (retried create)", async () => {
    ssmMock.on(PutParameterCommand).rejects(alreadyExists());
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: OUR_TAGS });
    const result = await handler(createEvent({ ParameterName: NAME }));
    expect(result.PhysicalResourceId).toBe(NAME);
    expect(putInputs()).toHaveLength(1);
    expect(putInputs()[0].Overwrite).toBe(false);
  });

  test("propagates other SSM errors", async () => {
    ssmMock.on(PutParameterCommand).rejects(accessDenied());
    await expect(handler(createEvent({ ParameterName: NAME }))).rejects.toThrow("denied");
  });
});

describe("Update", () => {
  test("same name: keeps the existing key (no PutParameter)", async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: NAME, Type: "SecureString", Version: 1 } });

    const result = await handler(
      updateEvent({ ParameterName: NAME, Description: "new text", KeyBytes: "48" }, { ParameterName: NAME }, NAME),
    );

    expect(result.PhysicalResourceId).toBe(NAME);
    expect(result.Data).toEqual({ ParameterName: NAME, ParameterArn: parameterArn(STACK_ID, NAME) });
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(0);
    // Existence is checked without decrypting, so the function never needs kms:Decrypt.
    expect(ssmMock.commandCalls(GetParameterCommand)[0].args[0].input).toEqual({ Name: NAME, WithDecryption: false });
  });

  test("new name: creates a new parameter and returns the new physical id", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    const result = await handler(updateEvent({ ParameterName: NEW_NAME }, { ParameterName: NAME }, NAME));

    expect(result).toEqual({
      PhysicalResourceId: NEW_NAME,
      Data: { ParameterName: NEW_NAME, ParameterArn: parameterArn(STACK_ID, NEW_NAME) },
    });
    const [input] = putInputs();
    expect(input).toMatchObject({ Name: NEW_NAME, Type: "SecureString", Overwrite: false });
    expect(input.Value).toMatch(apiKeyPattern(32));
    // CloudFormation deletes the old one itself after a physical id change.
    expect(ssmMock.commandCalls(DeleteParameterCommand)).toHaveLength(0);
  });

  test("new name and new KeyId: the new parameter uses the new key", async () => {
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    const result = await handler(
      updateEvent({ ParameterName: NEW_NAME, KeyId: "alias/new" }, { ParameterName: NAME }, NAME),
    );
    expect(result.PhysicalResourceId).toBe(NEW_NAME);
    expect(putInputs()[0]).toMatchObject({ Name: NEW_NAME, KeyId: "alias/new", Overwrite: false });
  });

  test("new name that another stack owns: fails without overwriting", async () => {
    ssmMock.on(PutParameterCommand).rejects(alreadyExists());
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: [] });
    await expect(
      handler(updateEvent({ ParameterName: NEW_NAME }, { ParameterName: NAME }, NAME)),
    ).rejects.toThrow(/already exists/);
    expect(putInputs().every((i) => i.Overwrite === false)).toBe(true);
  });

  test("rollback to the old name adopts the old parameter this resource created", async () => {
    // Update NAME -> NEW_NAME succeeded, then the stack rolled back: CloudFormation sends Update
    // with the old properties while NAME still exists (it is only deleted on cleanup).
    ssmMock.on(PutParameterCommand).rejects(alreadyExists());
    ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: OUR_TAGS });

    const result = await handler(updateEvent({ ParameterName: NAME }, { ParameterName: NEW_NAME }, NEW_NAME));

    expect(result.PhysicalResourceId).toBe(NAME);
    expect(putInputs()).toHaveLength(1);
    expect(putInputs()[0].Overwrite).toBe(false);
  });

  test("KeyId change with the same name is refused with a message naming KeyId", async () => {
    await expect(
      handler(updateEvent({ ParameterName: NAME, KeyId: "alias/new" }, { ParameterName: NAME }, NAME)),
    ).rejects.toThrow(/KeyId changed .*alias\/new.*requires a new ParameterName/);
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  test("missing parameter: re-created with a new key under the same name", async () => {
    ssmMock.on(GetParameterCommand).rejects(notFound());
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });

    const result = await handler(updateEvent({ ParameterName: NAME }, { ParameterName: NAME }, NAME));

    expect(result.PhysicalResourceId).toBe(NAME);
    const [input] = putInputs();
    expect(input).toMatchObject({ Name: NAME, Type: "SecureString", Overwrite: false, Tier: "Standard" });
    expect(input.Value).toMatch(apiKeyPattern(32));
  });

  test("other GetParameter errors propagate instead of re-creating", async () => {
    ssmMock.on(GetParameterCommand).rejects(accessDenied());
    await expect(handler(updateEvent({ ParameterName: NAME }, { ParameterName: NAME }, NAME))).rejects.toThrow(
      "denied",
    );
    expect(ssmMock.commandCalls(PutParameterCommand)).toHaveLength(0);
  });

  test("invalid new properties fail before touching SSM", async () => {
    await expect(
      handler(updateEvent({ ParameterName: NAME, KeyBytes: "8" }, { ParameterName: NAME }, NAME)),
    ).rejects.toThrow(/KeyBytes "8"/);
    expect(ssmMock.calls()).toHaveLength(0);
  });
});

describe("Delete", () => {
  test("deletes the parameter named by the physical id", async () => {
    ssmMock.on(DeleteParameterCommand).resolves({});
    const result = await handler(deleteEvent(NAME));
    expect(result.PhysicalResourceId).toBe(NAME);
    expect(ssmMock.commandCalls(DeleteParameterCommand).map((c) => c.args[0].input)).toEqual([{ Name: NAME }]);
  });

  test("an already-missing parameter is success", async () => {
    ssmMock.on(DeleteParameterCommand).rejects(notFound());
    await expect(handler(deleteEvent(NAME))).resolves.toEqual({ PhysicalResourceId: NAME });
  });

  test("other errors fail the delete", async () => {
    ssmMock.on(DeleteParameterCommand).rejects(accessDenied());
    await expect(handler(deleteEvent(NAME))).rejects.toThrow("denied");
  });

  test.each([FAILED_CREATE_MARKER, base.RequestId, ""])(
    "after a failed create (physical id %j) is a no-op",
    async (physicalId) => {
      const result = await handler(deleteEvent(physicalId));
      expect(result.PhysicalResourceId).toBe(physicalId);
      expect(ssmMock.calls()).toHaveLength(0);
    },
  );

  test("does not validate properties: a stack must stay deletable", async () => {
    ssmMock.on(DeleteParameterCommand).resolves({});
    await expect(handler(deleteEvent(NAME, { ParameterName: "bad name", KeyBytes: "1" }))).resolves.toBeDefined();
  });
});

describe("validation", () => {
  const long = "/" + "a".repeat(1011);
  test.each([
    ["missing", undefined, /ParameterName is required/],
    ["empty", "", /ParameterName is required/],
    ["without leading slash", "graviton-llm/key", /ParameterName "graviton-llm\/key" is invalid: must start with "\/"/],
    ["with a space", "/gllm/api key", /ParameterName "\/gllm\/api key" is invalid/],
    ["with a bad character", "/gllm/key$", /ParameterName "\/gllm\/key\$" is invalid/],
    ["too long", long, /ParameterName ".*\.\.\. \(1012 characters\) is invalid: must be at most 1011 characters/],
    ["reserved aws prefix", "/aws/service/x", /ParameterName "\/aws\/service\/x" is invalid: .*"aws" or "ssm"/],
    ["reserved ssm prefix", "/SSM-thing", /ParameterName "\/SSM-thing" is invalid: .*"aws" or "ssm"/],
    ["empty segment", "/a//b", /ParameterName "\/a\/\/b" is invalid: .*empty path segments/],
    ["too deep", "/" + Array.from({ length: 16 }, (_, i) => `l${i}`).join("/"), /at most 15 hierarchy levels/],
  ])("ParameterName %s", async (_label, name, message) => {
    const props: Props = name === undefined ? {} : { ParameterName: name };
    await expect(handler(createEvent(props))).rejects.toThrow(message);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  test("the longest allowed name is accepted", () => {
    expect(parseProperties({ ParameterName: "/" + "a".repeat(1010) }).parameterName).toHaveLength(1011);
  });

  test.each(["15", "65", "0", "-32", "abc", "32.5", "1e2", " 32"])("KeyBytes %j", async (value) => {
    const error = await handler(createEvent({ ParameterName: NAME, KeyBytes: value })).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`KeyBytes ${JSON.stringify(value)} is invalid`);
    expect((error as Error).message).toContain("from 16 to 64");
    expect(ssmMock.calls()).toHaveLength(0);
  });

  test.each(["16", "64"])("KeyBytes %j is accepted", (value) => {
    expect(parseProperties({ ParameterName: NAME, KeyBytes: value }).keyBytes).toBe(Number(value));
  });

  test("KeyId and Description are checked", async () => {
    await expect(handler(createEvent({ ParameterName: NAME, KeyId: "alias/my key" }))).rejects.toThrow(
      /KeyId "alias\/my key" is invalid: must be a KMS key id/,
    );
    await expect(handler(createEvent({ ParameterName: NAME, Description: "x".repeat(1025) }))).rejects.toThrow(
      /Description .* is invalid: must be at most 1024 characters/,
    );
    expect(ssmMock.calls()).toHaveLength(0);
  });
});
