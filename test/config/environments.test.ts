import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../lib/config/config-error';
import { listEnvironments, loadConfig } from '../../lib/config/load';
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
