import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigProblem } from './config-error';
import { CONFIG_KEYS, KitConfig, configSchema } from './schema';
import { objectKeysAt, schemaAt, unwrapSchema, valueAt } from './schema-paths';
import { DuplicateKey, duplicateKeyProblem, parseJsonText } from '../base/json-text';
import { closest } from '../base/suggest';

/** cdk.json context key holding a configuration object. */
export const CONTEXT_OBJECT_KEY = 'graviton-llm';
/** Context key naming a JSON configuration file (`-c config=config/prod.json`). */
export const CONFIG_FILE_KEY = 'config';
/** Context key naming an environment: `-c env=prod` reads `config/environments/prod.json`. */
export const ENVIRONMENT_KEY = 'env';
/** Where the named environments' files live, relative to the app's directory. */
export const ENVIRONMENTS_DIR = path.join('config', 'environments');
/** An environment's name: it becomes part of the stack name, so it is kept short and plain. */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** Stack name of an environment that does not set one, so environments sharing an account do not collide. */
export const environmentStackName = (env: string): string => `GravitonLlm-${env}`;

/**
 * Context keys the CDK CLI and cdk.json set for CDK itself: feature flags
 * (`@aws-cdk/...`), the CLI's settings (`aws:cdk:...`), lookups recorded in
 * cdk.context.json (`availability-zones:account=...`), and the few without a
 * colon that the CLI writes (`acknowledged-issue-numbers`, `cli-telemetry`,
 * `cdk-...`). Every other key is the app's.
 */
export function isCdkContextKey(key: string): boolean {
  return key.includes(':') || key.startsWith('@') || key.startsWith('cdk-') || CDK_CLI_KEYS.includes(key);
}
const CDK_CLI_KEYS: readonly string[] = ['acknowledged-issue-numbers', 'cli-telemetry'];

export interface LoadConfigOptions {
  /**
   * Ignore single-field `-c key=value` overrides: a pipeline builds each of its
   * environments from its files alone, whatever the synth command line says.
   * @default false
   */
  readonly ignoreCommandLineFields?: boolean;
}

/**
 * Builds the configuration from the places a user can set it, later ones
 * winning field by field:
 *  1. the `graviton-llm` object in cdk.json's context (shared by every environment);
 *  2. a named environment's file, `-c env=prod` reading `config/environments/prod.json`
 *     (relative to `baseDir`); its stack name defaults to `GravitonLlm-prod`;
 *  3. a JSON file named by `-c config=FILE` (relative to `baseDir`);
 *  4. single fields on the command line, `-c instanceType=c7g.xlarge`
 *     (dotted for nested fields: `-c customModel.sha256=...`).
 * Command-line values arrive as strings; they are read as the field's type
 * (number, boolean, list) before validation, so `-c minCapacity=2` works.
 */
export function loadConfig(context: Record<string, unknown>, baseDir: string = process.cwd(), options: LoadConfigOptions = {}): KitConfig {
  const problems: ConfigProblem[] = [];
  const layers: Layer[] = [];

  const fromCdkJson = context[CONTEXT_OBJECT_KEY];
  if (fromCdkJson !== undefined) {
    if (!isPlainObject(fromCdkJson)) {
      problems.push({ field: CONTEXT_OBJECT_KEY, given: fromCdkJson, expected: 'expected an object of configuration fields in cdk.json context' });
    } else {
      layers.push({ values: fromCdkJson, source: () => `cdk.json context "${CONTEXT_OBJECT_KEY}"` });
    }
  }

  const envName = context[ENVIRONMENT_KEY];
  let environmentLayer: Record<string, unknown> | undefined;
  if (envName !== undefined) {
    const loaded = readEnvironment(envName, baseDir);
    if ('problems' in loaded) {
      problems.push(...loaded.problems);
    } else {
      environmentLayer = loaded.value;
      layers.push({ values: loaded.value, source: () => path.join(ENVIRONMENTS_DIR, `${envName as string}.json`) });
    }
  }

  const file = context[CONFIG_FILE_KEY];
  if (file !== undefined) {
    const loaded = readConfigFile(CONFIG_FILE_KEY, file, baseDir);
    if ('problems' in loaded) {
      problems.push(...loaded.problems);
    } else {
      layers.push({ values: loaded.value, source: () => file as string });
    }
  }

  if (!options.ignoreCommandLineFields) {
    const { values, keys } = commandLineOverrides(context, problems);
    layers.push({ values, source: (field) => `-c ${keys[field]}` });
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }

  const merged = layers.reduce<Record<string, unknown>>((acc, layer) => mergeLayer(acc, layer.values), {});
  if (environmentLayer && merged.stackName === undefined) {
    merged.stackName = environmentStackName(envName as string);
  }
  const sourceOf = (field: string): string | undefined => {
    const top = field.split('.')[0];
    const layer = [...layers].reverse().find((l) => Object.prototype.hasOwnProperty.call(l.values, top));
    return layer?.source(top);
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.flatMap((issue) => describeIssue(issue, merged))
      .map((problem) => ({ ...problem, source: sourceOf(problem.field) })));
  }
  SOURCES.set(parsed.data, sourceOf);
  return parsed.data;
}

/** Where each loaded configuration's fields were given, for the cross-field checks' messages. */
const SOURCES = new WeakMap<KitConfig, (field: string) => string | undefined>();

/**
 * Where the value of a field (dotted path) of a configuration `loadConfig`
 * returned was given: a file, `-c KEY`, or cdk.json; undefined when it was
 * not given (a default) or the configuration was not loaded here.
 */
export function fieldSource(config: KitConfig, field: string): string | undefined {
  return SOURCES.get(config)?.(field);
}

/** One place the configuration is read from, and how a problem names it (given a top-level field). */
interface Layer {
  readonly values: Record<string, unknown>;
  readonly source: (field: string) => string;
}

/** The names of the environments that have a file, sorted. */
export function listEnvironments(baseDir: string = process.cwd()): string[] {
  const dir = path.resolve(baseDir, ENVIRONMENTS_DIR);
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs.readdirSync(dir)
    .filter((f) => f.endsWith('.json') && ENVIRONMENT_NAME.test(f.slice(0, -'.json'.length)))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

type FileRead = { value: Record<string, unknown> } | { problems: ConfigProblem[] };

function readEnvironment(name: unknown, baseDir: string): FileRead {
  const known = listEnvironments(baseDir);
  const knownText = known.length > 0
    ? `known environments (files in ${ENVIRONMENTS_DIR}): ${known.join(', ')}`
    : `there are no environment files in ${path.resolve(baseDir, ENVIRONMENTS_DIR)}; add ${ENVIRONMENTS_DIR}/NAME.json`;
  if (typeof name !== 'string' || !ENVIRONMENT_NAME.test(name)) {
    return { problems: [{ field: ENVIRONMENT_KEY, given: name, expected: `expected an environment name (a lowercase letter, then lowercase letters, digits or hyphens); ${knownText}` }] };
  }
  if (!known.includes(name)) {
    const near = closest(name, known);
    return { problems: [{ field: ENVIRONMENT_KEY, given: name, expected: `unknown environment${near ? ` (did you mean "${near}"?)` : ''}; ${knownText}` }] };
  }
  const loaded = readConfigFile(ENVIRONMENT_KEY, path.join(ENVIRONMENTS_DIR, `${name}.json`), baseDir);
  if ('problems' in loaded) {
    // A problem with the file as a whole is -c env's (the name given); a duplicate key is the file's own.
    return { problems: loaded.problems.map((p) => (p.source === undefined ? { ...p, given: name } : p)) };
  }
  return loaded;
}

function readConfigFile(field: string, file: unknown, baseDir: string): FileRead {
  if (typeof file !== 'string' || file.length === 0) {
    return { problems: [{ field, given: file, expected: 'expected the path of a JSON configuration file' }] };
  }
  const fullPath = path.resolve(baseDir, file);
  let text: string;
  try {
    text = fs.readFileSync(fullPath, 'utf8');
  } catch {
    return { problems: [{ field, given: file, expected: `expected a readable JSON file; ${fullPath} cannot be read` }] };
  }
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return 'notJson' in parsed
      ? { problems: [{ field, given: file, expected: `expected valid JSON in ${file}: ${parsed.notJson}` }] }
      : { problems: parsed.duplicates.map((d) => ({ ...duplicateKeyProblem(d), source: file })) };
  }
  if (!isPlainObject(parsed.value)) {
    return { problems: [{ field, given: file, expected: `expected ${file} to hold a JSON object of configuration fields` }] };
  }
  return { value: parsed.value };
}

/**
 * Context keys that are configuration fields. Besides CDK's own keys and the
 * files' keys, every key is one: the app passes only the context of the
 * environment mode, so an unknown one is most likely a misspelt field.
 */
function commandLineOverrides(context: Record<string, unknown>, problems: ConfigProblem[]): { values: Record<string, unknown>; keys: Record<string, string> } {
  const out: Record<string, unknown> = {};
  // The context key that set each field, as typed (`customModel.sha256`), for messages.
  const keys: Record<string, string> = {};
  for (const [key, raw] of Object.entries(context)) {
    if (key === CONTEXT_OBJECT_KEY || key === CONFIG_FILE_KEY || key === ENVIRONMENT_KEY || isCdkContextKey(key)) {
      continue;
    }
    const [top, ...rest] = key.split('.');
    const field = configSchema.shape[top as keyof typeof configSchema.shape] as z.ZodType | undefined;
    if (!field) {
      problems.push({ field: key, given: raw, expected: unknownKeyHint(key, CONFIG_KEYS) });
      continue;
    }
    keys[top] = key;
    // JSON given to -c (`-c customModel='{...}'`) may name a key twice, as a file may.
    const duplicates = (found: readonly DuplicateKey[]): void => {
      problems.push(...found.map((d) => ({ ...duplicateKeyProblem(d, `${key}.`), source: `-c ${key}` })));
    };
    if (rest.length === 0) {
      out[top] = coerce(field, raw, duplicates);
      continue;
    }
    const objectSchema = unwrapSchema(field);
    const shape = objectSchema instanceof z.ZodObject ? (objectSchema.shape as Record<string, z.ZodType>) : undefined;
    const child = rest.length === 1 ? shape?.[rest[0]] : undefined;
    if (!shape || !child) {
      problems.push({ field: key, given: raw, expected: unknownKeyHint(rest.join('.'), shape ? Object.keys(shape) : [], top) });
      continue;
    }
    const nested = isPlainObject(out[top]) ? out[top] as Record<string, unknown> : {};
    nested[rest[0]] = coerce(child, raw, duplicates);
    out[top] = nested;
  }
  return { values: out, keys };
}

/**
 * Reads a command-line string as the field's type; anything unreadable stays
 * a string for the schema to reject. JSON that gives a key twice is reported
 * through `duplicates`.
 */
function coerce(schema: z.ZodType, raw: unknown, duplicates: (found: readonly DuplicateKey[]) => void): unknown {
  if (typeof raw !== 'string') {
    return raw;
  }
  const inner = unwrapSchema(schema);
  if (inner instanceof z.ZodNumber) {
    // Plain spaces and tabs only: String.trim() and Number() also drop a byte-order mark or a
    // no-break space, which would let an invisible character through as a valid number.
    return /^[ \t]*-?\d+(\.\d+)?[ \t]*$/.test(raw) ? Number(raw) : raw;
  }
  if (inner instanceof z.ZodBoolean) {
    return raw === 'true' ? true : raw === 'false' ? false : raw;
  }
  if (inner instanceof z.ZodArray) {
    return raw.trim().startsWith('[') ? parseJsonOr(raw, duplicates) : raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  }
  if (inner instanceof z.ZodObject) {
    return parseJsonOr(raw, duplicates);
  }
  return raw;
}

function parseJsonOr(raw: string, duplicates: (found: readonly DuplicateKey[]) => void): unknown {
  const parsed = parseJsonText(raw);
  if (parsed.ok) {
    return parsed.value;
  }
  if ('duplicates' in parsed) {
    duplicates(parsed.duplicates);
  }
  return raw;
}

/** A later layer replaces a field of an earlier one; nested objects merge one level deep. */
function mergeLayer(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(layer)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? { ...(out[k] as object), ...v } : v;
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): ConfigProblem[] {
  const fieldPath = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const parent = fieldPath.join('.');
    // The object may be an entry of a list (scheduledCapacity.0): its fields are the entry schema's.
    const allowed = objectKeysAt(configSchema, fieldPath);
    return issue.keys.map((k) => ({
      field: parent === '' ? k : `${parent}.${k}`,
      given: valueAt(input, [...fieldPath, k]),
      expected: unknownKeyHint(k, allowed, parent || undefined),
    }));
  }
  const field = fieldPath.join('.');
  const given = valueAt(input, fieldPath);
  return [{ field, given, expected: expectation(issue, fieldPath, given) }];
}

function expectation(issue: z.core.$ZodIssue, fieldPath: string[], given: unknown): string {
  if (issue.code === 'custom') {
    return issue.message;
  }
  const schema = schemaAt(configSchema, fieldPath);
  // A field whose schema words its type's error itself (in the words of the construct that owns the value).
  if (issue.code === 'invalid_type' && given !== undefined && schema?._zod.def.error !== undefined) {
    return issue.message;
  }
  if (schema instanceof z.ZodNumber) {
    const min = schema.minValue;
    const max = schema.maxValue;
    const bounded = min !== null && max !== null && Math.abs(min) < Number.MAX_SAFE_INTEGER && Math.abs(max) < Number.MAX_SAFE_INTEGER;
    const kind = schema.format === 'safeint' ? 'a whole number' : 'a number';
    return `expected ${kind}${bounded ? ` from ${min} to ${max}` : min !== null && min > 0 ? ' above 0' : ''}`;
  }
  if (issue.code === 'invalid_value') {
    return `expected one of: ${issue.values.map(String).join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    return given === undefined ? `required; expected ${issue.expected}` : `expected ${issue.expected}`;
  }
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    return `expected ${bound}${issue.origin === 'array' ? ' entries' : ''}`;
  }
  return issue.message;
}

function unknownKeyHint(key: string, allowed: readonly string[], parent?: string): string {
  const near = closest(key, allowed);
  const where = parent ? ` in ${parent}` : '';
  return `unknown configuration field${where}${near ? `; did you mean "${near}"?` : ''} Allowed fields: ${allowed.join(', ')}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
