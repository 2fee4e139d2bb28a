import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APP_MODES } from '../../lib/app/mode-context';
import { KitAppRun, runKitApp } from '../../lib/app/run-kit-app';
import { REPO_ROOT, cdkJsonContext } from '../support/synth';
import { InputPlace, SYNTH_CASES, SynthCase } from './synth-cases';

/** A line of a stack trace, as Node prints it. */
const STACK_LINE = /^ {4}at /m;
/** A character a terminal does not show (or shows as a plain space): every one in a message is written \uXXXX instead. */
const INVISIBLE = /(?![ \n])[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
/** The keys the CDK CLI adds to every app's context (seen in CDK_CONTEXT_JSON under `cdk synth`); bundling off. */
const CLI_CONTEXT = { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:version-reporting': true, 'aws:cdk:bundling-stacks': [] };

interface Prepared {
  readonly baseDir: string;
  readonly outdir: string;
  /** The app's context, as the CLI merges it: cdk.json's, then the CLI's, then `-c`. */
  readonly context: Record<string, unknown>;
}

/** An app directory holding the repository's cdk.json and config/, with the case's changes. */
function prepare(c: SynthCase): Prepared {
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-bad-'));
  fs.cpSync(path.join(REPO_ROOT, 'config'), path.join(baseDir, 'config'), { recursive: true });
  const cdkJson = { ...cdkJsonContext(), ...c.cdkJson };
  fs.writeFileSync(path.join(baseDir, 'cdk.json'), JSON.stringify({ app: 'npx tsx bin/graviton-llm.ts', context: cdkJson }));
  for (const [file, content] of Object.entries(c.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(baseDir, file)), { recursive: true });
    fs.writeFileSync(path.join(baseDir, file), typeof content === 'string' ? content : JSON.stringify(content));
  }
  const outdir = path.join(baseDir, 'cdk.out');
  return { baseDir, outdir, context: { ...cdkJson, ...CLI_CONTEXT, ...(c.mode ? { mode: c.mode } : {}), ...c.c } };
}

function runInProcess(c: SynthCase): KitAppRun {
  const p = prepare(c);
  return runKitApp({ appProps: { context: p.context, outdir: p.outdir }, baseDir: p.baseDir });
}

/** bin/graviton-llm.ts in its own process, with the context and output directory in the environment as the CDK CLI passes them. */
function runBin(c: SynthCase): { exitCode: number | null; stderr: string } {
  const p = prepare(c);
  const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(REPO_ROOT, 'bin', 'graviton-llm.ts')], {
    cwd: p.baseDir,
    encoding: 'utf8',
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(p.context), CDK_OUTDIR: p.outdir },
    timeout: 120_000,
  });
  return { exitCode: r.status, stderr: r.stderr };
}

describe('bad input to synth: exit 1, the field named, no stack trace', () => {
  test.each(SYNTH_CASES.map((c) => [`${c.mode ?? 'environment'} / ${c.where}: ${c.name}`, c] as const))('%s', (_, c) => {
    const run = runInProcess(c);
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^Invalid graviton-llm (org )?configuration/);
    expect(run.stderr).not.toMatch(INVISIBLE);
    for (const words of c.says) {
      expect(run.stderr).toContain(words);
    }
  });

  test('the table covers every mode, every configuration file and every class', () => {
    expect(SYNTH_CASES.length).toBeGreaterThanOrEqual(110);
    for (const mode of APP_MODES) {
      expect(SYNTH_CASES.filter((c) => (c.mode ?? 'environment') === mode).length).toBeGreaterThanOrEqual(15);
    }
    const places: InputPlace[] = ['command line', 'cdk.json', 'environment file', 'config file', 'pipeline.json', 'org.json'];
    for (const place of places) {
      expect(SYNTH_CASES.filter((c) => c.where === place).length).toBeGreaterThanOrEqual(8);
    }
    expect(new Set(SYNTH_CASES.map((c) => c.issueClass))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(new Set(SYNTH_CASES.map((c) => c.name)).size).toBe(SYNTH_CASES.length);
  });
});

describe('the in-process runner is what the bin runs', () => {
  // One case per mode, in a process of its own as the CDK CLI starts it: same exit code, same message.
  const byName = (name: string) => SYNTH_CASES.find((c) => c.name === name)!;
  test.each([
    'VPC CIDR with host bits',
    'pipeline: instance type on the command line',
    'org: misspelt key',
    'oidc: misspelt deploy branch',
  ])('%s', (name) => {
    const c = byName(name);
    const real = runBin(c);
    const inProcess = runInProcess(c);
    expect(real.stderr).not.toMatch(STACK_LINE);
    expect(real.exitCode).toBe(inProcess.exitCode);
    expect(real.stderr).toBe(inProcess.stderr);
  });

  test('npx cdk synth itself prints the same message and fails', () => {
    const c: SynthCase = { name: 'cli', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { githubRepository: 'a/b', githubDeployBrnach: 'release' }, says: [] };
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-bad-cli-'));
    const r = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out, '-c', 'mode=github-oidc', '-c', 'githubRepository=a/b', '-c', 'githubDeployBrnach=release'], {
      cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' }, timeout: 180_000,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).not.toMatch(STACK_LINE);
    const inProcess = runKitApp({ appProps: { context: { ...cdkJsonContext(), ...CLI_CONTEXT, mode: c.mode, ...c.c }, outdir: out }, baseDir: REPO_ROOT });
    expect(r.stderr).toContain(inProcess.stderr.trim());
  });

  test('a good input still synthesizes through the runner', () => {
    const run = runInProcess({ name: 'good', mode: 'github-oidc', where: 'command line', issueClass: 1, c: { githubRepository: 'example-org/graviton-llm' }, says: [] });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.app.synth().stacks.map((s) => s.stackName)).toEqual(['GravitonLlmGitHubOidc']);
  });
});
