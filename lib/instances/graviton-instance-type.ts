import { Token } from 'aws-cdk-lib';
import { GravitonInstance, findGravitonInstance } from '../catalogs/graviton-instances';
import { explainNonGravitonType } from '../catalogs/instance-suggestions';

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
    if (Token.isUnresolved(instanceType)) {
      throw new Error('GravitonInstanceType.of: got a CloudFormation value; expected a literal instance type such as c7g.2xlarge. '
        + 'For a type chosen at deploy time, use GravitonInstanceType.chosenAtDeployTime with its generation\'s build flags');
    }
    const entry = findGravitonInstance(instanceType);
    if (!entry) {
      throw new Error(`GravitonInstanceType.of: got ${JSON.stringify(instanceType)}; ${instanceTypeExpectation(instanceType)}`);
    }
    const g = entry.generationSpec;
    return new GravitonInstanceType(entry.instanceType, g.generation, g.cpuPart, g.armArch, entry);
  }

  /** A type known only at deploy time; the memory fit check is then the template's (a rule), not synth's. */
  static chosenAtDeployTime(props: DeployTimeInstanceTypeProps): GravitonInstanceType {
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
