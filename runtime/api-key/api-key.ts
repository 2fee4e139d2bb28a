import { randomBytes } from "node:crypto";

// Kept free of SSM so the rules can be unit-tested without a client mock.

export const API_KEY_PREFIX = "gllm-";
export const DEFAULT_KEY_BYTES = 32;
export const MIN_KEY_BYTES = 16;
export const MAX_KEY_BYTES = 64;

export const PARAMETER_NAME_PATTERN = /^\/[a-zA-Z0-9_.\-/]+$/;
export const MAX_PARAMETER_NAME_LENGTH = 1011;
export const MAX_HIERARCHY_LEVELS = 15;
export const MAX_DESCRIPTION_LENGTH = 1024;
// PutParameter's own constraint on KeyId (key id, alias name, key ARN or alias ARN).
export const KEY_ID_PATTERN = /^[a-zA-Z0-9:/_-]+$/;
export const MAX_KEY_ID_LENGTH = 256;

export interface ApiKeyProperties {
  parameterName: string;
  description?: string;
  /** undefined means SSM's default key (alias/aws/ssm). */
  keyId?: string;
  keyBytes: number;
}

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ValidationError";
  }
}

/** A key of `bytes` random bytes, base64url-encoded so it is safe in HTTP headers without escaping. */
export function generateApiKey(bytes: number = DEFAULT_KEY_BYTES): string {
  if (!Number.isInteger(bytes) || bytes < MIN_KEY_BYTES || bytes > MAX_KEY_BYTES) {
    throw new ValidationError(
      `KeyBytes ${String(bytes)} is invalid: must be an integer from ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES}`,
    );
  }
  return API_KEY_PREFIX + randomBytes(bytes).toString("base64url");
}

/** Length of the key generateApiKey returns, for format checks in tests and callers. */
export function apiKeyLength(bytes: number): number {
  return API_KEY_PREFIX.length + Math.ceil((bytes * 4) / 3);
}

export function apiKeyPattern(bytes: number): RegExp {
  return new RegExp(`^${API_KEY_PREFIX}[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}$`);
}

/** Why `name` is not acceptable as an SSM parameter name, or undefined if it is. */
export function parameterNameProblem(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (name.length > MAX_PARAMETER_NAME_LENGTH) {
    return `must be at most ${MAX_PARAMETER_NAME_LENGTH} characters (got ${name.length})`;
  }
  if (!PARAMETER_NAME_PATTERN.test(name)) {
    return 'must start with "/" and contain only letters, digits and _ . - / (SSM pattern ^/[a-zA-Z0-9_.\\-/]+$)';
  }
  const segments = name.slice(1).split("/");
  if (segments.some((s) => s.length === 0)) {
    return 'must not contain empty path segments ("//" or a trailing "/")';
  }
  if (segments.length > MAX_HIERARCHY_LEVELS) {
    return `must have at most ${MAX_HIERARCHY_LEVELS} hierarchy levels (got ${segments.length})`;
  }
  // SSM reserves these prefixes (e.g. /aws/service/...) and refuses PutParameter on them.
  if (/^(aws|ssm)/i.test(segments[0])) {
    return 'must not start with "aws" or "ssm" (case-insensitive): SSM reserves those prefixes';
  }
  return undefined;
}

export function isValidParameterName(name: unknown): name is string {
  return typeof name === "string" && parameterNameProblem(name) === undefined;
}

// Error messages quote the offending value; cap it so a huge value cannot flood the
// CloudFormation event reason (which is limited in size) and the logs.
function show(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 100 ? `${JSON.stringify(text.slice(0, 100))}... (${text.length} characters)` : JSON.stringify(text);
}

/**
 * Validates the custom resource's properties. CloudFormation passes every scalar as a
 * string, but numbers are accepted too so direct invocations and tests need no quoting.
 * Unknown properties (ServiceToken, ServiceTimeout, ...) are ignored on purpose: the
 * framework adds its own and rejecting them would break on CDK upgrades.
 */
export function parseProperties(raw: Record<string, unknown> | undefined): ApiKeyProperties {
  const props = raw ?? {};

  const name = props.ParameterName;
  if (name === undefined || name === null || name === "") {
    throw new ValidationError("ParameterName is required: an SSM parameter name such as /graviton-llm/api-key");
  }
  if (typeof name !== "string") {
    throw new ValidationError(`ParameterName ${show(name)} is invalid: must be a string`);
  }
  const nameProblem = parameterNameProblem(name);
  if (nameProblem) {
    throw new ValidationError(`ParameterName ${show(name)} is invalid: ${nameProblem}`);
  }

  let description: string | undefined;
  if (props.Description !== undefined && props.Description !== null && props.Description !== "") {
    if (typeof props.Description !== "string") {
      throw new ValidationError(`Description ${show(props.Description)} is invalid: must be a string`);
    }
    if (props.Description.length > MAX_DESCRIPTION_LENGTH) {
      throw new ValidationError(
        `Description ${show(props.Description)} is invalid: must be at most ${MAX_DESCRIPTION_LENGTH} characters`,
      );
    }
    description = props.Description;
  }

  // An empty KeyId means "default key": CDK code often writes `key?.keyArn ?? ""`.
  let keyId: string | undefined;
  if (props.KeyId !== undefined && props.KeyId !== null && props.KeyId !== "") {
    if (
      typeof props.KeyId !== "string" ||
      props.KeyId.length > MAX_KEY_ID_LENGTH ||
      !KEY_ID_PATTERN.test(props.KeyId)
    ) {
      throw new ValidationError(
        `KeyId ${show(props.KeyId)} is invalid: must be a KMS key id, key ARN, alias name (alias/...) or alias ARN ` +
          `of at most ${MAX_KEY_ID_LENGTH} characters from [a-zA-Z0-9:/_-], or be omitted for SSM's default key alias/aws/ssm`,
      );
    }
    keyId = props.KeyId;
  }

  let keyBytes = DEFAULT_KEY_BYTES;
  if (props.KeyBytes !== undefined && props.KeyBytes !== null && props.KeyBytes !== "") {
    const rawBytes = props.KeyBytes;
    const parsed =
      typeof rawBytes === "number" ? rawBytes : typeof rawBytes === "string" && /^\d+$/.test(rawBytes) ? Number(rawBytes) : NaN;
    if (!Number.isInteger(parsed) || parsed < MIN_KEY_BYTES || parsed > MAX_KEY_BYTES) {
      throw new ValidationError(
        `KeyBytes ${show(rawBytes)} is invalid: must be an integer from ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} ` +
          `(default ${DEFAULT_KEY_BYTES})`,
      );
    }
    keyBytes = parsed;
  }

  return { parameterName: name, description, keyId, keyBytes };
}

/**
 * The parameter's ARN, built from the stack's ARN: PutParameter does not return one, and the
 * stack always lives in the function's account and region. Undefined if the stack id is not an ARN.
 */
export function parameterArn(stackId: string | undefined, parameterName: string): string | undefined {
  const match = /^arn:([^:]+):cloudformation:([^:]+):(\d{12}):stack\//.exec(stackId ?? "");
  if (!match) return undefined;
  const [, partition, region, account] = match;
  return `arn:${partition}:ssm:${region}:${account}:parameter${parameterName}`;
}
