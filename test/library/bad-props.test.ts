import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { GravitonInstanceType, GravitonLlmEndpoint, LlamaModel, PropsError } from '../../lib';
import { BAD_PROPS_CASES, BadPropsCase, IssueClass } from './bad-props-cases';

/**
 * Bad props through the library, as a CDK app of one's own gives them: each
 * case of bad-props-cases.ts runs as its own process (test/library/driver.ts,
 * an app that imports the package's public entry, lib/index.ts, run by tsx as
 * examples/embed's cdk.json runs its app), and must exit 1 with no stack
 * trace and a problem line that names the prop and says what is allowed.
 *
 * The driver imports lib/index.ts rather than the built dist/: dist/ is that
 * file compiled (test/package/embed.test.ts packs, installs and synthesizes
 * it), and building it here would add a compile to every run of this suite.
 */

const REPO_ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const DRIVER = path.join(__dirname, 'driver.ts');
/** A line of a stack trace, as Node prints it. */
const STACK_LINE = /^ {4}at /m;
/** How many cases run at once: the machine's cores, at most 4. */
const PARALLEL = Math.max(1, Math.min(4, os.cpus().length));

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  readonly stdout: string;
}

function runDriver(arg: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [DRIVER, arg], { cwd: REPO_ROOT, env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' } });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => { stdout += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stderr, stdout }));
  });
}

/** Runs every case, PARALLEL at a time; the runs by case name. */
async function runAll(cases: readonly BadPropsCase[]): Promise<Map<string, Run>> {
  const runs = new Map<string, Run>();
  const queue = [...cases];
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      runs.set(c.name, await runDriver(c.name));
    }
  }));
  return runs;
}

describe('bad props through the library: exit 1, no stack trace, the prop and what is allowed', () => {
  let runs: Map<string, Run>;
  beforeAll(async () => {
    const started = Date.now();
    runs = await runAll(BAD_PROPS_CASES);
    // The suite's cost, for the record (`npx jest test/library --verbose` prints it).
    console.log(`${BAD_PROPS_CASES.length} cases, ${PARALLEL} at a time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 600_000);

  test.each(BAD_PROPS_CASES.map((c) => [`${c.issueClass}: ${c.name}`, c] as const))('%s', (_, c) => {
    const run = runs.get(c.name)!;
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect({ status: run.status, stderr: run.stderr }).toMatchObject({ status: 1 });
    // The construct's error: its owner, then one line per problem.
    expect(run.stderr).toMatch(/^(GravitonLlmEndpoint \S+|LlamaModel\.custom|GravitonInstanceType\.\w+): invalid props:\n {2}- /);
    const line = run.stderr.split('\n').find((l) => l.startsWith(`  - ${c.prop}: `));
    expect({ prop: c.prop, line, stderr: run.stderr }).toMatchObject({ line: expect.any(String) });
    for (const words of c.says) {
      expect(line).toContain(words);
    }
  });

  test('the table has at least 60 cases, of every class, each named once', () => {
    expect(BAD_PROPS_CASES.length).toBeGreaterThanOrEqual(60);
    const classes: IssueClass[] = ['wrong acceptance', 'uncaught error', 'wrong name', 'wrong type'];
    for (const issueClass of classes) {
      expect(BAD_PROPS_CASES.filter((c) => c.issueClass === issueClass).length).toBeGreaterThanOrEqual(8);
    }
    expect(new Set(BAD_PROPS_CASES.map((c) => c.name)).size).toBe(BAD_PROPS_CASES.length);
  });
});

test('the driver synthesizes good props (an arm64 image, a schedule, a token account), exiting 0', async () => {
  const run = await runDriver('--good');
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
}, 300_000);

test('the README\'s example message is what the construct prints for its example props', () => {
  // In this process: the message is the construct's, whoever prints it.
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use as a library'), readme.indexOf('## Architecture'));
  const printed = section.slice(section.indexOf('```text\n') + '```text\n'.length);
  const stack = new Stack(new App(), 'MyStack', { env: { region: 'us-east-1' } });
  let message = '';
  try {
    new GravitonLlmEndpoint(stack, 'Llm', {
      model: LlamaModel.LLAMA_3_2_3B_INSTRUCT_Q4_K_M,
      instanceType: GravitonInstanceType.of('c7g.2xlarge'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      scheduledCapacity: [{ name: 'office', cron: '0 7 * * MON-FRY', minCapacity: 2, maxCapacity: 3 }],
      bootScriptBucketAccount: 'abc',
    });
  } catch (e) {
    expect(e).toBeInstanceOf(PropsError);
    message = (e as Error).message;
  }
  expect(printed.slice(0, printed.indexOf('\n```'))).toBe(message);
  // The README's code is the code run here.
  expect(section).toContain("machineImage: ec2.MachineImage.latestAmazonLinux2023(),\n  scheduledCapacity: [{ name: 'office', cron: '0 7 * * MON-FRY', minCapacity: 2, maxCapacity: 3 }],\n  bootScriptBucketAccount: 'abc',");
});
