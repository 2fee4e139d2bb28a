import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { INSTANCE_FAMILIES, allGravitonInstances, findGravitonInstance } from '../../lib/catalogs/graviton-instances';
import { explainNonGravitonType } from '../../lib/catalogs/instance-suggestions';

test('covers the Graviton2, 3 and 4 families and their d and n variants', () => {
  const families = INSTANCE_FAMILIES.map((f) => f.family);
  for (const f of ['c6g', 'c6gd', 'c6gn', 'm6g', 'm6gd', 'r6g', 'r6gd', 'c7g', 'c7gd', 'c7gn', 'm7g', 'm7gd', 'r7g', 'r7gd', 'c8g', 'c8gd', 'c8gn', 'm8g', 'm8gd', 'r8g', 'r8gd']) {
    expect(families).toContain(f);
  }
  expect(new Set(families).size).toBe(families.length);
});

test.each([
  ['c6g.medium', 2, 1, 2],
  ['m6g.16xlarge', 2, 64, 256],
  ['t4g.nano', 2, 2, 0.5],
  ['c7g.2xlarge', 3, 8, 16],
  ['r7g.metal', 3, 64, 512],
  ['hpc7g.16xlarge', 3, 64, 128],
  ['c8g.48xlarge', 4, 192, 384],
  ['x8g.metal-48xl', 4, 192, 3072],
])('%s is Graviton%d with %d vCPU and %d GiB', (type, generation, vcpus, memoryGiB) => {
  const i = findGravitonInstance(type);
  expect(i).toMatchObject({ vcpus, memoryGiB });
  expect(i?.generationSpec.generation).toBe(generation);
});

test('every generation maps to its core, CPU part and llama.cpp Arm flags', () => {
  expect(GENERATIONS[2]).toMatchObject({ core: 'Neoverse N1', cpuPart: '0xd0c', q4_0Repack: 'q4_0_4x4' });
  expect(GENERATIONS[2].armArch).toContain('+dotprod');
  expect(GENERATIONS[3]).toMatchObject({ core: 'Neoverse V1', cpuPart: '0xd40', sveBits: 256, q4_0Repack: 'q4_0_8x8' });
  expect(GENERATIONS[3].armArch.split('+')).toEqual(expect.arrayContaining(['sve', 'i8mm', 'bf16']));
  for (const g of [4, 5] as const) {
    expect(GENERATIONS[g].armArch.split('+')).toEqual(expect.arrayContaining(['sve2', 'i8mm', 'bf16']));
  }
  // A build is keyed by its flags; two generations that could run each other's builds share nothing by accident.
  expect(new Set([2, 3, 4].map((g) => GENERATIONS[g as 2 | 3 | 4].armArch)).size).toBe(3);
});

test('sizes grow with vCPUs inside a family, and memory never shrinks', () => {
  for (const f of INSTANCE_FAMILIES) {
    const virtual = f.sizes.filter((s) => !s.size.startsWith('metal'));
    for (let k = 1; k < virtual.length; k++) {
      expect(virtual[k].vcpus).toBeGreaterThanOrEqual(virtual[k - 1].vcpus);
      expect(virtual[k].memoryGiB).toBeGreaterThanOrEqual(virtual[k - 1].memoryGiB);
    }
  }
  expect(allGravitonInstances().length).toBeGreaterThan(250);
});

describe('non-Graviton types name their nearest Graviton equivalents', () => {
  test.each([
    ['m5.large', ['m7g.large', 'm8g.large', 'm6g.large']],
    ['c6i.4xlarge', ['c7g.4xlarge', 'c8g.4xlarge', 'c6g.4xlarge']],
    ['r5.xlarge', ['r7g.xlarge', 'r8g.xlarge', 'r6g.xlarge']],
    ['t3.medium', ['t4g.medium']],
    ['c5.9xlarge', ['c7g.8xlarge']],
  ])('%s', (type, expected) => {
    const message = explainNonGravitonType(type);
    for (const e of expected) {
      expect(message).toContain(e);
    }
  });
});
