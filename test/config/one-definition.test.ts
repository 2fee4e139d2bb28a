import { App, Duration, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { z } from 'zod';
import { PropProblem, PropsError } from '../../lib/base/problems';
import { ConfigError, ConfigProblem } from '../../lib/config/config-error';
import { CONFIG_FIELD_OF_PROP, configFieldOf } from '../../lib/config/endpoint-props';
import { loadConfig } from '../../lib/config/load';
import { resolveConfig } from '../../lib/config/resolve';
import { CONFIG_KEYS, configSchema, customModelSchema, scheduleSchema } from '../../lib/config/schema';
import { unwrapSchema } from '../../lib/config/schema-paths';
import { imageOf } from '../../lib/constructs/fleet-image';
import * as endpointModule from '../../lib/constructs/graviton-llm-endpoint';
import { GravitonLlmEndpointProps } from '../../lib/constructs/graviton-llm-endpoint';
import * as rangesModule from '../../lib/constructs/prop-ranges';
import { GravitonInstanceType } from '../../lib/instances/graviton-instance-type';
import * as modelModule from '../../lib/models/llama-model';
import { LlamaModel } from '../../lib/models/llama-model';

/**
 * One definition per rule (issue 21): a configuration field that becomes a
 * prop of GravitonLlmEndpoint, LlamaModel.custom or GravitonInstanceType is
 * refused by the construct's own check, never by one of the configuration's.
 * Shown three ways: the schema holds no rule for such a field (its JSON type
 * only); every problem the configuration reports for one is a problem a
 * construct's function returned (spied on as resolveConfig runs); and the
 * construct given the same value as a prop says the same words.
 */

/** Fields with no prop, whose rules are the configuration's own, and why. */
const CONFIG_ONLY: Readonly<Record<string, string>> = {
  stackName: 'the stack\'s name: the app names the stack, the construct is built in it',
  account: 'the stack\'s account (its env)',
  region: 'the stack\'s region (its env); the certificate\'s region is checked by the construct against it',
  vpcId: 'an existing VPC by id: the construct takes an ec2.IVpc, which the configuration imports from the id',
  privateSubnetIds: 'subnets by id, imported into the IVpc the construct takes',
  publicSubnetIds: 'subnets by id, imported into the IVpc the construct takes',
};

/** A zod schema's own rules: its checks (min, max, int, regex, refine), an enum's values, a transform. */
function rulesOf(schema: z.ZodType): string[] {
  const inner = unwrapSchema(schema);
  if (inner instanceof z.ZodArray) {
    return [...checksOf(inner), ...rulesOf(inner.element as z.ZodType).map((r) => `element ${r}`)];
  }
  if (inner instanceof z.ZodObject) {
    return [...checksOf(inner), ...Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([k, v]) => rulesOf(v).map((r) => `${k}: ${r}`))];
  }
  if (inner instanceof z.ZodString || inner instanceof z.ZodNumber || inner instanceof z.ZodBoolean) {
    return checksOf(inner);
  }
  return [`a ${inner.constructor.name}, not a plain JSON type`];
}

function checksOf(schema: z.ZodType): string[] {
  return ((schema._zod.def as { checks?: { _zod: { def: { check: string } } }[] }).checks ?? []).map((c) => c._zod.def.check);
}

describe('the schema holds each field\'s JSON type only, where the field is a prop', () => {
  test.each(CONFIG_KEYS.filter((k) => !(k in CONFIG_ONLY)))('%s: no range, pattern, enum or refinement of its own', (key) => {
    expect(rulesOf(configSchema.shape[key] as z.ZodType)).toEqual([]);
  });

  test('customModel\'s and a schedule\'s fields: types only (their rules are LlamaModel.custom\'s and GravitonLlmEndpoint\'s)', () => {
    expect(rulesOf(customModelSchema)).toEqual([]);
    expect(rulesOf(scheduleSchema)).toEqual([]);
  });

  test('the fields with rules of their own are exactly those without a prop', () => {
    const withRules = CONFIG_KEYS.filter((k) => rulesOf(configSchema.shape[k] as z.ZodType).length > 0);
    expect(withRules.sort()).toEqual(Object.keys(CONFIG_ONLY).sort());
  });
});

const SHA = 'a'.repeat(64);
const CUSTOM = { source: 's3://my-models/tuned-8b.gguf', sha256: SHA, sizeBytes: 4_900_000_000, architecture: 'llama-3.1-8b', quantization: 'Q4_K_M' };
const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';
const NIGHT = { name: 'night', cron: '0 22 * * *', minCapacity: 1, maxCapacity: 1 };

/** A bad value of a field, and the same value as the construct's prop. */
interface Refusal {
  /** The configuration (cdk.json's object) that holds the bad value. */
  readonly config: Record<string, unknown>;
  /** The construct given the same value: throws its PropsError. */
  readonly construct: () => unknown;
}

const endpointWith = (props: Partial<GravitonLlmEndpointProps>) => () => {
  const stack = new Stack(new App(), 'Stack', { env: { region: 'us-east-1' } });
  return new endpointModule.GravitonLlmEndpoint(stack, 'Llm', {
    model: LlamaModel.LLAMA_3_2_3B_INSTRUCT_Q4_K_M, instanceType: GravitonInstanceType.of('c7g.2xlarge'), ...props,
  });
};
const same = (field: string, value: unknown): Refusal => ({ config: { [field]: value }, construct: endpointWith({ [field]: value }) });

/** For each field that is a prop (or a LlamaModel's or instance type's argument): a value its construct refuses. */
const REFUSALS: Readonly<Record<string, Refusal | 'no value rule'>> = {
  model: { config: { model: 'llama-9b' }, construct: () => LlamaModel.fromCatalog('llama-9b') },
  customModel: { config: { customModel: { ...CUSTOM, sizeBytes: 5, sha256: 'A'.repeat(64), source: 'https://' } }, construct: () => LlamaModel.custom({ ...CUSTOM, sizeBytes: 5, sha256: 'A'.repeat(64), source: 'https://' }) },
  instanceType: { config: { instanceType: 'm5.large' }, construct: () => GravitonInstanceType.of('m5.large') },
  additionalInstanceTypes: { config: { additionalInstanceTypes: ['c7g.medium'] }, construct: endpointWith({ additionalInstanceTypes: [GravitonInstanceType.of('c7g.medium')] }) },
  purchaseOption: same('purchaseOption', 'spot-only'),
  onDemandBaseCapacity: { config: { purchaseOption: 'spot', onDemandBaseCapacity: 4 }, construct: endpointWith({ purchaseOption: 'spot' as never, onDemandBaseCapacity: 4 }) },
  onDemandPercentageAboveBaseCapacity: same('onDemandPercentageAboveBaseCapacity', 50),
  amiId: { config: { amiId: 'ami-123', region: 'us-east-1' }, construct: endpointWith({ machineImage: imageOf('ami-123') }) },
  minCapacity: same('minCapacity', 0),
  maxCapacity: same('maxCapacity', 101),
  parallelSlots: same('parallelSlots', 0),
  contextTokensPerSlot: same('contextTokensPerSlot', 100),
  llamaCppRef: same('llamaCppRef', 'master'),
  llamaCppCommit: { config: { llamaCppRef: 'b6500', llamaCppCommit: 'ABC123' }, construct: endpointWith({ llamaCppRef: 'b6500', llamaCppCommit: 'ABC123' }) },
  vpcCidr: { config: { vpcCidr: '10.64.0.1/16' }, construct: endpointWith({ vpcProps: { cidr: '10.64.0.1/16' } }) },
  maxAzs: { config: { maxAzs: 7 }, construct: endpointWith({ vpcProps: { maxAzs: 7 } }) },
  natGateways: { config: { natGateways: 3 }, construct: endpointWith({ vpcProps: { natGateways: 3 } }) },
  internetFacing: { config: { internetFacing: true, allowedCidrs: ['0.0.0.0/0'] }, construct: endpointWith({ internetFacing: true, allowedCidrs: ['0.0.0.0/0'] }) },
  certificateArn: { config: { certificateArn: 'my-cert', domainName: 'llm.internal.example' }, construct: endpointWith({ certificateArn: 'my-cert', domainName: 'llm.internal.example' }) },
  domainName: { config: { certificateArn: CERT, domainName: 'https://llm' }, construct: endpointWith({ certificateArn: CERT, domainName: 'https://llm' }) },
  allowedCidrs: same('allowedCidrs', ['10.0.0.1/8', '0.0.0.0/0']),
  port: same('port', 80),
  loadBalancerIdleTimeoutSeconds: { config: { loadBalancerIdleTimeoutSeconds: 5000 }, construct: endpointWith({ loadBalancerIdleTimeout: Duration.seconds(5000) }) },
  deregistrationDelaySeconds: { config: { deregistrationDelaySeconds: 4000 }, construct: endpointWith({ deregistrationDelay: Duration.seconds(4000) }) },
  bootTimeoutMinutes: { config: { bootTimeoutMinutes: 5 }, construct: endpointWith({ bootTimeout: Duration.minutes(5) }) },
  rootVolumeGiB: same('rootVolumeGiB', 21),
  rootVolumeThroughputMiBps: same('rootVolumeThroughputMiBps', 2000),
  logRetentionDays: { config: { logRetentionDays: 10 }, construct: endpointWith({ logRetention: 10 as logs.RetentionDays }) },
  apiKeyParameterName: same('apiKeyParameterName', 'key'),
  huggingFaceTokenParameterName: same('huggingFaceTokenParameterName', 'hf token'),
  retainArtifactsOnDelete: 'no value rule',
  trustedBuilder: 'no value rule',
  loadBalancerDeletionProtection: 'no value rule',
  targetSlotUtilizationPercent: same('targetSlotUtilizationPercent', 150),
  updateMinHealthyPercent: same('updateMinHealthyPercent', 101),
  updateBakeTimeMinutes: { config: { updateBakeTimeMinutes: 200 }, construct: endpointWith({ updateBakeTime: Duration.minutes(200) }) },
  warmPoolSize: same('warmPoolSize', 5),
  scheduledCapacity: same('scheduledCapacity', [{ ...NIGHT, name: 'night shift', cron: '99 99 * * *', minCapacity: 3 }, NIGHT]),
  alarmEmail: same('alarmEmail', 'oncall'),
  ttftP90AlarmMs: same('ttftP90AlarmMs', 1),
  tpotP90AlarmMs: same('tpotP90AlarmMs', 1),
  errorRateAlarmPercent: same('errorRateAlarmPercent', 0),
  canaryUrl: same('canaryUrl', 'http://llm.example.com'),
  canaryIntervalMinutes: { config: { canaryIntervalMinutes: 90 }, construct: endpointWith({ canaryInterval: Duration.minutes(90) }) },
};

function configProblemsOf(config: Record<string, unknown>): readonly ConfigProblem[] {
  try {
    resolveConfig(loadConfig({ 'graviton-llm': config }));
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(config)}`);
}

function propProblemsOf(construct: () => unknown): readonly PropProblem[] {
  try {
    construct();
  } catch (e) {
    if (e instanceof PropsError) return e.problems;
    throw e;
  }
  throw new Error('the construct accepted it');
}

/** A problem as the configuration names it, less where it came from. */
const asConfig = (p: PropProblem, prefix = '') => ({ field: configFieldOf(`${prefix}${p.field}`), given: p.given, expected: p.expected });
const withoutSource = ({ source: _s, ...p }: ConfigProblem) => p;

describe('the configuration\'s refusal of a field that is a prop is the construct\'s refusal of the same value', () => {
  test('every field has a refusal here, or is a field without a prop', () => {
    expect([...Object.keys(REFUSALS), ...Object.keys(CONFIG_ONLY)].sort()).toEqual([...CONFIG_KEYS].sort());
  });

  const refusable = Object.entries(REFUSALS).filter((e): e is [string, Refusal] => e[1] !== 'no value rule');

  test.each(refusable)('%s: the same problems, from the construct\'s functions', (field, refusal) => {
    // What the construct's functions return while resolveConfig runs.
    const returned: ReturnType<typeof asConfig>[] = [];
    const record = <A extends unknown[]>(prefix: string, fn: (...args: A) => unknown) => (...args: A) => {
      try {
        const result = fn(...args);
        if (Array.isArray(result)) returned.push(...(result as PropProblem[]).map((p) => asConfig(p, prefix)));
        return result;
      } catch (e) {
        if (e instanceof PropsError) returned.push(...e.problems.map((p) => asConfig(p, prefix)));
        throw e;
      }
    };
    const { endpointPropProblems } = endpointModule;
    const { rangeProblems } = rangesModule;
    const { customModelProblems } = modelModule;
    const of = GravitonInstanceType.of.bind(GravitonInstanceType);
    const spies = [
      jest.spyOn(endpointModule, 'endpointPropProblems').mockImplementation(record('', endpointPropProblems) as typeof endpointPropProblems),
      jest.spyOn(rangesModule, 'rangeProblems').mockImplementation(record('', rangeProblems) as typeof rangeProblems),
      jest.spyOn(modelModule, 'customModelProblems').mockImplementation(record('', customModelProblems) as typeof customModelProblems),
      jest.spyOn(GravitonInstanceType, 'of').mockImplementation(record('', of) as typeof of),
    ];
    let problems: readonly ConfigProblem[];
    try {
      problems = configProblemsOf(refusal.config).filter((p) => p.field === field || p.field.startsWith(`${field}.`) || field === 'internetFacing');
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(problems.length).toBeGreaterThan(0);
    if (field !== 'model') {
      // The catalog id's expectation is LlamaModel's too (catalogModelExpectation), naming customModel rather than LlamaModel.custom.
      for (const problem of problems) {
        expect(returned).toContainEqual(withoutSource(problem));
      }
    }
    // And the construct, given the same value as its prop, says the same.
    const fromConstruct = propProblemsOf(refusal.construct).map((p) => asConfig(p, field === 'customModel' ? 'customModel.' : ''));
    for (const problem of problems) {
      const words = field === 'model' ? problem.expected.split('; or ')[0] : problem.expected;
      expect(fromConstruct.map((p) => (field === 'model' ? { ...p, field: 'model', expected: p.expected.split('; or ')[0] } : p)))
        .toContainEqual({ ...withoutSource(problem), expected: words });
    }
  });

  test('the prop-to-field names resolve both ways for every renamed prop', () => {
    for (const [prop, field] of Object.entries(CONFIG_FIELD_OF_PROP)) {
      expect(CONFIG_KEYS).toContain(field);
      expect(configFieldOf(prop)).toBe(field);
    }
    expect(configFieldOf('scheduledCapacity[1].cron')).toBe('scheduledCapacity.1.cron');
    expect(configFieldOf('allowedCidrs[0]')).toBe('allowedCidrs.0');
  });
});
