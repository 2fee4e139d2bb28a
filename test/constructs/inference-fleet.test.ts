import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, CfnParameter } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { bootBundleFile } from '../../lib/boot/boot-bundle-file';
import { PropsError } from '../../lib/base/problems';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';
import { UNPINNED_IMAGE_NOTE } from '../../lib/constructs/fleet-image';
import { InferenceFleetProps } from '../../lib/constructs/inference-fleet';
import { PurchaseOption } from '../../lib/constructs/fleet-purchase';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import { LlamaModel } from '../../lib/models/llama-model';
import { ACCOUNT, Built, KEY_ARN, RECORDED_AMI, REGION, build, only, roleStatements, userDataOf } from '../support/fleet-alone';

/** The SSM parameters the role may read: literal ARNs, and the agent's parameters by logical id. */
const parameterReads = (s: Built) => roleStatements(s).filter((x) => x.Action === 'ssm:GetParameter')
  .flatMap((x) => [x.Resource].flat())
  .map((r) => (typeof r === 'string' ? r : r['Fn::Join'][1][1].Ref));

describe('InferenceFleet alone with the required props, in a stack of an account and region', () => {
  let s: Built;
  beforeAll(() => {
    s = build({ account: ACCOUNT, region: REGION });
  });

  test('a group of minCapacity to maxCapacity named after endpointName, in the given subnets, registered with the target group', () => {
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(group.Properties).toMatchObject({
      AutoScalingGroupName: 'team-llm-fleet',
      MinSize: '1',
      MaxSize: '3',
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 120,
      DefaultInstanceWarmup: 600,
      TargetGroupARNs: [{ Ref: s.stack.getLogicalId(s.targetGroup.node.defaultChild as any) }],
      VPCZoneIdentifier: (s.stack.node.findChild('Vpc') as ec2.Vpc).privateSubnets.map((x) => s.stack.resolve(x.subnetId)),
    });
    // Creation waits for the first instances to signal, as long as the boot may take.
    expect(group.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT40M' } });
    expect(s.fleet.groupName).toBe('team-llm-fleet');
  });

  test('updates are an instance refresh that keeps updateMinHealthyPercent serving and bakes updateBakeTime; rollbackAlarms unset: none watched', () => {
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(group.UpdatePolicy.AutoScalingInstanceRefresh).toEqual({
      Strategy: 'Rolling',
      Preferences: { MinHealthyPercentage: 100, MaxHealthyPercentage: 110, InstanceWarmup: 60, BakeTime: 900 },
    });
  });

  test('the launch template: the type, IMDSv2 with one hop, detailed monitoring, an encrypted gp3 root volume of the given size and throughput', () => {
    const data = only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData;
    expect(data).toMatchObject({
      InstanceType: 'c7g.xlarge',
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      Monitoring: { Enabled: true },
      BlockDeviceMappings: [{
        DeviceName: '/dev/xvda',
        Ebs: { VolumeSize: 30, VolumeType: 'gp3', Encrypted: true, Iops: 3000, Throughput: 250, DeleteOnTermination: true },
      }],
    });
  });

  test('machineImage unset: the public parameter\'s value as cdk.context.json records it, a literal in the template', () => {
    expect(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.ImageId).toBe(RECORDED_AMI);
    expect(Object.keys(s.t.toJSON().Parameters ?? {}).filter((p) => p.startsWith('SsmParameterValue'))).toEqual([]);
  });

  test('a launch hook in the group\'s own list holds each instance, the first ones included, until its boot completes it, abandoning it after bootTimeout; warmPoolSize 0: no warm pool', () => {
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(group.Properties.LifecycleHookSpecificationList).toEqual([{
      LifecycleHookName: 'graviton-llm-launch',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      HeartbeatTimeout: 2400,
      DefaultResult: 'ABANDON',
    }]);
    expect(s.fleet.bootHookName).toBe('graviton-llm-launch');
    s.t.resourceCountIs('AWS::AutoScaling::LifecycleHook', 0);
    s.t.resourceCountIs('AWS::AutoScaling::WarmPool', 0);
  });

  test('the security group lets out HTTPS only and admits nothing (the load balancer\'s rule is the caller\'s)', () => {
    const sg = s.t.toJSON().Resources[s.stack.getLogicalId(s.fleet.securityGroup.node.defaultChild as any)].Properties;
    expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })]);
    expect(sg.SecurityGroupIngress).toBeUndefined();
  });

  test('the role: reads its cache prefix, its API key (huggingFaceTokenParameterName unset: no other), its logs, the namespace\'s metrics, its hook', () => {
    const statements = roleStatements(s);
    const bucketArn = s.stack.resolve(s.bucket.bucketArn);
    // Read only: the builder is the cache's one writer (test/constructs/fleet-builder.test.ts evaluates both roles).
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: { 'Fn::Join': ['', [bucketArn, '/cache/*']] },
    }));
    expect(JSON.stringify(statements)).not.toMatch(/s3:PutObject|s3:AbortMultipartUpload/);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: bucketArn, Condition: { StringLike: { 's3:prefix': ['cache/*'] } },
    }));
    // The key and the agent's two configuration parameters: nothing else in SSM.
    expect(parameterReads(s)).toEqual([KEY_ARN, 'FleetAgentConfig0D4CF519', 'FleetPrometheusConfigF3AD4E6E']);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'cloudwatch:PutMetricData', Condition: { StringEquals: { 'cloudwatch:namespace': 'GravitonLlm' } } }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'autoscaling:CompleteLifecycleAction',
      Resource: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/team-llm-fleet`,
    }));
    // No delete of any kind, and nothing outside the cache prefix.
    expect(JSON.stringify(statements)).not.toMatch(/s3:Delete/);
  });

  test('assetBucketAccount unset: the boot program is read only from a bucket of the stack\'s account', () => {
    expect(roleStatements(s)).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Condition: { StringEquals: { 's3:ResourceAccount': ACCOUNT } } }));
  });

  test('three log groups kept logRetention; the agent\'s configuration as two parameters named after endpointName', () => {
    expect(Object.values(s.t.findResources('AWS::Logs::LogGroup')).map((g) => g.Properties.RetentionInDays)).toEqual([30, 30, 30]);
    s.t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/graviton-llm/team-llm/cloudwatch-agent', Type: 'String' });
    s.t.hasResourceProperties('AWS::SSM::Parameter', { Name: '/graviton-llm/team-llm/prometheus', Type: 'String' });
    expect(only(s.t, 'AWS::AutoScaling::AutoScalingGroup').DependsOn).toHaveLength(2);
  });

  test('the boot environment: the model, the build, the serving shape, the key, the signal; huggingFaceTokenParameterName unset: anonymous', () => {
    const userData = userDataOf(s.t);
    for (const line of [
      'GLLM_INSTANCE_TYPE=c7g.xlarge', 'GLLM_GENERATION=3', `GLLM_LLAMA_CPP_REF=${LLAMA_CPP_DEFAULT_REF}`,
      `GLLM_LLAMA_CPP_COMMIT=${LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF]}`, `GLLM_MODEL_SHA256=${LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0.sha256}`,
      'GLLM_PORT=8080', 'GLLM_PARALLEL_SLOTS=4', 'GLLM_CONTEXT_PER_SLOT=4096', 'GLLM_PROMPT_CACHE_MIB=1024', 'GLLM_API_KEY_PARAMETER=/team/llm/key',
      'GLLM_HF_TOKEN_PARAMETER=\\n', `GLLM_BOOT_DEADLINE_SECONDS=${2400 - 120}`, 'GLLM_STACK_NAME=Fleet\\n', 'GLLM_AUTOSCALING_GROUP=team-llm-fleet',
      'GLLM_LIFECYCLE_HOOK=graviton-llm-launch,graviton-llm-boot',
    ]) {
      expect(userData).toContain(line);
    }
  });
});

describe('InferenceFleet alone in a stack without an account (a synth without credentials)', () => {
  test('machineImage unset: the template reads the public parameter at each deploy, and synth says so in a note', () => {
    const s = build({ region: REGION });
    const parameters = Object.values(s.t.toJSON().Parameters as Record<string, { Type: string; Default: string }>);
    expect(parameters).toContainEqual({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: AL2023_ARM64_AMI_PARAMETER });
    Annotations.fromStack(s.stack).hasInfo('/Fleet/Fleet', Match.stringLikeRegexp(UNPINNED_IMAGE_NOTE));
  });
});

describe('InferenceFleet alone with every prop (and a warm pool, a model in S3)', () => {
  let s: Built;
  let rollback: cloudwatch.Alarm[];
  beforeAll(() => {
    s = build({ account: ACCOUNT, region: REGION }, (stack) => {
      const metric = new cloudwatch.Metric({ namespace: 'Team', metricName: 'Errors' });
      rollback = [0, 1].map((i) => new cloudwatch.Alarm(stack, `Rollback${i}`, { metric, threshold: 1, evaluationPeriods: 1 }));
      return {
        model: LlamaModel.custom({
          source: 's3://models-bucket/tuned/1b.gguf', sha256: 'a'.repeat(64), sizeBytes: 800_000_000, architecture: 'llama-3.2-1b', quantization: 'Q4_0',
        }),
        warmPoolSize: 1,
        updateMinHealthyPercent: 50,
        huggingFaceTokenParameterName: '/team/hf-token',
        rollbackAlarms: rollback,
        machineImage: ec2.MachineImage.genericLinux({ [REGION]: 'ami-0123456789abcdef0' }),
        assetBucketAccount: '111122223333',
      };
    });
  });

  test('rollbackAlarms: the instance refresh watches them; below 100 % healthy it replaces in place', () => {
    expect(only(s.t, 'AWS::AutoScaling::AutoScalingGroup').UpdatePolicy.AutoScalingInstanceRefresh.Preferences).toEqual({
      MinHealthyPercentage: 50,
      MaxHealthyPercentage: 100,
      InstanceWarmup: 60,
      BakeTime: 900,
      AlarmSpecification: { Alarms: rollback.map((a) => ({ Ref: s.stack.getLogicalId(a.node.defaultChild as any) })) },
    });
  });

  test('machineImage: the given AMI', () => {
    expect(only(s.t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.ImageId).toBe('ami-0123456789abcdef0');
  });

  test('huggingFaceTokenParameterName: the instances may read the token and the boot is told where it is', () => {
    expect(parameterReads(s)).toEqual([`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/team/hf-token`, KEY_ARN, 'FleetAgentConfig0D4CF519', 'FleetPrometheusConfigF3AD4E6E']);
    expect(userDataOf(s.t)).toContain('GLLM_HF_TOKEN_PARAMETER=/team/hf-token\\n');
  });

  test('assetBucketAccount: the boot program is read only from a bucket of that account', () => {
    expect(roleStatements(s)).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Condition: { StringEquals: { 's3:ResourceAccount': '111122223333' } } }));
  });

  test('a model in S3: the instances may read that object and no other of its bucket', () => {
    expect(roleStatements(s)).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: 'arn:aws:s3:::models-bucket/tuned/1b.gguf' }));
  });

  test('warmPoolSize: stopped instances, reused on scale-in, in the group whose own launch hook holds them', () => {
    const pool = only(s.t, 'AWS::AutoScaling::WarmPool');
    expect(pool.Properties).toMatchObject({ MinSize: 1, PoolState: 'Stopped', InstanceReusePolicy: { ReuseOnScaleIn: true } });
    const group = only(s.t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(pool.Properties.AutoScalingGroupName).toEqual({ Ref: group.id });
    expect(group.Properties.LifecycleHookSpecificationList).toEqual([expect.objectContaining({ LifecycleHookName: 'graviton-llm-launch' })]);
  });
});

describe('InferenceFleet alone with an artifact bucket imported by name (no CloudFormation resource in the stack)', () => {
  test('builds, and passes the kit\'s checks: its cache-prefix wildcard is acknowledged by the ARN the policy holds', () => {
    // Before, the acknowledgement read the bucket's CfnBucket, which an imported bucket has not: a TypeError.
    const s = build({ account: ACCOUNT, region: REGION }, (stack) => ({ artifactBucket: s3.Bucket.fromBucketName(stack, 'TeamCache', 'team-llm-cache') }));
    expect(roleStatements(s)).toContainEqual(expect.objectContaining({
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: 'arn:aws:s3:::team-llm-cache/cache/*',
    }));
    expect(userDataOf(s.t)).toContain('GLLM_CACHE_URI=s3://team-llm-cache/cache\\n');
  });
});

describe('InferenceFleet alone on Spot over two types (issue 24)', () => {
  test('passes the kit\'s checks: the group\'s mixed instances policy over its launch template, Capacity Rebalance, both types in the boot environment', () => {
    const { t, stack, fleet } = build({ account: ACCOUNT, region: REGION }, () => ({
      additionalInstanceTypes: [GravitonInstanceType.of('m7g.xlarge')],
      purchaseOption: PurchaseOption.SPOT,
      onDemandBaseCapacity: 1,
    }));
    const group = only(t, 'AWS::AutoScaling::AutoScalingGroup').Properties;
    expect(group.LaunchTemplate).toBeUndefined();
    expect(group.CapacityRebalance).toBe(true);
    expect(group.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId).toEqual({ Ref: only(t, 'AWS::EC2::LaunchTemplate').id });
    expect(group.MixedInstancesPolicy.InstancesDistribution).toMatchObject({ OnDemandBaseCapacity: 1, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' });
    expect(userDataOf(t)).toContain('GLLM_INSTANCE_TYPE=c7g.xlarge,m7g.xlarge\\n');
    // The launch hook still holds every instance, whichever type and purchase.
    expect(group.LifecycleHookSpecificationList).toEqual([expect.objectContaining({ LifecycleHookName: 'graviton-llm-launch' })]);
    expect(stack.resolve(fleet.autoScalingGroup.autoScalingGroupName)).toEqual({ Ref: only(t, 'AWS::AutoScaling::AutoScalingGroup').id });
  });
});

describe('InferenceFleet alone checks its own props, with the endpoint\'s rules', () => {
  /** The problems of a fleet built with these props (nothing is synthesized). */
  const problemsWith = (props: Partial<Record<keyof InferenceFleetProps, unknown>>): PropsError => {
    try {
      build({ account: ACCOUNT, region: REGION }, () => props as Partial<InferenceFleetProps>);
    } catch (e) {
      if (e instanceof PropsError) return e;
      throw e;
    }
    throw new Error('the fleet was built');
  };

  test('Spot or several types with a warm pool, several generations, an on-demand base without Spot: the endpoint\'s own rules (issue 24)', () => {
    const e = problemsWith({
      additionalInstanceTypes: [GravitonInstanceType.of('c8g.xlarge')],
      purchaseOption: 'spot',
      onDemandPercentageAboveBaseCapacity: 150,
      warmPoolSize: 1,
    });
    // Several generations are accepted (one builder each, test/constructs/fleet-builder.test.ts).
    expect(e.problems.map((p) => p.field)).toEqual(['onDemandPercentageAboveBaseCapacity', 'warmPoolSize']);
    expect(problemsWith({ onDemandBaseCapacity: 1 }).problems).toEqual([expect.objectContaining({ field: 'onDemandBaseCapacity', expected: expect.stringContaining('applies only with purchaseOption \'spot\'') })]);
  });

  test('an x86 image, a bucket account that is not one, a malformed ref, an endpoint name no group can carry, a string for a number', () => {
    const e = problemsWith({
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      assetBucketAccount: 'abc',
      llamaCppRef: '--upload-pack=touch',
      endpointName: 'team llm',
      parallelSlots: '4',
    });
    expect(e.message).toMatch(/^InferenceFleet Fleet\/Fleet: invalid props:\n/);
    expect(e.problems.map((p) => p.field).sort()).toEqual(['assetBucketAccount', 'endpointName', 'llamaCppRef', 'machineImage', 'parallelSlots']);
    expect(e.message).toContain('machineImage: got "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"; expected an Amazon Linux 2023 image for arm64');
    expect(e.message).toContain('parallelSlots: got "4"; expected a whole number from 1 to 64');
  });

  test('an arm64 image and a token account pass', () => {
    expect(() => build({ account: ACCOUNT, region: REGION }, (stack) => ({
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      assetBucketAccount: new CfnParameter(stack, 'Account').valueAsString,
    }))).not.toThrow();
  });
});

describe('InferenceFleet boots the boot program through the trampoline', () => {
  const REGION_ENV = { account: ACCOUNT, region: REGION };
  /** The user data as text, each CloudFormation value standing in as 63 characters (the longest bucket name). */
  const userDataText = (t: Template): string => {
    const joined = only(t, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData['Fn::Base64'];
    const parts: unknown[] = typeof joined === 'string' ? [joined] : joined['Fn::Join'][1];
    return parts.map((p) => (typeof p === 'string' ? p : 'x'.repeat(63))).join('');
  };
  const afterEnvironment = (text: string) => text.slice(text.indexOf('\nGLLM_ENV\n') + '\nGLLM_ENV\n'.length);
  let built: Built;
  beforeAll(() => {
    built = build(REGION_ENV);
  });

  test('the boot environment, the pins, then the trampoline, kept as the per-boot script and run; no boot script', () => {
    const text = userDataText(built.t);
    expect(text).toContain("\nset -euo pipefail\ninstall -d -m 0755 /etc/graviton-llm /opt/graviton-llm\ncat > /etc/graviton-llm/boot.env <<'GLLM_ENV'\n");
    const rest = afterEnvironment(text).trimEnd().split('\n');
    // The builder's report (its wait condition's Data, base64 in the template; x...x here) as the pins file.
    expect(rest.slice(0, 2)).toEqual([
      'install -m 0644 /dev/null /etc/graviton-llm/pins.json',
      `echo '${'x'.repeat(63)}' | base64 -d > /etc/graviton-llm/pins.json`,
    ]);
    expect(rest[3]).toBe("cat > /var/lib/cloud/scripts/per-boot/graviton-llm.sh <<'GLLM_TRAMPOLINE'");
    expect(rest.slice(-3)).toEqual([
      'GLLM_TRAMPOLINE',
      'chmod 0755 /var/lib/cloud/scripts/per-boot/graviton-llm.sh',
      'exec /var/lib/cloud/scripts/per-boot/graviton-llm.sh',
    ]);
    expect(text).not.toContain('/opt/graviton-llm/boot.sh');
  });

  test('the bundle is the one file asset, which the role may read, and the trampoline checks its SHA-256 before running it', () => {
    const file = bootBundleFile();
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(userDataText(built.t)).toContain(`echo "${sha256}  $BUNDLE" | sha256sum --check --strict --quiet`);
    const outdir = (built.stack.node.root as App).outdir;
    const manifest = JSON.parse(readFileSync(path.join(outdir, `${built.stack.artifactId}.assets.json`), 'utf8'));
    const files = Object.values<any>(manifest.files).filter((f) => f.source.packaging === 'file').map((f) => path.join(outdir, f.source.path));
    expect(files.filter((f) => readFileSync(f).equals(readFileSync(file)))).toHaveLength(1);
    // The template aside, the bundle is the stack's one file asset: no boot script beside it.
    expect(files.filter((f) => !f.endsWith('.template.json')).map((f) => path.extname(f))).toEqual(['.js']);
    const reads = roleStatements(built).filter((x) => x.Action === 's3:GetObject' && JSON.stringify(x.Resource).includes('.js'));
    expect(reads).toEqual([expect.objectContaining({ Condition: { StringEquals: { 's3:ResourceAccount': ACCOUNT } } })]);
  });

  // 80 lines before the trampoline took the builder's end (its own failure signal and the shutdown, lib/boot/trampoline.sh).
  test('under EC2\'s 16 KB user-data limit, the part after the environment under 100 lines, and bash parses it', () => {
    const text = userDataText(built.t);
    console.log(`user data: ${Buffer.byteLength(text)} bytes; after the environment ${afterEnvironment(text).trimEnd().split('\n').length} lines`);
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    expect(afterEnvironment(text).trimEnd().split('\n').length).toBeLessThan(100);
    const check = spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });

});
