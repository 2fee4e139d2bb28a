import {
  DeleteParameterCommand,
  GetParameterCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
  type Tag,
} from "@aws-sdk/client-ssm";
import type {
  CloudFormationCustomResourceCreateEvent,
  CloudFormationCustomResourceDeleteEvent,
  CloudFormationCustomResourceEvent,
  CloudFormationCustomResourceUpdateEvent,
} from "aws-lambda";
import {
  type ApiKeyProperties,
  generateApiKey,
  isValidParameterName,
  parameterArn,
  parseProperties,
  ValidationError,
} from "./api-key";

// Module scope so warm invocations reuse the connection pool. Region comes from
// AWS_REGION, which Lambda always sets; endpoint overrides (AWS_ENDPOINT_URL_SSM) are
// honoured by the SDK itself, which is what the local moto test relies on.
const ssm = new SSMClient({});

// Tags record which CloudFormation resource created a parameter. They are the only safe way
// to tell "our own parameter" from "someone else's" when a name already exists, which
// happens legitimately on update rollback (see createOrAdopt).
export { LOGICAL_ID_TAG, STACK_ID_TAG } from "./owner-tags";
import { LOGICAL_ID_TAG, STACK_ID_TAG } from "./owner-tags";

/** The Provider framework's onEvent contract; defined here so the bundle does not pull in aws-cdk-lib. */
export interface OnEventResponse {
  PhysicalResourceId: string;
  Data?: Record<string, string>;
}

type Owner = { stackId: string; logicalResourceId: string };

export async function handler(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
  // Only identifiers are logged: the event carries no secret, but keep logs small and predictable.
  console.log(
    JSON.stringify({
      requestType: event.RequestType,
      logicalResourceId: event.LogicalResourceId,
      physicalResourceId: "PhysicalResourceId" in event ? event.PhysicalResourceId : undefined,
      parameterName: event.ResourceProperties?.ParameterName,
    }),
  );
  switch (event.RequestType) {
    case "Create":
      return onCreate(event);
    case "Update":
      return onUpdate(event);
    case "Delete":
      return onDelete(event);
    default:
      throw new Error(`Unsupported RequestType ${JSON.stringify((event as { RequestType?: unknown }).RequestType)}`);
  }
}

async function onCreate(event: CloudFormationCustomResourceCreateEvent): Promise<OnEventResponse> {
  const props = parseProperties(event.ResourceProperties);
  await createOrAdopt(props, ownerOf(event));
  return response(event.StackId, props.parameterName);
}

async function onUpdate(event: CloudFormationCustomResourceUpdateEvent): Promise<OnEventResponse> {
  const props = parseProperties(event.ResourceProperties);
  const owner = ownerOf(event);

  // Compare with the physical id rather than OldResourceProperties: the physical id is the
  // parameter that actually exists, which is what matters after a rollback.
  if (props.parameterName !== event.PhysicalResourceId) {
    // A new physical id makes CloudFormation delete the old parameter once the update succeeds
    // (or the new one, if the stack rolls back), so exactly one key survives.
    await createOrAdopt(props, owner);
    return response(event.StackId, props.parameterName);
  }

  const old = lenientProperties(event.OldResourceProperties);
  if ((old.keyId ?? "") !== (props.keyId ?? "")) {
    // SSM allows one parameter per name, so a true replacement needs a new name. Re-encrypting
    // in place would mean decrypting the key here (kms:Decrypt on the old key) and, on rollback,
    // a second in-place write; overwriting with a fresh key would break clients mid-update.
    throw new ValidationError(
      `KeyId changed from ${JSON.stringify(old.keyId ?? "alias/aws/ssm (default)")} to ` +
        `${JSON.stringify(props.keyId ?? "alias/aws/ssm (default)")} while ParameterName stayed ` +
        `${JSON.stringify(props.parameterName)}: changing the KMS key requires a new ParameterName too ` +
        `(a new key is then created under the new name and CloudFormation deletes the old parameter)`,
    );
  }

  if (!(await parameterExists(props.parameterName))) {
    console.log(`Parameter ${props.parameterName} is missing; creating it again with a new key`);
    await createOrAdopt(props, owner);
    return response(event.StackId, props.parameterName);
  }

  // Description and KeyBytes changes are deliberately not applied to the existing parameter:
  // SSM has no way to change a description without PutParameter's Value, so it would mean
  // reading the key back (ssm:GetParameter WithDecryption + kms:Decrypt for this function, the
  // key in its memory) and a new parameter version, all for cosmetic metadata. KeyBytes only
  // shapes newly generated keys; rotating on an unrelated update would break every client.
  if (old.description !== props.description || old.keyBytes !== props.keyBytes) {
    console.log(
      `Parameter ${props.parameterName} kept unchanged: Description/KeyBytes changes apply only ` +
        `when a new key is generated (new ParameterName or KeyId)`,
    );
  }
  return response(event.StackId, props.parameterName);
}

async function onDelete(event: CloudFormationCustomResourceDeleteEvent): Promise<OnEventResponse> {
  const name = event.PhysicalResourceId;
  // A failed Create leaves a framework marker (or the request id) as physical id; nothing
  // was created under it, and it must not be passed to SSM as if it were a name.
  if (!isValidParameterName(name)) {
    console.log(`Physical id ${JSON.stringify(name)} is not a parameter name; nothing to delete`);
    return { PhysicalResourceId: name };
  }
  try {
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    console.log(`Deleted parameter ${name}`);
  } catch (err) {
    // Someone already deleted it: the desired end state holds, and failing would wedge the stack.
    if (errorName(err) !== "ParameterNotFound") throw err;
    console.log(`Parameter ${name} was already gone`);
  }
  return { PhysicalResourceId: name };
}

/**
 * Creates the parameter with a fresh key, never overwriting. If the name is taken, the
 * parameter is adopted (value untouched) only when its tags prove this very resource created
 * it: that is the update-rollback case, where CloudFormation sends Update back to the old name
 * while the old parameter still exists. Anything else fails, as another stack may own it.
 */
async function createOrAdopt(props: ApiKeyProperties, owner: Owner): Promise<void> {
  const tags: Tag[] = [
    { Key: STACK_ID_TAG, Value: owner.stackId },
    { Key: LOGICAL_ID_TAG, Value: owner.logicalResourceId },
  ];
  try {
    await ssm.send(
      new PutParameterCommand({
        Name: props.parameterName,
        Description: props.description,
        // The only place the key exists: built inline so no variable outlives the call.
        Value: generateApiKey(props.keyBytes),
        Type: "SecureString",
        KeyId: props.keyId,
        Overwrite: false,
        Tier: "Standard",
        Tags: tags,
      }),
    );
    console.log(`Created SecureString parameter ${props.parameterName} with a new ${props.keyBytes}-byte key`);
    return;
  } catch (err) {
    if (errorName(err) !== "ParameterAlreadyExists") throw err;
  }

  let ownership: string;
  try {
    const { TagList } = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: props.parameterName }),
    );
    const tag = (key: string) => TagList?.find((t) => t.Key === key)?.Value;
    if (tag(STACK_ID_TAG) === owner.stackId && tag(LOGICAL_ID_TAG) === owner.logicalResourceId) {
      console.log(`Parameter ${props.parameterName} already exists and was created by this resource; keeping its key`);
      return;
    }
    ownership = tag(STACK_ID_TAG)
      ? `it is tagged as created by ${tag(STACK_ID_TAG)} / ${tag(LOGICAL_ID_TAG) ?? "?"}`
      : "it has no ownership tags from this custom resource";
  } catch (err) {
    ownership = `its owner could not be checked (${errorName(err) ?? "error"})`;
  }
  throw new Error(
    `SSM parameter ${props.parameterName} already exists and was not created by ` +
      `${owner.stackId} / ${owner.logicalResourceId}; ${ownership}. Another stack or a person may own it, ` +
      `so it was neither adopted nor overwritten. Choose another ParameterName, or delete the existing ` +
      `parameter if it is really unused.`,
  );
}

async function parameterExists(name: string): Promise<boolean> {
  try {
    // Without decryption: only existence matters, and it needs no kms:Decrypt.
    await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: false }));
    return true;
  } catch (err) {
    if (errorName(err) === "ParameterNotFound") return false;
    throw err;
  }
}

// Old properties were accepted when they were applied; parse them without failing so that a
// rule tightened since then cannot block every later update.
function lenientProperties(raw: Record<string, unknown> | undefined): Partial<ApiKeyProperties> {
  try {
    return parseProperties(raw);
  } catch {
    const r = raw ?? {};
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    return { parameterName: str(r.ParameterName), description: str(r.Description), keyId: str(r.KeyId) };
  }
}

function ownerOf(event: CloudFormationCustomResourceEvent): Owner {
  return { stackId: event.StackId, logicalResourceId: event.LogicalResourceId };
}

function response(stackId: string, parameterName: string): OnEventResponse {
  const data: Record<string, string> = { ParameterName: parameterName };
  const arn = parameterArn(stackId, parameterName);
  if (arn) data.ParameterArn = arn;
  return { PhysicalResourceId: parameterName, Data: data };
}

function errorName(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "name" in err ? String((err as { name: unknown }).name) : undefined;
}
