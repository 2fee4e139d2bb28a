import { GENERATIONS, GenerationSpec, GravitonGeneration } from './graviton-generations';

/** Broad use of an instance family; used to suggest like-for-like replacements. */
export type FamilyCategory = 'compute' | 'general' | 'memory' | 'burstable' | 'storage' | 'hpc' | 'accelerated';

export interface InstanceSize {
  readonly size: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
}

export interface InstanceFamily {
  readonly family: string;
  readonly generation: GravitonGeneration;
  readonly category: FamilyCategory;
  /** Published but not yet generally available: synth warns. */
  readonly preview?: boolean;
  readonly sizes: readonly InstanceSize[];
}

export interface GravitonInstance extends InstanceSize {
  readonly instanceType: string;
  readonly family: string;
  /**
   * The family this one is a local-NVMe (d) or network (n) variant of, or itself:
   * c7gd and c7gn serve a model no differently from c7g, so suggestions list only c7g.
   */
  readonly baseFamily: string;
  readonly category: FamilyCategory;
  readonly generationSpec: GenerationSpec;
  readonly preview: boolean;
}

/** vCPUs of each size name in the regular (non-burstable) families. */
const VCPUS: Readonly<Record<string, number>> = {
  'medium': 1,
  'large': 2,
  'xlarge': 4,
  '2xlarge': 8,
  '4xlarge': 16,
  '8xlarge': 32,
  '12xlarge': 48,
  '16xlarge': 64,
  '24xlarge': 96,
  '48xlarge': 192,
  'metal-24xl': 96,
  'metal-48xl': 192,
};

const G2_SIZES = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
const G4_SIZES = [...G2_SIZES, '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];

/**
 * Sizes of a family whose memory is a fixed number of GiB per vCPU, which holds
 * for the c (2), m (4), r (8) and x (16) families. `metal` has the vCPUs of the
 * largest virtualised size.
 */
function regular(sizes: readonly string[], gibPerVcpu: number, metalVcpus?: number): InstanceSize[] {
  const out = sizes.map((size) => ({ size, vcpus: VCPUS[size], memoryGiB: VCPUS[size] * gibPerVcpu }));
  if (metalVcpus !== undefined) {
    out.push({ size: 'metal', vcpus: metalVcpus, memoryGiB: metalVcpus * gibPerVcpu });
  }
  return out;
}

function explicit(rows: ReadonlyArray<readonly [string, number, number]>): InstanceSize[] {
  return rows.map(([size, vcpus, memoryGiB]) => ({ size, vcpus, memoryGiB }));
}

function family(
  name: string,
  generation: GravitonGeneration,
  category: FamilyCategory,
  sizes: InstanceSize[],
  preview = false,
): InstanceFamily {
  return { family: name, generation, category, sizes, preview };
}

/**
 * Current Graviton instance families and sizes. vCPUs and memory are AWS's
 * published figures (as carried in the EC2 instance type data that
 * kubernetes/autoscaler generates from the EC2 API) for every Graviton2 and
 * Graviton3 family and for c8g, m8g, r8g and x8g; the d and n variants of
 * Graviton4 and i8g follow their base family's GiB per vCPU.
 */
export const INSTANCE_FAMILIES: readonly InstanceFamily[] = [
  // Graviton2
  family('c6g', 2, 'compute', regular(G2_SIZES, 2, 64)),
  family('c6gd', 2, 'compute', regular(G2_SIZES, 2, 64)),
  family('c6gn', 2, 'compute', regular(G2_SIZES, 2)),
  family('m6g', 2, 'general', regular(G2_SIZES, 4, 64)),
  family('m6gd', 2, 'general', regular(G2_SIZES, 4, 64)),
  family('r6g', 2, 'memory', regular(G2_SIZES, 8, 64)),
  family('r6gd', 2, 'memory', regular(G2_SIZES, 8, 64)),
  family('x2gd', 2, 'memory', regular(G2_SIZES, 16, 64)),
  family('t4g', 2, 'burstable', explicit([
    ['nano', 2, 0.5], ['micro', 2, 1], ['small', 2, 2], ['medium', 2, 4],
    ['large', 2, 8], ['xlarge', 4, 16], ['2xlarge', 8, 32],
  ])),
  family('im4gn', 2, 'storage', explicit([
    ['large', 2, 8], ['xlarge', 4, 16], ['2xlarge', 8, 32], ['4xlarge', 16, 64], ['8xlarge', 32, 128], ['16xlarge', 64, 256],
  ])),
  family('is4gen', 2, 'storage', explicit([
    ['medium', 1, 6], ['large', 2, 12], ['xlarge', 4, 24], ['2xlarge', 8, 48], ['4xlarge', 16, 96], ['8xlarge', 32, 192],
  ])),
  family('i4g', 2, 'storage', explicit([
    ['large', 2, 16], ['xlarge', 4, 32], ['2xlarge', 8, 64], ['4xlarge', 16, 128], ['8xlarge', 32, 256], ['16xlarge', 64, 512],
  ])),
  family('g5g', 2, 'accelerated', explicit([
    ['xlarge', 4, 8], ['2xlarge', 8, 16], ['4xlarge', 16, 32], ['8xlarge', 32, 64], ['16xlarge', 64, 128], ['metal', 64, 128],
  ])),
  // Graviton3 (hpc7g is Graviton3E)
  family('c7g', 3, 'compute', regular(G2_SIZES, 2, 64)),
  family('c7gd', 3, 'compute', regular(G2_SIZES, 2, 64)),
  family('c7gn', 3, 'compute', regular(G2_SIZES, 2, 64)),
  family('m7g', 3, 'general', regular(G2_SIZES, 4, 64)),
  family('m7gd', 3, 'general', regular(G2_SIZES, 4, 64)),
  family('r7g', 3, 'memory', regular(G2_SIZES, 8, 64)),
  family('r7gd', 3, 'memory', regular(G2_SIZES, 8, 64)),
  family('hpc7g', 3, 'hpc', explicit([['4xlarge', 16, 128], ['8xlarge', 32, 128], ['16xlarge', 64, 128]])),
  // Graviton4
  family('c8g', 4, 'compute', regular(G4_SIZES, 2)),
  family('c8gd', 4, 'compute', regular(G4_SIZES, 2)),
  family('c8gn', 4, 'compute', regular(G4_SIZES, 2)),
  family('m8g', 4, 'general', regular(G4_SIZES, 4)),
  family('m8gd', 4, 'general', regular(G4_SIZES, 4)),
  family('r8g', 4, 'memory', regular(G4_SIZES, 8)),
  family('r8gd', 4, 'memory', regular(G4_SIZES, 8)),
  family('x8g', 4, 'memory', regular(G4_SIZES, 16)),
  family('i8g', 4, 'storage', regular(['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'], 8)),
  // Not listed: i8ge (memory per size not confirmed from AWS data) and the Graviton5 families
  // (M9g, M9gd: generally available since June 2026, sizes not yet confirmed here). Add them
  // here when their specifications are; GENERATIONS already knows how to build for Graviton5.
];

function baseFamilyOf(name: string): string {
  const base = name.replace(/(\d+g)[dn]+$/, '$1');
  return base !== name && INSTANCE_FAMILIES.some((f) => f.family === base) ? base : name;
}

const BY_TYPE: ReadonlyMap<string, GravitonInstance> = new Map(
  INSTANCE_FAMILIES.flatMap((f) =>
    f.sizes.map((s): [string, GravitonInstance] => {
      const instanceType = `${f.family}.${s.size}`;
      return [instanceType, {
        ...s,
        instanceType,
        family: f.family,
        baseFamily: baseFamilyOf(f.family),
        category: f.category,
        generationSpec: GENERATIONS[f.generation],
        preview: f.preview ?? false,
      }];
    }),
  ),
);

/** The catalog entry for an instance type, or undefined when it is not a known Graviton type. */
export function findGravitonInstance(instanceType: string): GravitonInstance | undefined {
  return BY_TYPE.get(instanceType);
}

export function allGravitonInstances(): GravitonInstance[] {
  return [...BY_TYPE.values()];
}

export function findFamily(name: string): InstanceFamily | undefined {
  return INSTANCE_FAMILIES.find((f) => f.family === name);
}
