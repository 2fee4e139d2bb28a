import { Token } from 'aws-cdk-lib';
import { GENERATIONS, GravitonGeneration } from '../catalogs/graviton-generations';
import { GravitonInstance, findGravitonInstance } from '../catalogs/graviton-instances';
import { explainNonGravitonType } from '../catalogs/instance-suggestions';
import { PropProblem, PropsError, throwIfProblems } from '../base/problems';
import { PropType, isKnown, numberType, printable, propTypeProblems, required, stringType, withoutProps } from '../base/prop-types';

/** An instance type whose value is a CloudFormation parameter's, for `GravitonInstanceType.chosenAtDeployTime`. */
export interface DeployTimeInstanceTypeProps {
  /** The instance type, e.g. a parameter's `valueAsString`. */
  readonly instanceType: string;
  /** Its Graviton generation (2 to 5). */
  readonly generation: number;
  /** The `CPU part` of /proc/cpuinfo on that generation, which the boot checks its build against. */
  readonly cpuPart: string;
  /** llama.cpp's `GGML_CPU_ARM_ARCH` for that generation. */
  readonly armArch: string;
}

/**
 * The Graviton instance type an endpoint runs on, with what the boot needs
 * to build llama.cpp for its generation: `GravitonInstanceType.of('c7g.2xlarge')`
 * for a type of the kit's catalog, or `chosenAtDeployTime` for a template
 * whose type is a CloudFormation parameter.
 */
export class GravitonInstanceType {
  /** A catalog type; refuses any other, saying why and what to pick instead. */
  static of(instanceType: string): GravitonInstanceType {
    const entry = typeof instanceType === 'string' && !Token.isUnresolved(instanceType) ? findGravitonInstance(instanceType) : undefined;
    if (!entry) {
      throw new PropsError('GravitonInstanceType.of', [instanceTypeProblem(instanceType)]);
    }
    const g = entry.generationSpec;
    return new GravitonInstanceType(entry.instanceType, g.generation, g.cpuPart, g.armArch, entry);
  }

  /**
   * A type known only at deploy time; the memory fit check is then the
   * template's (a rule), not synth's. The generation's build flags are
   * checked against the kit's (see deployTimeInstanceTypeProblems).
   */
  static chosenAtDeployTime(props: DeployTimeInstanceTypeProps): GravitonInstanceType {
    throwIfProblems('GravitonInstanceType.chosenAtDeployTime', typeof props === 'object' && props !== null
      ? deployTimeInstanceTypeProblems(props)
      : [{ field: 'props', given: props, expected: 'expected an object: { instanceType, generation, cpuPart, armArch }' }]);
    return new GravitonInstanceType(props.instanceType, props.generation, props.cpuPart, props.armArch, undefined);
  }

  private constructor(
    readonly instanceType: string,
    readonly generation: number,
    readonly cpuPart: string,
    readonly armArch: string,
    /**
     * The catalog entry (vCPUs, memory); undefined for a type chosen at deploy time.
     *
     * TypeScript and JavaScript only: the catalog's types (generation numbers,
     * family categories) are literal unions, which jsii cannot represent; the
     * endpoint reads it for its memory fit check in any language.
     *
     * @jsii ignore
     */
    readonly catalogEntry: GravitonInstance | undefined,
  ) {}
}

/**
 * Why an instance type is refused. EC2's type names are lowercase with no
 * spaces; a name that differs only in that is named as meant, so the message
 * points at the case or the space rather than at the family.
 */
export function instanceTypeExpectation(given: string): string {
  const normalized = given.trim().toLowerCase();
  if (normalized === given || normalized === '') {
    return explainNonGravitonType(given);
  }
  const how = [given !== given.trim() ? 'without spaces' : '', given.trim() !== normalized ? 'in lowercase' : ''].filter((w) => w).join(' and ');
  const meant = findGravitonInstance(normalized);
  return `EC2 instance type names are written ${how}: "${normalized}"${meant ? '' : `, and ${explainNonGravitonType(normalized)}`}`;
}

/** Why `GravitonInstanceType.of` refuses a value: not a string, a CloudFormation value, or not a catalog type. */
function instanceTypeProblem(instanceType: unknown): PropProblem {
  if (typeof instanceType !== 'string') {
    return { field: 'instanceType', given: printable(instanceType), expected: 'expected a Graviton instance type name such as c7g.2xlarge (a string)' };
  }
  if (Token.isUnresolved(instanceType)) {
    return {
      field: 'instanceType',
      expected: 'expected a literal instance type such as c7g.2xlarge, not a CloudFormation value. '
        + 'For a type chosen at deploy time, use GravitonInstanceType.chosenAtDeployTime with its generation\'s build flags',
    };
  }
  return { field: 'instanceType', given: instanceType, expected: instanceTypeExpectation(instanceType) };
}

const GENERATION_NUMBERS = Object.keys(GENERATIONS).map(Number) as GravitonGeneration[];
const GENERATION_EXPECTATION = `expected a Graviton generation the kit builds for: ${GENERATION_NUMBERS.join(', ')}`;
/** The `CPU part` of /proc/cpuinfo: 0x and three hexadecimal digits. */
const CPU_PART = /^0x[0-9a-f]{3}$/;

/** The JavaScript type of each prop of a type chosen at deploy time. */
const DEPLOY_TIME_TYPES: { readonly [K in keyof DeployTimeInstanceTypeProps]-?: PropType } = {
  instanceType: required(stringType('expected an instance type name (a string), e.g. a parameter\'s valueAsString'), 'the instance type, e.g. a parameter\'s valueAsString'),
  generation: required(numberType(GENERATION_EXPECTATION), GENERATION_EXPECTATION.replace(/^expected /, '')),
  cpuPart: required(stringType('expected the generation\'s CPU part, e.g. 0xd40'), 'the generation\'s CPU part, e.g. 0xd40'),
  armArch: required(stringType('expected the generation\'s GGML_CPU_ARM_ARCH'), 'the generation\'s GGML_CPU_ARM_ARCH'),
};

/**
 * What is wrong with a type chosen at deploy time, as far as its values are
 * known at synth: a generation the kit builds for, that generation's CPU part
 * and llama.cpp build flags exactly as the kit tests them (a build for
 * another core dies with SIGILL, and the boot refuses a CPU part that is not
 * the instance's), and a literal instance type that is a Graviton type of
 * that generation. Each value may be a CloudFormation token (the org
 * template's, picked from a mapping), which the template's rules check.
 */
export function deployTimeInstanceTypeProblems(props: DeployTimeInstanceTypeProps): PropProblem[] {
  const types = propTypeProblems(props, DEPLOY_TIME_TYPES);
  const p: Partial<DeployTimeInstanceTypeProps> = withoutProps(props, types);
  const problems: PropProblem[] = [...types];
  const knownSpecs = Object.values(GENERATIONS);
  const spec = isKnown(p.generation) ? GENERATIONS[p.generation as GravitonGeneration] : undefined;
  if (isKnown(p.generation) && !spec) {
    problems.push({ field: 'generation', given: p.generation, expected: GENERATION_EXPECTATION });
  }
  if (isKnown(p.cpuPart)) {
    if (!CPU_PART.test(p.cpuPart!)) {
      problems.push({ field: 'cpuPart', given: p.cpuPart, expected: `expected the CPU part of /proc/cpuinfo, 0x and three lowercase hexadecimal digits: ${knownSpecs.map((g) => `${g.cpuPart} (${g.name})`).join(', ')}` });
    } else if (spec && p.cpuPart !== spec.cpuPart) {
      problems.push({ field: 'cpuPart', given: p.cpuPart, expected: `expected ${spec.cpuPart}, the CPU part of ${spec.name} (${spec.core}): the boot refuses to serve a build on any other core` });
    }
  }
  if (isKnown(p.armArch)) {
    if (spec && p.armArch !== spec.armArch) {
      problems.push({ field: 'armArch', given: p.armArch, expected: `expected ${spec.armArch}, the llama.cpp build flags (GGML_CPU_ARM_ARCH) the kit builds and tests for ${spec.name}` });
    } else if (!spec && !knownSpecs.some((g) => g.armArch === p.armArch)) {
      problems.push({ field: 'armArch', given: p.armArch, expected: `expected the llama.cpp build flags (GGML_CPU_ARM_ARCH) the kit builds and tests for a Graviton generation: ${knownSpecs.map((g) => `${g.armArch} (${g.name})`).join(', ')}` });
    }
  }
  if (isKnown(p.instanceType)) {
    const entry = findGravitonInstance(p.instanceType!);
    if (!entry) {
      problems.push({ field: 'instanceType', given: p.instanceType, expected: instanceTypeExpectation(p.instanceType!) });
    } else if (spec && entry.generationSpec.generation !== spec.generation) {
      problems.push({ field: 'instanceType', given: p.instanceType, expected: `expected a ${spec.name} type, as generation is ${spec.generation}; ${p.instanceType} is ${entry.generationSpec.name} (generation ${entry.generationSpec.generation})` });
    }
  }
  return problems;
}

const INSTANCE_TYPE_EXPECTATION = 'expected a GravitonInstanceType: GravitonInstanceType.of(\'c7g.2xlarge\'), or GravitonInstanceType.chosenAtDeployTime({...}) for a CloudFormation parameter';

/** A prop that must be a GravitonInstanceType (GravitonLlmEndpoint's and InferenceFleet's `instanceType`). */
export const gravitonInstanceTypeType: PropType = required(
  (field, value) => (value instanceof GravitonInstanceType || (typeof value === 'object' && value !== null && typeof (value as GravitonInstanceType).armArch === 'string'
    && (value as GravitonInstanceType).instanceType !== undefined)
    ? undefined
    : { field, given: printable(value), expected: INSTANCE_TYPE_EXPECTATION }),
  INSTANCE_TYPE_EXPECTATION,
);
