/**
 * One check for every way a fleet instance starts: stack creation, scale-out,
 * instance refresh, warm pool to service and reboot. For each, the synthesized
 * template says what keeps a booting instance out of the target group until
 * its boot reports, and whether the longest boot the kit allows (its deadline,
 * the report's grace and the launch allowance) fits inside that mechanism's
 * timeout. The AWS rules the check applies, each with the documentation that
 * states it, are in test/support/launch-paths.ts (RULES); the creation order
 * is read from the template's Ref/GetAtt/Sub/DependsOn graph.
 *
 * The same check run on the templates of fc54eaa, when the hook was a
 * separate resource, finds the first deploy's defect.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPORT_GRACE_SECONDS } from '../../runtime/boot/core/deadline';
import { BOOT_HOOK_NAME, BOOT_REPORT_GRACE_SECONDS, LAUNCH_TO_INIT_ALLOWANCE_SECONDS, LEGACY_BOOT_HOOK_NAMES } from '../../lib/constructs/inference-fleet';
import { synthOrg } from '../org/support/org-synth';
import { FleetFacts, LaunchPathName, fleetLaunchPaths, launchPathProblems, longestBootSeconds } from '../support/launch-paths';
import { synthWith } from '../support/synth';
import { templateGraph } from '../support/template-graph';

/** The boot program's own grace (REPORT_GRACE_SECONDS): the stack's margin is built on it. */
const BOOT = { reportGraceSeconds: REPORT_GRACE_SECONDS, launchToInitSeconds: LAUNCH_TO_INIT_ALLOWANCE_SECONDS };

// Synthesized at collection time, so that every path of every template is a test of its own.
const templates: Record<string, any> = {
  'default': synthWith({}, { bundle: false }).template.toJSON(),
  'env=prod (warm pool of 1)': synthWith({ env: 'prod' }, { bundle: false }).template.toJSON(),
  'warmPoolSize=2': synthWith({ warmPoolSize: 2 }, { bundle: false }).template.toJSON(),
  'mode=org': synthOrg().template,
};
const facts: Record<string, FleetFacts> = Object.fromEntries(Object.entries(templates).map(([name, t]) => [name, fleetLaunchPaths(t, BOOT)]));
const HELD_PATHS: LaunchPathName[] = ['stack creation', 'scale-out', 'instance refresh'];

test('the stack\'s report grace is the boot program\'s', () => {
  expect(BOOT_REPORT_GRACE_SECONDS).toBe(REPORT_GRACE_SECONDS);
});

describe.each(Object.keys(templates))('%s', (name) => {
  const f = facts[name];
  const expected: LaunchPathName[] = [...HELD_PATHS, ...(name.includes('warm pool') || name.includes('warmPool') ? ['warm pool to service' as const] : []), 'reboot'];

  test('has exactly the launch paths its resources allow (a warm pool only where one is configured)', () => {
    expect(f.paths.map((p) => p.path)).toEqual(expected);
  });

  test.each(expected.filter((p) => p !== 'reboot'))('%s: held by the launch hook in the group\'s own list, which outlasts the longest boot', (pathName) => {
    const p = f.paths.find((x) => x.path === pathName)!;
    expect(p).toMatchObject({ mechanism: 'launch hook in the group', held: true });
    expect(p.because).toContain(BOOT_HOOK_NAME);
    expect(longestBootSeconds(f.timing)).toBeLessThanOrEqual(p.timeoutSeconds);
  });

  test('reboot: nothing holds it; the target group stops routing to it and Auto Scaling replaces it through a held launch', () => {
    const reboot = f.paths.find((p) => p.path === 'reboot')!;
    expect(reboot).toMatchObject({ mechanism: 'target group health checks', held: false, timeoutSeconds: 45 });
    expect(f.group.Properties.HealthCheckType).toBe('ELB');
    expect(f.paths.find((p) => p.path === 'scale-out')!.held).toBe(true);
  });

  test('the check finds nothing wrong: the creation policy, the grace period and the refresh\'s warmup fit too', () => {
    expect(launchPathProblems(templates[name], f)).toEqual([]);
  });

  test('no separate lifecycle hook resource: the group carries its one launch hook, named as the user data names it', () => {
    const t = templates[name];
    expect(Object.values(t.Resources).filter((r: any) => r.Type === 'AWS::AutoScaling::LifecycleHook')).toEqual([]);
    expect(f.group.Properties.LifecycleHookSpecificationList).toEqual([{
      LifecycleHookName: BOOT_HOOK_NAME,
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      HeartbeatTimeout: 2400,
      DefaultResult: 'ABANDON',
    }]);
    const lt = t.Resources[f.group.Properties.LaunchTemplate.LaunchTemplateId.Ref];
    expect(JSON.stringify(lt.Properties.LaunchTemplateData.UserData)).toContain(`GLLM_LIFECYCLE_HOOK=${[BOOT_HOOK_NAME, ...LEGACY_BOOT_HOOK_NAMES].join(',')}`);
  });

  test('the boot\'s deadline, report grace and launch allowance add up to the hook\'s timeout', () => {
    expect(f.timing).toEqual({ deadlineSeconds: 2280, reportGraceSeconds: 60, launchToInitSeconds: 60 });
    expect(longestBootSeconds(f.timing)).toBe(2400);
  });
});

describe('the same check on the templates of fc54eaa (the boot hook as a separate resource)', () => {
  const before = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'fleet-templates-fc54eaa.json'), 'utf8')).templates as Record<string, any>;

  test.each(Object.keys(before))('%s: stack creation is not held; its instances are replaced after the 120 s grace', (name) => {
    const f = fleetLaunchPaths(before[name], BOOT);
    expect(f.paths.find((p) => p.path === 'stack creation')).toMatchObject({ mechanism: 'health check grace period', held: false, timeoutSeconds: 120 });
    expect(f.paths.find((p) => p.path === 'stack creation')!.because).toMatch(/refers to FleetGroupASG\w+, so CloudFormation creates it only after the group is complete/);
    expect(launchPathProblems(before[name], f)).toEqual(expect.arrayContaining([expect.stringMatching(/^stack creation: nothing keeps a booting instance out of the target group/)]));
  });

  test('env=prod: its scaling policy was not ordered after the hook either, so an early scale-out was not held', () => {
    const f = fleetLaunchPaths(before['env=prod'], BOOT);
    expect(f.paths.find((p) => p.path === 'scale-out')).toMatchObject({ held: false });
    // Its warm pool was held: the pool depended on the hook.
    expect(f.paths.find((p) => p.path === 'warm pool to service')).toMatchObject({ mechanism: 'separate launch hook resource', held: true });
  });
});

describe('the template graph', () => {
  test('reads Ref, GetAtt and DependsOn, transitively', () => {
    const g = templateGraph({
      Resources: {
        A: { Type: 'T' },
        B: { Type: 'T', Properties: { X: { Ref: 'A' } } },
        C: { Type: 'T', Properties: { Y: { 'Fn::GetAtt': ['B', 'Arn'] } } },
        D: { Type: 'T', DependsOn: 'C' },
        E: { Type: 'T', Properties: { Z: { 'Fn::Sub': ['${V}-${C.Arn}', { V: { Ref: 'AWS::Region' } }] } } },
      },
    });
    expect(g.createdAfter('D', 'A')).toBe(true);
    expect(g.createdAfter('A', 'D')).toBe(false);
    expect([...g.directDependencies('E')]).toEqual(['C']);
    expect(g.createdAfter('E', 'A')).toBe(true);
  });
});
