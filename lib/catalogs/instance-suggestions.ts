import { FamilyCategory, GravitonInstance, allGravitonInstances, findFamily, findGravitonInstance } from './graviton-instances';

/**
 * Explains why an instance type is not a Graviton type the kit can use, and
 * names the nearest Graviton equivalents, so that a user who typed `m5.large`
 * learns to write `m7g.large` rather than just "invalid".
 */
export function explainNonGravitonType(instanceType: string): string {
  const parsed = /^([a-z]+)(\d+)([a-z-]*)\.([a-z0-9-]+)$/.exec(instanceType);
  if (!parsed) {
    return `"${instanceType}" is not an EC2 instance type name (expected FAMILY.SIZE, for example c7g.2xlarge)`;
  }
  const [, letters, , , size] = parsed;
  const familyName = instanceType.split('.')[0];
  const known = findFamily(familyName);
  if (known) {
    const sizes = known.sizes.map((s) => s.size).join(', ');
    return `${familyName} has no size "${size}"; its sizes are: ${sizes}`;
  }
  const vcpus = vcpusOfSizeName(size);
  const category = categoryOf(letters);
  const near = nearestGraviton(category, letters, size, vcpus).map(describe).join(', ');
  if (familyName === 'a1') {
    return `a1 is first-generation Graviton (Cortex-A72), which lacks the dotprod instructions llama.cpp's Arm kernels need; nearest supported types: ${near}`;
  }
  const kind = /^[a-z]+\d+g[a-z]*$/.test(familyName)
    ? `${familyName} is not a known Graviton family`
    : `${familyName} is not a Graviton (Arm) family`;
  return `${kind}; nearest Graviton types: ${near}`;
}

function describe(i: GravitonInstance): string {
  return `${i.instanceType} (${i.generationSpec.name}, ${i.vcpus} vCPU, ${i.memoryGiB} GiB)`;
}

const SIZE_VCPUS: Readonly<Record<string, number>> = {
  nano: 2, micro: 2, small: 2, medium: 1, large: 2, xlarge: 4,
};

function vcpusOfSizeName(size: string): number {
  if (SIZE_VCPUS[size] !== undefined) {
    return SIZE_VCPUS[size];
  }
  const n = /^(\d+)xlarge$/.exec(size);
  if (n) {
    return Number(n[1]) * 4;
  }
  // metal sizes: assume the largest virtualised size of a modern family.
  return 64;
}

function categoryOf(letters: string): FamilyCategory {
  if (letters === 'hpc') return 'hpc';
  switch (letters[0]) {
    case 'c': return 'compute';
    case 'm': return 'general';
    case 'r': case 'x': case 'z': case 'u': return 'memory';
    case 't': return 'burstable';
    case 'i': case 'd': case 'h': return 'storage';
    default: return 'general';
  }
}

/**
 * One type per base family of the same category (preferring families of the
 * same letter, so m5 suggests m7g before r7g), of the same size name where it
 * exists, else the closest vCPU count. Accelerated (GPU) families map to
 * general purpose: the kit serves from CPUs.
 */
function nearestGraviton(category: FamilyCategory, letters: string, size: string, vcpus: number): GravitonInstance[] {
  const wanted: FamilyCategory = category === 'accelerated' ? 'general' : category;
  const pool = allGravitonInstances().filter((i) => !i.preview && i.category === wanted && i.family === i.baseFamily && !i.size.startsWith('metal'));
  const score = (i: GravitonInstance) => (i.size === size ? -1 : Math.abs(i.vcpus - vcpus));
  const best = new Map<string, GravitonInstance>();
  for (const i of pool) {
    const current = best.get(i.family);
    if (!current || score(i) < score(current)) {
      best.set(i.family, i);
    }
  }
  const sameLetter = (i: GravitonInstance) => (i.family.startsWith(letters[0]) ? 0 : 1);
  const generationRank = (i: GravitonInstance) => GENERATION_PREFERENCE.indexOf(i.generationSpec.generation);
  return [...best.values()]
    .sort((a, b) => sameLetter(a) - sameLetter(b) || generationRank(a) - generationRank(b))
    .slice(0, 3);
}

/** Graviton3 first: it has the fastest Q4_0 kernels per dollar (256-bit SVE, i8mm). */
const GENERATION_PREFERENCE = [3, 4, 2, 5];

export function isGravitonType(instanceType: string): boolean {
  return findGravitonInstance(instanceType) !== undefined;
}
