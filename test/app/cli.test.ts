import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '../support/synth';

/** Runs `cdk synth` as a user would, with the CLI from node_modules. */
function cdkSynth(...args: string[]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-cli-'));
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
    timeout: 180_000,
  });
  return { ...result, out };
}

test('a configuration error exits non-zero with the message and no stack trace', () => {
  const r = cdkSynth('-c', 'vpcCidr=10.0.0.0/33', '-c', 'minCapacity=0');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('Invalid graviton-llm configuration:');
  expect(r.stderr).toContain('- vpcCidr: got "10.0.0.0/33"; expected an IPv4 CIDR block');
  expect(r.stderr).toContain('- minCapacity: got 0; expected a whole number from 1 to 100');
  expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  expect(fs.existsSync(path.join(r.out, 'GravitonLlm.template.json'))).toBe(false);
});

test('a cross-field error (x86 type) is reported the same way', () => {
  const r = cdkSynth('-c', 'instanceType=m5.large');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('- instanceType: got "m5.large"; m5 is not a Graviton (Arm) family; nearest Graviton types: m7g.large');
  expect(r.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
});

test('the default configuration synthesizes offline', () => {
  const r = cdkSynth();
  expect(r.stderr).not.toContain('Invalid graviton-llm configuration');
  expect(r.status).toBe(0);
  const template = JSON.parse(fs.readFileSync(path.join(r.out, 'GravitonLlm.template.json'), 'utf8'));
  expect(Object.keys(template.Resources).length).toBeGreaterThan(50);
});

test('an unknown environment or mode exits non-zero listing what exists', () => {
  const env = cdkSynth('-c', 'env=staging');
  expect(env.status).not.toBe(0);
  expect(env.stderr).toContain('- env: got "staging"; unknown environment; known environments (files in config/environments): dev, prod');
  expect(env.stderr).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
  const mode = cdkSynth('-c', 'mode=pipelines');
  expect(mode.status).not.toBe(0);
  expect(mode.stderr).toContain('- mode: got "pipelines"; expected one of: environment, pipeline,');
});

test('a named environment synthesizes offline into its own stack, in its account and region', () => {
  const r = cdkSynth('-c', 'env=prod');
  expect(r.status).toBe(0);
  const manifest = JSON.parse(fs.readFileSync(path.join(r.out, 'manifest.json'), 'utf8'));
  expect(manifest.artifacts['GravitonLlm-prod'].environment).toBe('aws://222222222222/us-east-1');
  // No context lookup was needed (none is missing), so no credentials either.
  expect(manifest.missing ?? []).toEqual([]);
  // The shipped prod environment protects its load balancer from deletion; -c turns it off for a clean-up.
  const deletionProtection = (out: string) => {
    const t = JSON.parse(fs.readFileSync(path.join(out, 'GravitonLlm-prod.template.json'), 'utf8'));
    const lb = Object.values<any>(t.Resources).find((res) => res.Type === 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    return lb.Properties.LoadBalancerAttributes.find((a: any) => a.Key === 'deletion_protection.enabled')?.Value;
  };
  expect(deletionProtection(r.out)).toBe('true');
  const off = cdkSynth('-c', 'env=prod', '-c', 'loadBalancerDeletionProtection=false');
  expect(off.status).toBe(0);
  expect(deletionProtection(off.out)).toBe('false');
});
