import { Tokenization } from 'aws-cdk-lib';
import { isKnown } from '../base/prop-types';
import { GravitonInstanceType } from '../instances/graviton-instance-type';

/**
 * The Graviton generations of a group's instance types, each with the types
 * of it: one llama.cpp build (and, with the trusted builder, one builder) per
 * generation, since a build for one generation dies (SIGILL) or is refused on
 * another. The boot of each instance picks its generation's build by the CPU
 * part its cores report (runtime/boot/phases/cpu.ts).
 */
export interface FleetGeneration {
  /** The generation number (a CloudFormation value where the type is chosen at deploy time). */
  readonly generation: number;
  readonly cpuPart: string;
  readonly armArch: string;
  /** The group's types of this generation, in the group's order: the first is its builder's type. */
  readonly instanceTypes: readonly GravitonInstanceType[];
}

/**
 * The generations of `types` (instanceType first, then the others), in the
 * order each first appears: the first is instanceType's. A generation not
 * known at synth (a type chosen at deploy time, which the props allow only
 * alone) is the one generation of the group.
 */
export function fleetGenerations(types: readonly GravitonInstanceType[]): FleetGeneration[] {
  const [first] = types;
  if (!isKnown(first.generation)) {
    return [{ generation: first.generation, cpuPart: first.cpuPart, armArch: first.armArch, instanceTypes: types }];
  }
  const order: number[] = [];
  const byGeneration = new Map<number, GravitonInstanceType[]>();
  for (const type of types) {
    if (!byGeneration.has(type.generation)) {
      order.push(type.generation);
      byGeneration.set(type.generation, []);
    }
    byGeneration.get(type.generation)!.push(type);
  }
  return order.map((generation) => {
    const of = byGeneration.get(generation)!;
    return { generation, cpuPart: of[0].cpuPart, armArch: of[0].armArch, instanceTypes: of };
  });
}

/**
 * The boot environment's generation keys for these generations: parallel
 * comma lists, one entry each, in order (runtime/boot/contract.ts); for one
 * generation, its values as they always were. The generation may be a
 * CloudFormation value (the org template's), hence stringifyNumber.
 */
export function generationEnvironment(generations: readonly FleetGeneration[]): { GLLM_GENERATION: string; GLLM_CPU_PART: string; GLLM_ARM_ARCH: string } {
  return {
    GLLM_GENERATION: generations.map((g) => Tokenization.stringifyNumber(g.generation)).join(','),
    GLLM_CPU_PART: generations.map((g) => g.cpuPart).join(','),
    GLLM_ARM_ARCH: generations.map((g) => g.armArch).join(','),
  };
}
