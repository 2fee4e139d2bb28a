import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../lib/config/config-error';
import { listEnvironments, loadConfig } from '../../lib/config/load';
import { readCdkJsonContext } from '../../lib/app/mode-context';
import { loadPipelineConfig } from '../../lib/pipeline/pipeline-config';
import { resolveConfig } from '../../lib/config/resolve';

const REPO_ROOT = path.join(__dirname, '..', '..');

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

/** A directory holding config/environments with the given files. */
function withEnvironments(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-envs-'));
  fs.mkdirSync(path.join(dir, 'config', 'environments'), { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, 'config', 'environments', name), text);
  }
  return dir;
}

describe('named environments', () => {
  test('the shipped environments are dev and prod, each pinned to an account, a region and an AMI', () => {
    expect(listEnvironments(REPO_ROOT)).toEqual(['dev', 'prod']);
    for (const env of ['dev', 'prod']) {
      const config = loadConfig({ env }, REPO_ROOT);
      expect(config.account).toMatch(/^\d{12}$/);
      expect(config.region).toBe('us-east-1');
      expect(config.amiId).toMatch(/^ami-[0-9a-f]{17}$/);
      expect(config.stackName).toBe(`GravitonLlm-${env}`);
    }
    const dev = loadConfig({ env: 'dev' }, REPO_ROOT);
    const prod = loadConfig({ env: 'prod' }, REPO_ROOT);
    expect(dev.account).not.toBe(prod.account);
    expect(prod.minCapacity).toBeGreaterThan(dev.minCapacity);
  });

  test('layers: cdk.json object < environment file < -c config=FILE < -c key=value', () => {
    const dir = withEnvironments({ 'stage.json': JSON.stringify({ minCapacity: 2, maxCapacity: 5, parallelSlots: 6, stackName: 'Staging' }) });
    fs.writeFileSync(path.join(dir, 'extra.json'), JSON.stringify({ maxCapacity: 7 }));
    const config = loadConfig({
      'graviton-llm': { minCapacity: 3, parallelSlots: 2, port: 9000 },
      'env': 'stage',
      'config': 'extra.json',
      'parallelSlots': '8',
    }, dir);
    expect(config.port).toBe(9000); // cdk.json only
    expect(config.minCapacity).toBe(2); // the environment beats cdk.json
    expect(config.maxCapacity).toBe(7); // the config file beats the environment
    expect(config.parallelSlots).toBe(8); // the command line beats everything
    expect(config.stackName).toBe('Staging'); // an environment's own stack name is kept
  });

  test('a pipeline can ignore command-line fields', () => {
    const config = loadConfig({ env: 'dev', minCapacity: '2' }, REPO_ROOT, { ignoreCommandLineFields: true });
    expect(config.minCapacity).toBe(1);
  });

  test('an unknown environment fails, listing the known ones (with a near miss suggested)', () => {
    const [p] = problemsOf(() => loadConfig({ env: 'prd' }, REPO_ROOT));
    expect(p.field).toBe('env');
    expect(p.given).toBe('prd');
    expect(p.expected).toContain('unknown environment (did you mean "prod"?)');
    expect(p.expected).toContain('known environments (files in config/environments): dev, prod');
    const [q] = problemsOf(() => loadConfig({ env: 'staging' }, REPO_ROOT));
    expect(q.expected).not.toContain('did you mean');
    expect(q.expected).toContain('dev, prod');
  });

  test('an environment name that could not be a file name fails before any file is read', () => {
    for (const bad of ['../prod', 'Prod', '', 'a b']) {
      const [p] = problemsOf(() => loadConfig({ env: bad }, REPO_ROOT));
      expect(p.field).toBe('env');
      expect(p.expected).toContain('expected an environment name');
    }
  });

  test('no environment files at all says where they go', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-noenv-'));
    const [p] = problemsOf(() => loadConfig({ env: 'dev' }, dir));
    expect(p.expected).toContain('there are no environment files in');
    expect(p.expected).toContain('add config/environments/NAME.json');
  });

  test('a broken or invalid environment file names the file and the field', () => {
    const dir = withEnvironments({ 'bad.json': '{ "minCapacity": ', 'wrong.json': JSON.stringify({ minCapacty: 2, account: '12345' }) });
    const [broken] = problemsOf(() => loadConfig({ env: 'bad' }, dir));
    expect(broken.field).toBe('env');
    expect(broken.expected).toContain('expected valid JSON in config/environments/bad.json');
    const problems = problemsOf(() => loadConfig({ env: 'wrong' }, dir));
    expect(problems.map((p) => p.field).sort()).toEqual(['account', 'minCapacty']);
    expect(problems.find((p) => p.field === 'minCapacty')!.expected).toContain('did you mean "minCapacity"?');
    expect(problems.find((p) => p.field === 'account')!.expected).toContain('12-digit AWS account id');
  });

  test('a bad value names the place it was given: the environment file, the config file, cdk.json or the command line', () => {
    const dir = withEnvironments({ 'stage.json': JSON.stringify({ region: 'us-east-1', amiId: 'ami-123' }) });
    fs.writeFileSync(path.join(dir, 'extra.json'), JSON.stringify({ minCapacity: 0 }));
    const errorOf = (context: Record<string, unknown>) => {
      try {
        resolveConfig(loadConfig(context, dir));
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    };
    const error = errorOf({ 'graviton-llm': { port: 80 }, 'env': 'stage', 'config': 'extra.json', 'maxCapacity': '2' });
    const line = (field: string) => error.message.split('\n').find((l) => l.startsWith(`  - ${field}:`));
    expect(line('amiId')).toBe('  - amiId: got "ami-123"; expected an AMI id like ami-0123456789abcdef0 (ami- and 8 or 17 lowercase hexadecimal characters) (from config/environments/stage.json)');
    expect(line('minCapacity')).toMatch(/ \(from extra\.json\)$/);
    expect(line('port')).toMatch(/ \(from cdk\.json context "graviton-llm"\)$/);
    // A value of the wrong JSON type is refused by the schema, before the values are judged.
    const typed = errorOf({ 'env': 'stage', 'maxCapacity': 'many' });
    expect(typed.message).toMatch(/^  - maxCapacity: got "many"; expected a whole number from 1 to 100 \(from -c maxCapacity\)$/m);
    // A later layer that sets the field is the one named.
    const overridden = problemsOf(() => resolveConfig(loadConfig({ env: 'stage', amiId: 'ami-456' }, dir)));
    expect(overridden.find((p) => p.field === 'amiId')).toMatchObject({ given: 'ami-456', source: '-c amiId' });
  });

  test('the CDK CLI\'s own context keys are not mistaken for misspelt fields; another mode\'s keys are not configuration', () => {
    const cli = { 'aws:cdk:bundling-stacks': ['**'], '@aws-cdk/core:checkSecretUsage': true, 'acknowledged-issue-numbers': [32775], 'cli-telemetry': false };
    expect(() => loadConfig(cli, REPO_ROOT)).not.toThrow();
    // The app refuses another mode's keys before loading (naming the mode); the loader alone says it is no field.
    expect(problemsOf(() => loadConfig({ pipelineConfig: 'x.json' }, REPO_ROOT)).map((p) => p.field)).toEqual(['pipelineConfig']);
  });
});

describe('a key given twice, a byte-order mark: the files refuse them', () => {
  const messageOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error('expected a ConfigError');
  };

  test('an environment file with a key twice: the key, both places, the file; nothing deployed with the last', () => {
    const dir = withEnvironments({ 'stage.json': '{\n  "minCapacity": 1,\n  "maxCapacity": 2,\n  "customModel": {\n    "sha256": "a",\n    "sha256": "b"\n  },\n  "maxCapacity": 50\n}\n' });
    const problems = problemsOf(() => loadConfig({ env: 'stage' }, dir));
    expect(problems.map((p) => [p.field, p.source])).toEqual([
      ['customModel.sha256', 'config/environments/stage.json'],
      ['maxCapacity', 'config/environments/stage.json'],
    ]);
    expect(messageOf(() => loadConfig({ env: 'stage' }, dir))).toContain(
      '  - maxCapacity: got 50; the key is given twice in one object, at line 3 column 3 (2) and at line 8 column 3 (50); '
      + 'JSON keeps only the last without a word, so the first would be ignored: keep one of them and delete the rest (from config/environments/stage.json)',
    );
  });

  test('a -c config=FILE with a key twice; JSON given to -c with a key twice', () => {
    const dir = withEnvironments({});
    fs.writeFileSync(path.join(dir, 'settings.json'), '{"scheduledCapacity":[{"name":"night","name":"day","cron":"0 22 * * *","minCapacity":1,"maxCapacity":1}]}');
    expect(problemsOf(() => loadConfig({ config: 'settings.json' }, dir))).toMatchObject([{ field: 'scheduledCapacity.0.name', given: 'day', source: 'settings.json' }]);
    const custom = '{"source":"s3://b/m.gguf","sha256":"' + 'a'.repeat(64) + '","sha256":"' + 'b'.repeat(64) + '","sizeBytes":1,"architecture":"llama-3.2-1b","quantization":"Q4_0"}';
    expect(problemsOf(() => loadConfig({ customModel: custom }, REPO_ROOT))).toMatchObject([{ field: 'customModel.sha256', given: 'b'.repeat(64), source: '-c customModel' }]);
  });

  test('a byte-order mark at the start of an environment file: refused, named and escaped', () => {
    const dir = withEnvironments({ 'stage.json': '\ufeff{"minCapacity": 1}' });
    const message = messageOf(() => loadConfig({ env: 'stage' }, dir));
    expect(message).toContain('env: got "stage"; expected valid JSON in config/environments/stage.json: the text starts with a byte-order mark, \\ufeff (U+FEFF)');
    expect(message).not.toContain('\ufeff');
  });

  test('a byte-order mark inside the JSON: JSON.parse\'s message, with the mark escaped and named', () => {
    const dir = withEnvironments({ 'stage.json': '{"minCapacity":\ufeff 1}' });
    const message = messageOf(() => loadConfig({ env: 'stage' }, dir));
    expect(message).toContain('\\ufeff');
    expect(message).toContain('(contains invisible characters: U+FEFF (byte-order mark))');
    expect(message).not.toContain('\ufeff');
  });

  test('pipeline.json with a key twice: named by the file and the path', () => {
    const dir = withEnvironments({ 'dev.json': '{}' });
    fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
    const text = '{"account":"111111111111","region":"us-east-1","source":{"connectionArn":"x","repository":"a/b","branch":"main","branch":"release"},"testEnvironment":"dev"}';
    fs.writeFileSync(path.join(dir, 'config', 'pipeline.json'), text);
    const first = text.indexOf('"branch"') + 1;
    const second = text.indexOf('"branch"', first) + 1;
    expect(messageOf(() => loadPipelineConfig({}, dir))).toContain(`  - config/pipeline.json: source.branch: got "release"; the key is given twice in one object, at line 1 column ${first} ("main") and at line 1 column ${second} ("release")`);
  });

  test('cdk.json: read past a byte-order mark, as the CDK CLI reads it; a key given twice refused, with its path in the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-cdkjson-'));
    fs.writeFileSync(path.join(dir, 'cdk.json'), '\ufeff{"app":"x","context":{"graviton-llm":{"minCapacity":1}}}');
    expect(readCdkJsonContext(dir)).toEqual({ 'graviton-llm': { minCapacity: 1 } });
    fs.writeFileSync(path.join(dir, 'cdk.json'), '{"app":"x","context":{"graviton-llm":{"maxCapacity":2,"maxCapacity":50}}}');
    expect(problemsOf(() => readCdkJsonContext(dir))).toMatchObject([{ field: 'context.graviton-llm.maxCapacity', given: 50, source: 'cdk.json' }]);
    // Not JSON at all: the CDK CLI has said so before the app runs.
    fs.writeFileSync(path.join(dir, 'cdk.json'), '{');
    expect(readCdkJsonContext(dir)).toBeUndefined();
  });
});
