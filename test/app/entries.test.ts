import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GITHUB_OIDC_ENTRY } from '../../lib/app/github-oidc-app';
import { KIT_ENTRIES } from '../../lib/app/mode-context';
import { PIPELINE_ENTRY } from '../../lib/app/pipeline-app';
import { KitAppRun, RunKitAppOptions, runKitApp } from '../../lib/app/run-kit-app';
import { synthOrg } from '../org/support/org-synth';
import { REPO_ROOT, cdkJsonContext } from '../support/synth';

/** No Lambda bundling: the stacks' own tests prove it. */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };
const STACK_LINE = /^ {4}at /m;

function run(context: Record<string, unknown>, entry?: RunKitAppOptions['entry']): KitAppRun {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-entry-'));
  return runKitApp({ appProps: { context: { ...cdkJsonContext(), ...NO_BUNDLING, ...context }, outdir }, baseDir: REPO_ROOT, entry });
}

function templates(r: KitAppRun): Record<string, unknown> {
  expect(r.stderr).toBe('');
  return Object.fromEntries(r.app.synth().stacks.map((s) => [s.stackName, s.template]));
}

/** A bin/ file in its own process, as the CDK CLI starts it: context and output directory in the environment. */
function runBin(bin: string, context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-entry-bin-'));
  const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(REPO_ROOT, bin)], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), ...NO_BUNDLING, ...context }), CDK_OUTDIR: outdir },
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr, outdir };
}

describe('one app entry per deployable', () => {
  test('each entry has its bin file, and a way to run it: cdk.json\'s app for the endpoint, an npm script for the others', () => {
    const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'));
    const scripts = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(KIT_ENTRIES.map((e) => e.mode)).toEqual(['environment', 'pipeline', 'org', 'github-oidc']);
    for (const entry of KIT_ENTRIES) {
      expect(fs.existsSync(path.join(REPO_ROOT, entry.bin))).toBe(true);
      if (entry.mode === 'environment') {
        expect(cdkJson.app).toBe(`npx tsx ${entry.bin}`);
      } else {
        expect(scripts[`cdk:${entry.mode}`]).toBe(`cdk --app "npx tsx ${entry.bin}"`);
      }
    }
  });

  test('bin/github-oidc.ts builds the OIDC stack without -c mode', () => {
    const r = runBin(GITHUB_OIDC_ENTRY.bin, { githubRepository: 'example-org/graviton-llm' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(r.outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.artifacts).filter((id) => manifest.artifacts[id].type === 'aws:cloudformation:stack')).toEqual(['GravitonLlmGitHubOidc']);
  });

  test('a deployable\'s own bin refuses -c mode naming another, and names the entry that builds it', () => {
    const r = runBin(PIPELINE_ENTRY.bin, { mode: 'org' });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stderr).toContain('- mode: got "org"; bin/pipeline.ts builds the self-mutating pipeline (mode pipeline); '
      + 'bin/org.ts builds the org template, its StackSet and Service Catalog portfolio: npx cdk synth --app "npx tsx bin/org.ts", or -c mode=org with cdk.json\'s app');
    // Its own name is accepted, so a command line written for -c mode keeps working with the entry.
    expect(run({ mode: 'github-oidc', githubRepository: 'a/b' }, GITHUB_OIDC_ENTRY).exitCode).toBe(0);
  });

  test('-c mode=X builds what X\'s entry builds, template for template', () => {
    const oidc = { githubRepository: 'example-org/graviton-llm' };
    expect(templates(run({ mode: 'github-oidc', ...oidc }))).toEqual(templates(run(oidc, GITHUB_OIDC_ENTRY)));
    const viaMode = templates(run({ mode: 'pipeline' }));
    expect(Object.keys(viaMode)).toContain('GravitonLlmPipeline');
    expect(viaMode).toEqual(templates(run({}, PIPELINE_ENTRY)));
  });

  test('an entry reads only its own keys: another deployable\'s key stops it, naming the one that reads it', () => {
    const r = run({ githubRepository: 'a/b', instanceType: 'c7g.large' }, GITHUB_OIDC_ENTRY);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('- instanceType: got "c7g.large"; not read in github-oidc mode: -c mode=environment reads it.');
  });
});

describe('the org entry synthesizes its template as a step of its own', () => {
  const saved = process.env.CDK_CONTEXT_JSON;
  afterEach(() => {
    if (saved === undefined) delete process.env.CDK_CONTEXT_JSON;
    else process.env.CDK_CONTEXT_JSON = saved;
  });

  test('the template is bundled whatever stacks the CLI selects (its selection names the org entry\'s stacks, never the template)', () => {
    // What `cdk deploy --exclusively GravitonLlmOrgStackSet` (or `cdk ls`, which selects none) passes in the environment.
    process.env.CDK_CONTEXT_JSON = JSON.stringify({ 'aws:cdk:bundling-stacks': ['GravitonLlmOrgStackSet'] });
    const s = synthOrg({}, { bundle: true });
    expect(s.org.template.bundlingRequired).toBe(true);
    expect(s.org.stackSet.bundlingRequired).toBe(true);
    expect(s.org.catalog.bundlingRequired).toBe(false);
    // The file the administrator stacks upload is the template step's, in its own assembly.
    expect(path.relative(s.outdir, s.org.templateFile)).toBe(path.join('org-template', 'GravitonLlmOrgTemplate.template.json'));
  });
});
