import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { ENVIRONMENTS_DIR, listEnvironments } from '../config/load';
import { objectKeysAt, valueAt } from '../config/schema-paths';
import { duplicateKeyProblem, parseJsonText } from '../base/json-text';
import { closest } from '../base/suggest';

/** Context key naming the pipeline's file (`-c pipelineConfig=FILE`). */
export const PIPELINE_CONFIG_KEY = 'pipelineConfig';
/** The pipeline's file when no `-c pipelineConfig=FILE` is given. */
export const DEFAULT_PIPELINE_CONFIG = path.join('config', 'pipeline.json');

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
const ENVIRONMENT = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { message: 'expected an environment name' });

export const pipelineConfigSchema = z.strictObject({
  pipelineName: z.string().regex(/^[A-Za-z0-9.@_-]{1,100}$/, { message: 'expected letters, digits and . @ _ - (at most 100)' }).default('graviton-llm')
    .describe('Name of the CodePipeline pipeline; the stack is this name\'s PascalCase with a Pipeline suffix.'),
  account: z.string().regex(ACCOUNT, { message: 'expected a 12-digit AWS account id' })
    .describe('Account the pipeline runs in (the tooling account); bootstrap every target account to trust it.'),
  region: z.string().regex(REGION, { message: 'expected an AWS region code like us-east-1' })
    .describe('Region the pipeline runs in.'),
  source: z.strictObject({
    connectionArn: z.string().regex(/^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:connection\/[0-9a-f-]{36}$/, {
      message: 'expected a CodeConnections ARN like arn:aws:codeconnections:us-east-1:123456789012:connection/uuid',
    }).describe('CodeConnections (formerly CodeStar Connections) connection to the repository host.'),
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { message: 'expected OWNER/NAME' })
      .describe('Repository holding this app, as OWNER/NAME.'),
    branch: z.string().min(1).default('main').describe('Branch whose pushes run the pipeline.'),
  }),
  testEnvironment: ENVIRONMENT
    .describe('Environment deployed first and smoke-tested before anything reaches production.'),
  productionWaves: z.array(z.array(ENVIRONMENT).min(1)).default([])
    .describe('Production environments after the manual approval: waves in order, the environments of one wave (say, one per region) in parallel.'),
  smokeTest: z.strictObject({
    requests: z.number().int().min(1).max(50).default(4).describe('Requests the smoke test sends.'),
    targetTpotMs: z.number().int().min(1).max(10000).optional()
      .describe('Fail above this p90 time per output token. @default - the environment\'s tpotP90AlarmMs'),
  }).default({ requests: 4 }),
});

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;

/**
 * Fields earlier versions read and this one does not, each with what took
 * its place: refused by name rather than as an unknown field, so that an
 * upgrade says what changed.
 */
const REMOVED_SMOKE_TEST_FIELDS: Readonly<Record<string, string>> = {
  vpcId: 'no longer used: the smoke test now runs as a Lambda function in each environment\'s own VPC, which reaches its internal endpoint with no network of the pipeline\'s; remove smokeTest.vpcId',
  subnetIds: 'no longer used: the smoke test now runs as a Lambda function in each environment\'s own VPC, which reaches its internal endpoint with no network of the pipeline\'s; remove smokeTest.subnetIds',
};

/**
 * Reads and checks the pipeline's file. Every environment it names must have
 * a file in config/environments and appear once.
 */
export function loadPipelineConfig(context: Record<string, unknown>, baseDir: string = process.cwd()): PipelineConfig {
  const file = context[PIPELINE_CONFIG_KEY] ?? DEFAULT_PIPELINE_CONFIG;
  if (typeof file !== 'string' || file === '') {
    throw new ConfigError([{ field: PIPELINE_CONFIG_KEY, given: file, expected: 'expected the path of the pipeline\'s JSON file' }]);
  }
  const fullPath = path.resolve(baseDir, file);
  let text: string;
  try {
    text = fs.readFileSync(fullPath, 'utf8');
  } catch (e) {
    throw new ConfigError([{ field: PIPELINE_CONFIG_KEY, given: file, expected: `expected a readable JSON file (${fullPath}): ${(e as Error).message}` }]);
  }
  const json = parseJsonText(text);
  if (!json.ok) {
    throw new ConfigError('notJson' in json
      ? [{ field: PIPELINE_CONFIG_KEY, given: file, expected: `expected valid JSON (${fullPath}): ${json.notJson}` }]
      : json.duplicates.map((d) => duplicateKeyProblem(d, `${file}: `)));
  }
  const raw = json.value;
  const problems: ConfigProblem[] = [];
  const smokeTest = isObject(raw) && isObject(raw.smokeTest) ? raw.smokeTest : undefined;
  for (const [field, expected] of Object.entries(REMOVED_SMOKE_TEST_FIELDS)) {
    if (smokeTest && field in smokeTest) {
      problems.push({ field: `${file}: smokeTest.${field}`, given: smokeTest[field], expected });
    }
  }
  // Without the removed fields, so that they are not reported a second time as unknown.
  const current = smokeTest && problems.length > 0
    ? { ...(raw as Record<string, unknown>), smokeTest: Object.fromEntries(Object.entries(smokeTest).filter(([k]) => !(k in REMOVED_SMOKE_TEST_FIELDS))) }
    : raw;
  const parsed = pipelineConfigSchema.safeParse(current);
  if (!parsed.success) {
    throw new ConfigError([...problems, ...parsed.error.issues.flatMap((issue) => describeIssue(issue, raw, file))]);
  }
  const config = parsed.data;
  const known = listEnvironments(baseDir);
  const named = [config.testEnvironment, ...config.productionWaves.flat()];
  named.forEach((env, i) => {
    if (!known.includes(env)) {
      problems.push({ field: `${file}: environment`, given: env, expected: `unknown environment; known environments (files in ${ENVIRONMENTS_DIR}): ${known.join(', ') || 'none'}` });
    } else if (named.indexOf(env) !== i) {
      problems.push({ field: `${file}: environment`, given: env, expected: 'each environment may be deployed once per pipeline run' });
    }
  });
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return config;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** One problem per field, named by its path in the file (an unknown key by its own path, with the nearest known one). */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown, file: string): ConfigProblem[] {
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.join('.');
    const allowed = objectKeysAt(pipelineConfigSchema, issue.path);
    return issue.keys.map((key) => {
      const near = closest(key, allowed);
      return {
        field: `${file}: ${parent ? `${parent}.` : ''}${key}`,
        given: valueAt(raw, [...issue.path, key]),
        expected: `unknown field${near ? `; did you mean "${near}"?` : ''} Allowed${parent ? ` in ${parent}` : ''}: ${allowed.join(', ')}`,
      };
    });
  }
  const field = issue.path.join('.');
  const given = valueAt(raw, issue.path);
  let expected = issue.message;
  if (issue.code === 'invalid_type') {
    expected = issue.path.length === 0
      ? 'expected a JSON object of pipeline fields'
      : `${given === undefined ? 'required; ' : ''}expected ${issue.expected}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
    expected = `expected ${bound}${issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : ''}`;
  }
  // The whole file is never echoed: a problem with the file itself is named by the file alone.
  return [{ field: `${file}: ${field || '(file)'}`, given: issue.path.length === 0 ? undefined : given, expected }];
}
