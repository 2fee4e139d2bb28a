import { MIB, fits, memoryNeed, promptCacheMiB, usableBytes } from '../../../lib/sizing/memory-fit';
import { formatSizing } from '../../../tools/sizing/format';
import { sizeOrExplain } from '../../../tools/sizing/cli';
import { FAMILY_PRICES } from '../../../tools/sizing/data';
import { modelSpec } from '../../../tools/sizing/model';
import { parseSizingArgs } from '../../../tools/sizing/options';
import { planSizing, SizingError, type SizingRequest } from '../../../tools/sizing/plan';

const base: SizingRequest = {
  model: modelSpec('llama-3.1-8b', 'Q4_K_M'),
  targetTpotMs: 100,
  inputTokens: 256,
  outputTokens: 256,
  contextPerSlot: 4096,
  maxSlots: 64,
  prefillSpeedup: 1,
};

describe('planSizing', () => {
  test('every row fits in memory with its slots (the kit\'s fit check) and meets the target', () => {
    const { rows } = planSizing(base);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      const need = memoryNeed({ modelBytes: base.model.sizeBytes, architecture: base.model.architecture, parallelSlots: r.slots, contextTokensPerSlot: 4096 });
      expect(fits(need, r.instance)).toBe(true);
      expect(r.tpotMsAtSlots).toBeLessThanOrEqual(100);
      // One more slot would break the target, the memory fit or the slot limit.
      const more = memoryNeed({ ...{ modelBytes: base.model.sizeBytes, architecture: base.model.architecture, contextTokensPerSlot: 4096 }, parallelSlots: r.slots + 1 });
      expect(r.estimate.step(r.slots + 1) * 1000 > 100 || !fits(more, r.instance) || r.slots === 64).toBe(true);
    }
  });

  test('cost arithmetic: price x instances over the tokens the rate asks for, cheapest fleet first', () => {
    const { rows } = planSizing({ ...base, rps: 3 });
    for (const r of rows) {
      expect(r.pricePerHour).toBeCloseTo(FAMILY_PRICES[r.instance.family].perVcpuHour * r.instance.vcpus);
      expect(r.instances).toBe(Math.max(1, Math.ceil(3 / r.capacityRps)));
      expect(r.fleetPerHour).toBeCloseTo(r.instances! * r.pricePerHour);
      expect(r.dollarsPerMillionOutputTokens).toBeCloseTo((r.fleetPerHour! / (3 * 256 * 3600)) * 1e6);
      expect(r.instanceOutputTps).toBeCloseTo(r.capacityRps * 256);
    }
    const fleet = rows.map((r) => r.fleetPerHour!);
    expect(fleet).toEqual([...fleet].sort((a, b) => a - b));
  });

  test('a tighter target gives fewer slots on the same instance', () => {
    const slots = (target: number) => planSizing({ ...base, targetTpotMs: target }).rows.find((r) => r.instance.instanceType === 'c7g.16xlarge')!.slots;
    expect(slots(50)).toBeLessThan(slots(100));
  });

  test('a model too big for small instances leaves them out', () => {
    const r = planSizing({ ...base, model: modelSpec('llama-3.3-70b', 'Q4_K_M'), targetTpotMs: 1000 });
    expect(r.excluded.memory).toBeGreaterThan(0);
    for (const row of r.rows) expect(row.instance.memoryGiB).toBeGreaterThanOrEqual(64);
  });

  test('families filter', () => {
    const r = planSizing({ ...base, families: ['c7g'] });
    expect(new Set(r.rows.map((x) => x.instance.family))).toEqual(new Set(['c7g']));
  });
});

describe('what each row rests on', () => {
  test('the memory check counts the prompt cache the kit would give the row\'s shape, within the usable memory', () => {
    const { rows } = planSizing({ ...base, model: modelSpec('llama-3.2-1b', 'Q4_0') });
    expect(rows.some((r) => r.promptCacheMiB > 0 && r.promptCacheMiB < 8192)).toBe(true);
    for (const r of rows) {
      const need = memoryNeed({ modelBytes: r.memory.modelBytes, architecture: modelSpec('llama-3.2-1b', 'Q4_0').architecture, parallelSlots: r.slots, contextTokensPerSlot: 4096 });
      expect(r.memory).toEqual(need);
      expect(r.promptCacheMiB).toBe(promptCacheMiB(need, r.instance));
      expect(need.totalBytes + r.promptCacheMiB * MIB).toBeLessThanOrEqual(usableBytes(r.instance));
    }
  });

  test('the table states the prefill rate each idle TTFT assumes, next to it, and the prompt cache', () => {
    const req = { ...base, prefillSpeedup: 4 };
    const result = planSizing(req);
    const r = result.rows[0];
    expect(r.ttftMsIdle).toBeCloseTo((256 / r.prefillTokensPerS + r.estimate.step(1)) * 1000, 6);
    const text = formatSizing(req, result, 1);
    expect(text).toContain('| Idle TTFT (ms) | Prefill assumed (tok/s) |');
    expect(text).toContain(`| ${r.ttftMsIdle.toFixed(0)} | ${r.prefillTokensPerS.toFixed(0)} |`);
    expect(text).toContain(`| ${r.promptCacheMiB} |`);
    expect(text).toContain('--prefill-speedup (4; 1 is conservative)');
    expect(text).toContain('--cache-ram');
  });
});

describe('bad input names the flag', () => {
  const errs = (...argv: string[]) => {
    const p = parseSizingArgs(argv);
    if (!('errors' in p)) throw new Error('expected errors');
    return p.errors.join('\n');
  };

  test('unknown model lists what exists', () => {
    expect(errs('--model', 'gpt-5')).toMatch(/^--model: unknown model "gpt-5"; catalog models: .*llama-3\.1-8b-instruct-q4_k_m/);
  });

  test('architecture without quantization, contradicting quantization, bad numbers', () => {
    expect(errs('--model', 'llama-3.1-8b')).toMatch(/^--quantization: required/);
    expect(errs('--model', 'llama-3.2-1b-instruct-q4_0', '--quantization', 'Q8_0')).toMatch(/^--quantization: Q8_0 contradicts/);
    expect(errs('--model', 'llama-3.2-1b-instruct-q4_0', '--target-tpot-ms', 'fast')).toMatch(/^--target-tpot-ms: got "fast"/);
    expect(errs('--model', 'llama-3.2-1b-instruct-q4_0', '--families', 'c5,c7g')).toMatch(/^--families: unknown or unpriced c5/);
    expect(errs('--model', 'llama-3.2-1b-instruct-q4_0', '--max-slots', '65')).toMatch(/^--max-slots: got "65"; expected a whole number from 1 to 64$/);
  });

  test('an impossible target says so, with the fastest estimate', () => {
    const p = parseSizingArgs(['--model', 'llama-3.3-70b-instruct-q4_k_m', '--target-tpot-ms', '5']);
    if (!('options' in p)) throw new Error('parse failed');
    expect(() => sizeOrExplain(p.options.request)).toThrow(SizingError);
    expect(() => sizeOrExplain(p.options.request)).toThrow(/^--target-tpot-ms: no instance generates llama-3\.3-70b-instruct-q4_k_m within 5 ms .*fastest estimate is \d+ ms on \S+/);
  });

  test('prompt plus output longer than the slot context', () => {
    expect(() => planSizing({ ...base, inputTokens: 4000, outputTokens: 200 })).toThrow(/--input-tokens \+ --output-tokens \(4200\) exceed --context 4096/);
  });

  test('a catalog id parses to its file', () => {
    const p = parseSizingArgs(['--model', 'llama-3.2-1b-instruct-q4_0', '--rps', '2']);
    if (!('options' in p)) throw new Error('parse failed');
    expect(p.options.request.model.sizeBasis).toBe('catalog');
    expect(p.options.request.rps).toBe(2);
  });
});

describe('--types and --spot-discount: a group\'s types side by side, with the user\'s Spot discount (issue 24)', () => {
  const parsed = (...argv: string[]) => {
    const p = parseSizingArgs(['--model', 'llama-3.1-8b-instruct-q4_k_m', ...argv]);
    if (!('options' in p)) throw new Error(JSON.stringify(p));
    return p.options.request;
  };

  test('only the types given, each with its on-demand cost per million tokens; every row of the search for those types is the same row', () => {
    const req = parsed('--types', 'c7g.2xlarge,m7g.2xlarge', '--rps', '2');
    expect(req.types).toEqual(['c7g.2xlarge', 'm7g.2xlarge']);
    const { rows } = planSizing(req);
    expect(rows.map((r) => r.instance.instanceType).sort()).toEqual(['c7g.2xlarge', 'm7g.2xlarge']);
    const searched = planSizing({ ...req, types: undefined, families: ['c7g', 'm7g'] }).rows;
    for (const r of rows) {
      // The estimate's step is a function of its own per plan: the rest of the row, and the step's value at the row's slots, are the same.
      const { estimate, ...same } = r;
      const { estimate: searchedEstimate, ...other } = searched.find((s) => s.instance.instanceType === r.instance.instanceType)!;
      expect(same).toEqual(other);
      expect(estimate.step(r.slots)).toBe(searchedEstimate.step(r.slots));
      expect(r).not.toHaveProperty('spot');
    }
  });

  test('the Spot columns are the on-demand prices less the discount the user gave; none is invented', () => {
    const req = parsed('--types', 'c7g.2xlarge,m7g.2xlarge', '--rps', '2', '--spot-discount', '60');
    expect(req.spotDiscountPercent).toBe(60);
    const result = planSizing(req);
    for (const r of result.rows) {
      expect(r.spot!.pricePerHour).toBeCloseTo(r.pricePerHour * 0.4);
      expect(r.spot!.fleetPerHour).toBeCloseTo(r.fleetPerHour! * 0.4);
      expect(r.spot!.dollarsPerMillionOutputTokens).toBeCloseTo(r.dollarsPerMillionOutputTokens * 0.4);
    }
    const text = formatSizing(req, result, 0);
    expect(text).toContain('| $/h each | $ per M output tokens | Spot $/h each | Spot fleet $/h | Spot $ per M output tokens |');
    const c7g = result.rows.find((r) => r.instance.instanceType === 'c7g.2xlarge')!;
    expect(text).toMatch(new RegExp(`^\\| c7g\\.2xlarge \\|.*\\| ${c7g.spot!.dollarsPerMillionOutputTokens.toFixed(2)} \\|$`, 'm'));
    expect(text).toContain('less your --spot-discount of 60%');
    expect(text).not.toContain('Several generations');
    expect(formatSizing(parsed('--types', 'c7g.2xlarge,c8g.2xlarge'), planSizing(parsed('--types', 'c7g.2xlarge,c8g.2xlarge')), 0))
      .toContain('Several generations: one group takes types of one Graviton generation for now');
  });

  test('bad types and discounts name the flag', () => {
    const errs = (...argv: string[]) => {
      const p = parseSizingArgs(['--model', 'llama-3.1-8b-instruct-q4_k_m', ...argv]);
      if (!('errors' in p)) throw new Error('expected errors');
      return p.errors.join('\n');
    };
    expect(errs('--types', 'c7g.2xlarge,m5.2xlarge')).toMatch(/^--types: unknown or unpriced m5\.2xlarge; expected Graviton types of the priced families: c7g/);
    expect(errs('--types', 'c7g.2xlarge,c7g.2xlarge')).toBe('--types: c7g.2xlarge is given twice; expected each type once');
    expect(errs('--types', 'c7g.2xlarge', '--families', 'c7g')).toBe('--types: not with --families; give the types, or the families to search');
    expect(errs('--spot-discount', '100')).toMatch(/^--spot-discount: got "100"; expected a number from 1 to 99/);
    expect(errs('--spot-discount', 'cheap')).toMatch(/^--spot-discount: got "cheap"/);
  });
});
