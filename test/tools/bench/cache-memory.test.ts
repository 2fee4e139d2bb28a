import { findGravitonInstance } from '../../../lib/catalogs/graviton-instances';
import { GIB, MIB, usableBytes } from '../../../lib/sizing/memory-fit';
import {
  lastCacheState, parseProcStatus, peakRss, renderMemoryTable, SettingsRun, verdict, withoutFlag,
} from '../../../tools/bench/cache-memory';
import { parseCacheMemoryArgs } from '../../../tools/bench/prompt-cache-memory';

const STATUS = `Name:\tllama-server
VmPeak:\t 9000000 kB
VmHWM:\t 2100000 kB
VmRSS:\t 2000000 kB
RssAnon:\t 1200000 kB
RssFile:\t  800000 kB
RssShmem:\t       0 kB
`;

const large = findGravitonInstance('c7g.large')!;

function run(name: string, peaks: number[]): SettingsRun {
  return {
    name,
    cacheRamMiB: 100,
    samples: peaks.map((p, i) => ({ prompt: i + 1, memory: { rssBytes: p, anonBytes: p / 2, fileBytes: p / 2, peakRssBytes: p } })),
  };
}

describe('the prompt cache memory bound', () => {
  test('reads resident memory from /proc/PID/status in bytes', () => {
    expect(parseProcStatus(STATUS)).toEqual({ rssBytes: 2_000_000 * 1024, anonBytes: 1_200_000 * 1024, fileBytes: 800_000 * 1024, peakRssBytes: 2_100_000 * 1024 });
    expect(parseProcStatus('Name:\tx\nVmRSS:\t 1 kB\n')).toBeUndefined();
  });

  test('reads the last cache state llama-server v0.5.0 logged (server-task.cpp server_prompt_cache::update)', () => {
    const log = [
      'srv        update:  - cache state: 1 prompts, 118.875 MiB (limits: 864.000 MiB, 16384 tokens, 27648 est)',
      'srv        update:    - prompt 0x55: 3805 tokens, checkpoints:  0,   118.875 MiB',
      'srv        update:  - cache state: 2 prompts, 237.750 MiB (limits: 864.000 MiB, 16384 tokens, 27648 est)',
    ].join('\n');
    expect(lastCacheState(log)).toEqual({ prompts: 2, mib: 237.75, limitMiB: 864 });
    expect(lastCacheState('no cache lines')).toBeUndefined();
  });

  test('the default-cache settings are the kit\'s less --cache-ram and its value; a vector without it is refused', () => {
    expect(withoutFlag(['--parallel', '4', '--cache-ram', '864', '--metrics'], '--cache-ram')).toEqual(['--parallel', '4', '--metrics']);
    expect(() => withoutFlag(['--parallel', '4'], '--cache-ram')).toThrow('expected --cache-ram in the kit\'s server settings');
  });

  test('the verdict places the peak against the fit check\'s budget and the whole memory', () => {
    const budget = usableBytes(large);
    expect(peakRss(run('kit', [budget - 2 * MIB, budget - MIB]))).toBe(budget - MIB);
    expect(verdict(run('kit', [budget - MIB]), large)).toMatch(/^kit: peak .* GiB, within c7g.large's .* GiB budget for the server$/);
    expect(verdict(run('default cache', [budget + MIB]), large)).toContain('OVER c7g.large\'s');
    expect(verdict(run('default cache', [4 * GIB + MIB]), large)).toContain('OVER c7g.large\'s whole 4 GiB: there the kernel would kill the server');
  });

  test('the table has a row per prompt and a column pair per settings, shorter runs padded', () => {
    const table = renderMemoryTable([run('kit', [GIB, GIB]), run('default cache', [GIB])]).split('\n');
    expect(table[0]).toBe('| Prompts sent | kit RSS (heap + mapped) | kit prompt cache | default cache RSS (heap + mapped) | default cache prompt cache |');
    expect(table).toHaveLength(4);
    expect(table[2]).toBe('| 1 | 1024 MiB (512 + 512) | - | 1024 MiB (512 + 512) | - |');
    expect(table[3]).toBe('| 2 | 1024 MiB (512 + 512) | - | - | - |');
  });

  test('flags: defaults, and errors naming the flag, the value and the range', () => {
    const ok = parseCacheMemoryArgs([]);
    expect('options' in ok && ok.options.instance.instanceType).toBe('c7g.large');
    expect('options' in ok && ok.options.prompts).toBe(28);
    const bad = parseCacheMemoryArgs(['--prompts', '2', '--instance-type', 'm5.large']);
    expect('errors' in bad && bad.errors.join('\n')).toMatch(/--prompts.*2[\s\S]*--instance-type: got "m5.large"/);
    // A type the kit's fit check would not serve the model on is refused before the model is generated.
    const small = parseCacheMemoryArgs(['--instance-type', 't4g.nano']);
    expect('errors' in small && small.errors).toEqual([expect.stringMatching(/^--instance-type: got "t4g.nano"; expected an instance type the kit's fit check serves .*types that fit: /)]);
  });
});
