import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

const REPO_ROOT = path.join(__dirname, '..', '..');
const WORKFLOW_PATH = path.join(REPO_ROOT, 'examples', 'github-actions', 'graviton-llm.yml');
const TEXT = fs.readFileSync(WORKFLOW_PATH, 'utf8');

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
  readonly env?: Record<string, string>;
}
interface Job {
  readonly if?: string;
  readonly needs?: string | string[];
  readonly environment?: string | { name: string };
  readonly permissions?: Record<string, string>;
  readonly concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  readonly strategy?: { matrix: Record<string, unknown[]> };
  readonly steps: Step[];
}
interface Workflow {
  readonly on: Record<string, { branches?: string[] }>;
  readonly permissions: Record<string, string>;
  readonly concurrency?: unknown;
  readonly jobs: Record<string, Job>;
}

const WF = yaml.safeLoad(TEXT) as Workflow;
const JOBS = WF.jobs;
const allSteps = (): [string, Step][] => Object.entries(JOBS).flatMap(([id, job]) => job.steps.map((s): [string, Step] => [id, s]));
const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : ([] as string[]).concat(job.needs));
const runs = (job: Job): string => job.steps.map((s) => s.run ?? '').join('\n');
const assumes = (job: Job): string[] => job.steps
  .filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))
  .map((s) => String(s.with?.['role-to-assume']));

/**
 * Which jobs an event runs, reading the job conditions the way this workflow writes them
 * (`github.event_name == '...'` clauses joined with &&) and following `needs`.
 */
function jobsRunBy(event: 'pull_request' | 'push'): string[] {
  const ran = new Map<string, boolean>();
  const visit = (id: string): boolean => {
    if (ran.has(id)) return ran.get(id)!;
    const job = JOBS[id];
    const named = [...(job.if ?? '').matchAll(/github\.event_name == '([a-z_]+)'/g)].map((m) => m[1]);
    const ok = named.every((e) => e === event) && needsOf(job).every(visit);
    ran.set(id, ok);
    return ok;
  };
  return Object.keys(JOBS).filter(visit);
}

describe('examples/github-actions/graviton-llm.yml', () => {
  test('triggers: pull requests and pushes to main', () => {
    expect(WF.on.pull_request.branches).toEqual(['main']);
    expect(WF.on.push.branches).toEqual(['main']);
    expect(Object.keys(WF.on).sort()).toEqual(['pull_request', 'push']);
  });

  test('permissions: id-token write and contents read; pull-requests write only for the job that comments', () => {
    expect(WF.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    const writers = Object.entries(JOBS).filter(([, j]) => j.permissions?.['pull-requests'] === 'write').map(([id]) => id);
    expect(writers).toEqual(['diff']);
    expect(JOBS.diff.permissions).toEqual({ 'id-token': 'write', contents: 'read', 'pull-requests': 'write' });
    expect(JOBS.diff.steps.some((s) => s.uses?.startsWith('actions/github-script@'))).toBe(true);
    // The test job runs the pull request's code: no token for AWS at all.
    expect(JOBS.test.permissions).toEqual({ contents: 'read' });
  });

  test('no long-lived AWS keys and no secrets anywhere', () => {
    expect(TEXT).not.toMatch(/aws-access-key-id|aws-secret-access-key|aws-session-token/i);
    expect(TEXT).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN/);
    expect(TEXT).not.toMatch(/secrets\./);
  });

  test('every configure-aws-credentials step assumes a role from a repository variable, and nothing else', () => {
    const steps = allSteps().filter(([, s]) => s.uses?.startsWith('aws-actions/configure-aws-credentials'));
    expect(steps.map(([id]) => id).sort()).toEqual(['deploy-dev', 'deploy-prod', 'diff']);
    for (const [, step] of steps) {
      expect(step.uses).toBe('aws-actions/configure-aws-credentials@v4');
      expect(step.with?.['role-to-assume']).toMatch(/^\$\{\{ vars\.GLLM_(PLAN|DEPLOY)_ROLE_ARN \}\}$/);
      expect(step.with?.['aws-region']).toBe('${{ vars.AWS_REGION }}');
      expect(Object.keys(step.with ?? {}).every((k) => ['role-to-assume', 'aws-region', 'role-session-name', 'role-duration-seconds'].includes(k))).toBe(true);
    }
    expect(assumes(JOBS.diff)).toEqual(['${{ vars.GLLM_PLAN_ROLE_ARN }}']);
    expect(assumes(JOBS['deploy-dev'])).toEqual(['${{ vars.GLLM_DEPLOY_ROLE_ARN }}']);
    expect(assumes(JOBS['deploy-prod'])).toEqual(['${{ vars.GLLM_DEPLOY_ROLE_ARN }}']);
  });

  test('every action is pinned to a major version', () => {
    const uses = allSteps().map(([, s]) => s.uses).filter((u): u is string => u !== undefined);
    expect(uses.length).toBeGreaterThan(0);
    for (const u of uses) expect(u).toMatch(/^[\w.-]+\/[\w.-]+@v\d+$/);
  });

  test('a pull request runs test and diff, never a deploy or the deploy role', () => {
    const pr = jobsRunBy('pull_request');
    expect(pr.sort()).toEqual(['diff', 'test']);
    for (const id of pr) {
      expect(runs(JOBS[id])).not.toMatch(/cdk deploy/);
      expect(assumes(JOBS[id]).join()).not.toContain('DEPLOY');
    }
    expect(JOBS.diff.needs).toBe('test');
  });

  test('a push to main runs test, deploy-dev, then deploy-prod; never a diff', () => {
    expect(jobsRunBy('push').sort()).toEqual(['deploy-dev', 'deploy-prod', 'test']);
    expect(JOBS['deploy-dev'].needs).toBe('test');
    for (const id of ['deploy-dev', 'deploy-prod']) expect(JOBS[id].if).toContain("github.ref == 'refs/heads/main'");
  });

  test('test job: Node 20 with the npm cache, cfn-lint installed, .ci/run as root', () => {
    const steps = JOBS.test.steps;
    const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(node?.with).toEqual({ 'node-version': 20, cache: 'npm' });
    const lint = steps.findIndex((s) => /pip install .*cfn-lint/.test(s.run ?? ''));
    const ci = steps.findIndex((s) => /^sudo .*bash \.ci\/run$/.test(s.run ?? ''));
    expect(lint).toBeGreaterThan(-1);
    expect(ci).toBeGreaterThan(lint);
    // sudo resets PATH: .ci/run only lints when cfn-lint is on its PATH.
    expect(steps[ci].run).toContain('"PATH=$PATH"');
    expect(fs.readFileSync(path.join(REPO_ROOT, '.ci', 'run'), 'utf8')).toContain('command -v cfn-lint');
  });

  test('diff job: a matrix over dev and prod, a template diff (with the plan role\'s own credentials), commented on the pull request', () => {
    const job = JOBS.diff;
    expect(job.if).toContain("github.event_name == 'pull_request'");
    expect(job.strategy?.matrix.env).toEqual(['dev', 'prod']);
    const diff = job.steps.find((s) => s.id === 'diff')!;
    expect(diff.env).toEqual({ GLLM_ENV: '${{ matrix.env }}' });
    expect(diff.run).toMatch(/npx cdk diff -c env="\$GLLM_ENV" --method=template /);
    const comment = job.steps.find((s) => s.uses?.startsWith('actions/github-script@'))!;
    expect(comment.with?.script).toContain('65536');
    // A failed diff still gets its comment, then fails the job.
    const last = job.steps[job.steps.length - 1];
    expect(last.if).toBe("steps.diff.outputs.rc != '0'");
    expect(last.run).toBe('exit 1');
  });

  test.each([
    ['deploy-dev', 'dev'],
    ['deploy-prod', 'prod'],
  ])('%s: cdk deploy -c env=%s without prompts, outputs to cdk-outputs.json, one deploy at a time', (id, env) => {
    const job = JOBS[id];
    expect(runs(job)).toContain(`npx cdk deploy -c env=${env} --require-approval never --outputs-file cdk-outputs.json`);
    expect(job.concurrency).toEqual({ group: `graviton-llm-deploy-${env}`, 'cancel-in-progress': false });
  });

  test('deploy-prod needs deploy-dev and waits for the production environment; deploy-dev has no environment', () => {
    expect(JOBS['deploy-prod'].needs).toBe('deploy-dev');
    expect(JOBS['deploy-prod'].environment).toBe('production');
    // An environment would change deploy-dev's OIDC subject to one the deploy role does not trust.
    expect(JOBS['deploy-dev'].environment).toBeUndefined();
  });

  test.each(['deploy-dev', 'deploy-prod'])('%s: the smoke test reads EndpointUrl and ApiKeyParameterName and runs only when GLLM_SMOKE_TEST is true', (id) => {
    const steps = JOBS[id].steps;
    const outputs = steps.find((s) => s.id === 'outputs')!;
    expect(outputs.run).toContain('.EndpointUrl');
    expect(outputs.run).toContain('.ApiKeyParameterName');
    expect(outputs.run).toContain('cdk-outputs.json');
    const smoke = steps.find((s) => /npm run smoke/.test(s.run ?? ''))!;
    expect(smoke.if).toBe("vars.GLLM_SMOKE_TEST == 'true'");
    expect(smoke.run).toBe('npm run smoke -- --url "$URL" --api-key-parameter "$PARAM"');
    expect(smoke.env).toEqual({ URL: '${{ steps.outputs.outputs.url }}', PARAM: '${{ steps.outputs.outputs.param }}' });
    expect(steps.indexOf(smoke)).toBeGreaterThan(steps.indexOf(outputs));
  });

  test('the internal-endpoint caveat is in the file', () => {
    expect(TEXT).toMatch(/internal/);
    expect(TEXT).toMatch(/self-hosted runner/);
  });

  test('package.json has the smoke script the deploy jobs run', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.smoke).toBeDefined();
  });
});

describe('the workflow\'s scripts, run', () => {
  test('the outputs step finds the stack, endpoint and key parameter in a cdk-outputs.json', () => {
    const probe = spawnSync('jq', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log('skipped: jq is not installed');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-wf-'));
    fs.writeFileSync(path.join(dir, 'cdk-outputs.json'), JSON.stringify({
      GravitonLlmDev: {
        EndpointUrl: 'http://internal-gllm-123.us-east-1.elb.amazonaws.com/v1',
        ApiKeyParameterName: '/graviton-llm/GravitonLlmDev/api-key',
        BootLogGroupName: 'x',
      },
    }));
    const script = JOBS['deploy-dev'].steps.find((s) => s.id === 'outputs')!.run!;
    const r = spawnSync('bash', ['-e', '-c', script], {
      cwd: dir, encoding: 'utf8',
      env: { ...process.env, GITHUB_OUTPUT: path.join(dir, 'out'), GITHUB_STEP_SUMMARY: path.join(dir, 'summary') },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out'), 'utf8')).toBe([
      'stack=GravitonLlmDev',
      'url=http://internal-gllm-123.us-east-1.elb.amazonaws.com/v1',
      'param=/graviton-llm/GravitonLlmDev/api-key',
      '',
    ].join('\n'));

    // A stack without the outputs fails the step rather than smoke-testing "null".
    fs.writeFileSync(path.join(dir, 'cdk-outputs.json'), JSON.stringify({ Other: {} }));
    expect(spawnSync('bash', ['-e', '-c', script], { cwd: dir, env: { ...process.env, GITHUB_OUTPUT: path.join(dir, 'out2') } }).status).not.toBe(0);
  });

  test('shellcheck finds nothing in the run steps', () => {
    const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log('skipped: shellcheck is not installed');
      return;
    }
    for (const [id, step] of allSteps()) {
      if (!step.run) continue;
      const script = `#!/usr/bin/env bash\n${step.run.replace(/\$\{\{[^}]*\}\}/g, 'EXPR')}`;
      const r = spawnSync('shellcheck', ['-S', 'style', '-'], { input: script, encoding: 'utf8' });
      expect({ job: id, step: step.name ?? step.run, out: r.stdout }).toEqual({ job: id, step: step.name ?? step.run, out: '' });
    }
  });

  describe('the comment script', () => {
    const script = String(JOBS.diff.steps.find((s) => s.uses?.startsWith('actions/github-script@'))!.with!.script);
    // eslint-disable-next-line @typescript-eslint/no-empty-function
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;

    async function runScript(diffText: string, existing: { id: number; body: string }[], rc = '0') {
      const calls: { op: string; args: any }[] = [];
      const fakeFs = { readFileSync: (file: string) => { expect(file).toBe('cdk-diff.txt'); return diffText; } };
      const context = {
        sha: '0123456789abcdef', runId: 42, serverUrl: 'https://github.com',
        repo: { owner: 'octo-org', repo: 'graviton-llm' },
        payload: { pull_request: { number: 7 } },
      };
      const github = {
        paginate: async (_fn: unknown, args: any) => { calls.push({ op: 'list', args }); return existing; },
        rest: {
          issues: {
            listComments: () => undefined,
            createComment: async (args: any) => { calls.push({ op: 'create', args }); },
            updateComment: async (args: any) => { calls.push({ op: 'update', args }); },
          },
        },
      };
      const saved = { GLLM_ENV: process.env.GLLM_ENV, DIFF_RC: process.env.DIFF_RC };
      process.env.GLLM_ENV = 'prod';
      process.env.DIFF_RC = rc;
      try {
        await new AsyncFunction('require', 'context', 'github', script)((m: string) => (m === 'node:fs' ? fakeFs : require(m)), context, github);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      return calls;
    }

    test('posts one comment per environment, marked, with the diff in a code block and colours stripped', async () => {
      const calls = await runScript('Stack GravitonLlmProd\n\u001b[32m[+]\u001b[39m AWS::SNS::Topic', []);
      expect(calls.map((c) => c.op)).toEqual(['list', 'create']);
      const { body, issue_number } = calls[1].args;
      expect(issue_number).toBe(7);
      expect(body.startsWith('<!-- graviton-llm-cdk-diff:prod -->\n### cdk diff: `prod`\n')).toBe(true);
      expect(body).toContain('[+] AWS::SNS::Topic');
      expect(body).not.toContain('\u001b');
      expect(body).toContain('/actions/runs/42');
    });

    test('updates its earlier comment instead of adding another; says when the diff failed', async () => {
      const calls = await runScript('boom', [{ id: 1, body: 'unrelated' }, { id: 9, body: '<!-- graviton-llm-cdk-diff:prod -->\nold' }], '1');
      expect(calls.map((c) => c.op)).toEqual(['list', 'update']);
      expect(calls[1].args.comment_id).toBe(9);
      expect(calls[1].args.body).toContain('(failed)');
    });

    test('truncates a long diff to GitHub\'s 65,536-character comment limit', async () => {
      const calls = await runScript('x'.repeat(200_000), []);
      const body: string = calls[1].args.body;
      expect(body.length).toBeLessThanOrEqual(65536);
      expect(body.length).toBeGreaterThan(60000);
      expect(body).toContain('truncated');
      expect(body.endsWith('\n````\n')).toBe(true);
    });
  });
});
