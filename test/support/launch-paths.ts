/**
 * Every way an instance of the fleet starts, and what keeps it out of the
 * target group until its boot reports, read from a synthesized template.
 * What AWS does cannot run here, so each conclusion rests on a rule AWS
 * documents (RULES, with the page that states it), applied to the template:
 * its resources, their properties, and the creation order that its
 * Ref/GetAtt/Sub/DependsOn graph implies (template-graph.ts).
 */
import { templateGraph } from './template-graph';

/** The AWS rules the analysis relies on, each with the documentation that states it. */
export const RULES = {
  order: 'CloudFormation creates a resource only after the resources it refers to (Ref, Fn::GetAtt) or names in DependsOn are complete: '
    + 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html',
  creationPolicy: 'A resource with a CreationPolicy is not complete until it has received its success signals, or fails when the timeout passes first: '
    + 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-creationpolicy.html',
  hookSpecificationList: 'LifecycleHookSpecificationList: "One or more lifecycle hooks to add to the Auto Scaling group before instances are launched": '
    + 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-autoscaling-autoscalinggroup.html#cfn-autoscaling-autoscalinggroup-lifecyclehookspecificationlist',
  launchHook: 'A launch lifecycle hook holds the instance in Pending:Wait until its action is completed or its timeout passes (then DefaultResult); '
    + 'only then is it registered with the load balancer, and the grace period starts when it enters InService: '
    + 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/lifecycle-hooks-overview.html',
  gracePeriod: 'The health check grace period is how long Auto Scaling keeps a new InService instance before replacing it for failed (ELB) health checks; '
    + 'the load balancer checks it, and may route to it, from its registration: '
    + 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/health-check-grace-period.html',
  warmPool: 'With an EC2_INSTANCE_LAUNCHING hook, an instance launching into a warm pool pauses in Warmed:Pending:Wait, and again in Pending:Wait when it leaves the pool for service: '
    + 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/warm-pool-instance-lifecycle.html',
  instanceRefresh: 'An instance refresh launches replacements through the group (and its lifecycle hooks) and waits for each to be InService and past its warmup before going on: '
    + 'https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html',
  reboot: 'A reboot is no lifecycle transition (the instance stays InService, no hook runs); the target group marks it unhealthy after UnhealthyThresholdCount failed checks, '
    + 'and with HealthCheckType ELB Auto Scaling replaces it: https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-health-checks.html, '
    + 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html',
} as const;

export type LaunchPathName = 'stack creation' | 'scale-out' | 'instance refresh' | 'warm pool to service' | 'reboot';

export type Mechanism =
  | 'launch hook in the group'
  | 'separate launch hook resource'
  | 'health check grace period'
  | 'target group health checks';

export interface LaunchPath {
  readonly path: LaunchPathName;
  /** What keeps a booting instance from serving, or, where nothing holds it, what replaces it. */
  readonly mechanism: Mechanism;
  /** Whether the instance is kept out of the target group until its boot reports. */
  readonly held: boolean;
  /** How long the mechanism waits before it gives up on the boot, in seconds. */
  readonly timeoutSeconds: number;
  /** The template facts and rules behind the conclusion. */
  readonly because: string;
}

/** The boot's time limits, as the template and the boot script state them. */
export interface BootTiming {
  /** GLLM_BOOT_DEADLINE_SECONDS, from the launch template's user data. */
  readonly deadlineSeconds: number;
  /** How long reporting may run past the deadline (the boot program's REPORT_GRACE_SECONDS, runtime/boot/core/deadline.ts). */
  readonly reportGraceSeconds: number;
  /** The time the stack leaves between an instance's launch and its init, from which the deadline counts. */
  readonly launchToInitSeconds: number;
}

export interface FleetFacts {
  readonly groupId: string;
  readonly group: any;
  readonly timing: BootTiming;
  readonly paths: LaunchPath[];
}

const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';

/** An integer property: a literal, or a Ref to a parameter, taken at its default. */
function integer(template: any, value: unknown, what: string): number {
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    return Number(value);
  }
  const ref = (value as any)?.Ref;
  const param = ref !== undefined ? template.Parameters?.[ref] : undefined;
  if (param?.Default !== undefined) {
    return Number(param.Default);
  }
  throw new Error(`${what}: cannot read ${JSON.stringify(value)} as a number`);
}

/** CloudFormation's ISO 8601 durations (PT#H#M#S), in seconds. */
export function isoDurationSeconds(text: string): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(text);
  if (!m) {
    throw new Error(`not a PT duration: ${text}`);
  }
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** The group that registers with a target group: the fleet. */
function fleetGroup(template: any): [string, any] {
  const groups = Object.entries(template.Resources as Record<string, any>)
    .filter(([, r]) => r.Type === 'AWS::AutoScaling::AutoScalingGroup' && (r.Properties?.TargetGroupARNs ?? []).length > 0);
  if (groups.length !== 1) {
    throw new Error(`expected one Auto Scaling group behind a target group, found ${groups.length}`);
  }
  return groups[0];
}

function bootDeadline(template: any, group: any): number {
  const ltId = group.Properties.LaunchTemplate?.LaunchTemplateId?.Ref;
  const userData = JSON.stringify(template.Resources[ltId]?.Properties?.LaunchTemplateData?.UserData ?? '');
  const m = /GLLM_BOOT_DEADLINE_SECONDS=(\d+)/.exec(userData);
  if (!m) {
    throw new Error(`the launch template ${ltId} sets no GLLM_BOOT_DEADLINE_SECONDS`);
  }
  return Number(m[1]);
}

/**
 * The launch paths of the fleet in `template`, each with what holds it. The
 * boot's report grace and launch allowance are the boot's and the stack's
 * constants, passed in by the caller.
 */
export function fleetLaunchPaths(template: any, boot: Omit<BootTiming, 'deadlineSeconds'>): FleetFacts {
  const graph = templateGraph(template);
  const [groupId, group] = fleetGroup(template);
  const timing: BootTiming = { ...boot, deadlineSeconds: bootDeadline(template, group) };
  const resources = Object.entries(template.Resources as Record<string, any>);
  const refersToGroup = (r: any) => JSON.stringify(r.Properties ?? {}).includes(JSON.stringify({ Ref: groupId }));

  const inline = (group.Properties.LifecycleHookSpecificationList ?? []).filter((h: any) => h.LifecycleTransition === LAUNCHING);
  const separate = resources.filter(([, r]) => r.Type === 'AWS::AutoScaling::LifecycleHook'
    && r.Properties?.LifecycleTransition === LAUNCHING && refersToGroup(r));
  const warmPools = resources.filter(([, r]) => r.Type === 'AWS::AutoScaling::WarmPool' && refersToGroup(r));
  // What can launch instances once the group exists: its scaling policies and scheduled actions.
  const scalers = resources.filter(([, r]) => ['AWS::AutoScaling::ScalingPolicy', 'AWS::AutoScaling::ScheduledAction'].includes(r.Type) && refersToGroup(r));

  const hookTimeout = (h: any, what: string) => integer(template, h.HeartbeatTimeout ?? 3600, what);
  const grace = integer(template, group.Properties.HealthCheckGracePeriod ?? 0, 'HealthCheckGracePeriod');
  const inlineHook = inline[0];
  const byInline = (path: LaunchPathName, why: string): LaunchPath => ({
    path, mechanism: 'launch hook in the group', held: true,
    timeoutSeconds: hookTimeout(inlineHook, `${groupId} ${inlineHook.LifecycleHookName}`),
    because: `${groupId} lists launch hook ${inlineHook.LifecycleHookName} in its LifecycleHookSpecificationList (${RULES.hookSpecificationList.split(':')[0]}); ${why}`,
  });
  const byGrace = (path: LaunchPathName, why: string): LaunchPath => ({
    path, mechanism: 'health check grace period', held: false, timeoutSeconds: grace,
    because: `${why}: the instance joins the target group at once and is kept only for HealthCheckGracePeriod ${grace} s (${RULES.gracePeriod.split(':')[0]})`,
  });

  const paths: LaunchPath[] = [];
  // Stack creation: the group launches its first instances as it is created.
  if (inlineHook) {
    paths.push(byInline('stack creation', 'it exists before the group launches its first instance'));
  } else {
    const [hookId] = separate[0] ?? [];
    paths.push(byGrace('stack creation', hookId
      ? `launch hook ${hookId} refers to ${groupId}, so CloudFormation creates it only after the group is complete (${RULES.order.split(':')[0]}), `
        + `which needs its first instances' signals (${RULES.creationPolicy.split(':')[0]}): it never holds them`
      : `no launch hook holds ${groupId}'s instances`));
  }
  // Scale-out: launches by a scaling policy, a scheduled action or a change of capacity, once the group is complete.
  if (inlineHook) {
    paths.push(byInline('scale-out', 'it holds every launch of the group'));
  } else if (separate.length > 0) {
    const [hookId, hook] = separate[0];
    const unordered = scalers.filter(([id]) => !graph.createdAfter(id, hookId)).map(([id]) => id);
    paths.push(unordered.length === 0
      ? { path: 'scale-out', mechanism: 'separate launch hook resource', held: true, timeoutSeconds: hookTimeout(hook.Properties, hookId),
        because: `every scaling policy and scheduled action of ${groupId} is created after launch hook ${hookId}` }
      : byGrace('scale-out', `${unordered.join(', ')} can scale ${groupId} out before launch hook ${hookId} exists (no dependency orders them)`));
  } else {
    paths.push(byGrace('scale-out', `no launch hook holds ${groupId}'s instances`));
  }
  // Instance refresh: a stack update replaces instances through the group.
  if (inlineHook) {
    paths.push(byInline('instance refresh', `a refresh launches its replacements through the group (${RULES.instanceRefresh.split(':')[0]})`));
  } else if (separate.length > 0) {
    const [hookId, hook] = separate[0];
    paths.push({ path: 'instance refresh', mechanism: 'separate launch hook resource', held: true, timeoutSeconds: hookTimeout(hook.Properties, hookId),
      because: `launch hook ${hookId} exists before any later update refreshes ${groupId}` });
  } else {
    paths.push(byGrace('instance refresh', `no launch hook holds ${groupId}'s instances`));
  }
  // Warm pool to service: instances launch into the pool once the pool exists, and boot again when they leave it.
  for (const [poolId] of warmPools) {
    if (inlineHook) {
      paths.push(byInline('warm pool to service', `warm pool ${poolId} refers to the group, which holds the hook from its creation (${RULES.warmPool.split(':')[0]})`));
      continue;
    }
    const ordered = separate.find(([hookId]) => graph.createdAfter(poolId, hookId));
    paths.push(ordered
      ? { path: 'warm pool to service', mechanism: 'separate launch hook resource', held: true, timeoutSeconds: hookTimeout(ordered[1].Properties, ordered[0]),
        because: `warm pool ${poolId} is created after launch hook ${ordered[0]}` }
      : byGrace('warm pool to service', `warm pool ${poolId} can launch before any launch hook of ${groupId} exists`));
  }
  // Reboot: no lifecycle transition at all.
  const tg = resources.find(([id, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup'
    && JSON.stringify(group.Properties.TargetGroupARNs).includes(JSON.stringify({ Ref: id })));
  const checks = tg ? integer(template, tg[1].Properties.UnhealthyThresholdCount ?? 2, 'UnhealthyThresholdCount') * integer(template, tg[1].Properties.HealthCheckIntervalSeconds ?? 30, 'HealthCheckIntervalSeconds') : 0;
  paths.push({ path: 'reboot', mechanism: 'target group health checks', held: false, timeoutSeconds: checks,
    because: `a reboot runs no hook (${RULES.reboot.split(':')[0]}): the target group stops routing to the instance after ${checks} s of failed checks and, `
      + `with HealthCheckType ${group.Properties.HealthCheckType ?? 'EC2'}, Auto Scaling replaces it through a launch` });
  return { groupId, group, timing, paths };
}

/** The longest a boot can take from launch until it has reported: deadline, report grace and the launch allowance. */
export function longestBootSeconds(t: BootTiming): number {
  return t.deadlineSeconds + t.reportGraceSeconds + t.launchToInitSeconds;
}

/**
 * What the fleet's launch paths get wrong: a path on which a booting instance
 * serves (or is replaced) before its boot reports, a mechanism that gives up
 * before the longest boot the kit allows, a creation policy that stops
 * waiting first, and grace and warmup periods too short for the target
 * group's first healthy checks once the boot has reported.
 */
export function launchPathProblems(template: any, facts: FleetFacts): string[] {
  const problems: string[] = [];
  const longest = longestBootSeconds(facts.timing);
  const props = facts.group.Properties;
  for (const p of facts.paths) {
    if (p.path === 'reboot') {
      continue;
    }
    if (!p.held) {
      problems.push(`${p.path}: nothing keeps a booting instance out of the target group (${p.because}); the longest boot takes ${longest} s`);
    } else if (p.timeoutSeconds < longest) {
      problems.push(`${p.path}: the ${p.mechanism} gives up after ${p.timeoutSeconds} s, before the longest boot (${longest} s) has reported`);
    }
  }
  const signal = facts.group.CreationPolicy?.ResourceSignal;
  if (!signal?.Timeout) {
    problems.push(`stack creation: ${facts.groupId} has no creation policy: CloudFormation does not wait for its instances to serve`);
  } else if (isoDurationSeconds(signal.Timeout) < longest) {
    problems.push(`stack creation: the creation policy stops waiting after ${signal.Timeout}, before the longest boot (${longest} s) has signalled`);
  }
  // After the boot reports, the load balancer still needs its healthy checks; neither the grace
  // period (Auto Scaling's patience) nor the refresh's warmup may run out before them.
  const tgId = (props.TargetGroupARNs ?? []).map((a: any) => a.Ref).find(Boolean);
  const tg = template.Resources[tgId]?.Properties ?? {};
  const healthy = integer(template, tg.HealthyThresholdCount ?? 5, 'HealthyThresholdCount') * integer(template, tg.HealthCheckIntervalSeconds ?? 30, 'HealthCheckIntervalSeconds');
  const grace = integer(template, props.HealthCheckGracePeriod ?? 0, 'HealthCheckGracePeriod');
  if (props.HealthCheckType === 'ELB' && grace < healthy) {
    problems.push(`HealthCheckGracePeriod ${grace} s is shorter than the target group's first healthy checks (${healthy} s)`);
  }
  const warmup = facts.group.UpdatePolicy?.AutoScalingInstanceRefresh?.Preferences?.InstanceWarmup ?? props.DefaultInstanceWarmup;
  if (warmup !== undefined && integer(template, warmup, 'InstanceWarmup') < healthy) {
    problems.push(`the instance refresh's warmup ${warmup} s is shorter than the target group's first healthy checks (${healthy} s)`);
  }
  // A reboot holds nothing: a rebooted instance that does not serve again is replaced (ELB health
  // check), and the replacement must be a held launch.
  if (props.HealthCheckType !== 'ELB') {
    problems.push(`reboot: HealthCheckType ${props.HealthCheckType ?? 'EC2'}: an instance whose server does not come back is never replaced`);
  }
  return problems;
}
