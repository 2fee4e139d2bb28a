/**
 * The comparison bench serves "the kit's settings" from the boot's own
 * argument vector (runtime/boot/server/args.ts, which the serve phase runs):
 * these tests hold the bench
 * to it, so the bench can no longer keep a list of its own that drifts from
 * what instances run.
 */
import * as os from 'node:os';

import { findGravitonInstance } from '../../../lib/catalogs/graviton-instances';
import { ARCHITECTURES } from '../../../lib/catalogs/model-architectures';
import { memoryNeed, promptCacheMiB } from '../../../lib/sizing/memory-fit';
import { serverArgs, servingSettings } from '../../../runtime/boot/server/args';
import { configs } from '../../../tools/bench/compare-local';
import { MAX_SHARED_PREFIX_TOKENS, parseCompareArgs } from '../../../tools/bench/compare-options';

const MODEL_BYTES = 770_000_000;

/** The boot's settings for the shape, as an instance with this machine's CPU count serves them. */
function bootSettings(slots: number, ctxPerSlot: number, cacheMiB: number): string[] {
  return servingSettings(serverArgs({
    modelPath: '/models/m.gguf', keyFile: '/tmp/k', host: '127.0.0.1', port: 9999, parallelSlots: slots, contextPerSlot: ctxPerSlot,
    promptCacheMiB: cacheMiB, threads: os.availableParallelism(), lockArgs: [],
  }));
}

test('the comparison bench\'s kit settings are the boot\'s, prompt cache sized by the fit check', () => {
  const parsed = parseCompareArgs(['--instance-type', 'c7g.large']);
  if (!('options' in parsed)) throw new Error(JSON.stringify(parsed));
  const [kit, defaults] = configs(parsed.options, MODEL_BYTES);
  const need = memoryNeed({ modelBytes: MODEL_BYTES, architecture: ARCHITECTURES['llama-3.2-1b'], parallelSlots: 4, contextTokensPerSlot: 4096 });
  const cache = promptCacheMiB(need, findGravitonInstance('c7g.large')!);
  expect(cache).toBeGreaterThan(0);
  expect(cache).toBeLessThan(8192);
  expect(kit.name).toBe('kit');
  expect(kit.args).toEqual(bootSettings(4, 4096, cache));
  // What the kit's settings are made of, so the equality above is not two empty lists.
  const value = (flag: string) => kit.args[kit.args.indexOf(flag) + 1];
  expect(value('--parallel')).toBe('4');
  expect(value('--ctx-size')).toBe('16384');
  expect(value('--threads')).toBe(String(os.availableParallelism()));
  expect(value('--cache-ram')).toBe(String(cache));
  expect(kit.args).toEqual(expect.arrayContaining(['--cont-batching', '--metrics', '--no-slots', '--slot-prompt-similarity']));
  expect(kit.args).not.toContain('--mlock');
  expect(defaults).toEqual({ name: 'defaults', args: [] });
});

test('--extra-slots adds the kit\'s settings with that many slots', () => {
  const parsed = parseCompareArgs(['--extra-slots', '2']);
  if (!('options' in parsed)) throw new Error(JSON.stringify(parsed));
  const extra = configs(parsed.options, MODEL_BYTES)[2];
  expect(extra.name).toBe('kit-2-slots');
  expect(extra.args[extra.args.indexOf('--parallel') + 1]).toBe('2');
  expect(extra.args[extra.args.indexOf('--ctx-size') + 1]).toBe('8192');
});

test('the comparison\'s flags are checked, naming the flag and what it allows', () => {
  expect(parseCompareArgs(['--rounds', '2'])).toEqual({ errors: [expect.stringMatching(/^--rounds: got "2"; expected .*3/)] });
  expect(parseCompareArgs(['--instance-type', 'c7g.huge'])).toEqual({ errors: [expect.stringContaining('--instance-type: got "c7g.huge"')] });
  const ok = parseCompareArgs(['--rounds', '5', '--only', 'kit,defaults', '--shared-prefix-tokens', '1000']);
  expect('options' in ok && ok.options).toMatchObject({ rounds: 5, only: ['kit', 'defaults'], sharedPrefixTokens: 1000 });
});

test('every rule is checked before the run: the settings --only names, the prefix that fits a slot, instance types and slots the fit check accepts', () => {
  const errors = (...argv: string[]) => {
    const r = parseCompareArgs(argv);
    return 'errors' in r ? r.errors : [];
  };
  expect(errors('--only', 'kit,bogus')).toEqual([expect.stringMatching(/^--only: got "kit,bogus"; "bogus" is not run; expected some of kit, defaults/)]);
  expect(errors('--only', 'kit-8-slots')).toHaveLength(1);
  expect(errors('--only', 'kit-8-slots', '--extra-slots', '8')).toEqual([]);
  // The prefix, the prompt's own 128 tokens, 64 output tokens and the template fill one slot of 4096.
  expect(MAX_SHARED_PREFIX_TOKENS).toBe(4096 - 128 - 64 - 96);
  expect(errors('--shared-prefix-tokens', String(MAX_SHARED_PREFIX_TOKENS))).toEqual([]);
  expect(errors('--shared-prefix-tokens', String(MAX_SHARED_PREFIX_TOKENS + 1))).toEqual([`--shared-prefix-tokens: got "${MAX_SHARED_PREFIX_TOKENS + 1}"; expected a whole number from 1 to ${MAX_SHARED_PREFIX_TOKENS}`]);
  expect(errors('--instance-type', 't4g.nano')).toEqual([expect.stringMatching(/^--instance-type: got "t4g.nano"; expected an instance type the kit's fit check serves/)]);
  expect(errors('--instance-type', 'c7g.large', '--extra-slots', '10')).toEqual([]);
  expect(errors('--instance-type', 'c7g.large', '--extra-slots', '11')).toEqual([expect.stringMatching(/^--extra-slots: got "11"; expected at most 10 on --instance-type c7g.large/)]);
});
