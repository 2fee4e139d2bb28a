/**
 * The server's argument vector in-process: what the vector means. That the
 * release accepts it is test/integration/server-args.test.ts's.
 */
import {
  chooseLockArgs, ENDPOINT_FLAGS, httpThreads, LOCK_CANDIDATES, listenHost, memlockCovers, serverArgs, type ServerArgsInput, servingSettings,
} from '../../../../runtime/boot/server/args';

const INPUT: ServerArgsInput = {
  modelPath: '/models/m.gguf', keyFile: '/k', host: '0.0.0.0', port: 8080, parallelSlots: 4, contextPerSlot: 4096,
  promptCacheMiB: 300, threads: 8, lockArgs: ['--load-mode', 'mmap+mlock'],
};

const value = (args: readonly string[], flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);

test('the context is shared by the slots, every CPU generates, and the lock comes last', () => {
  const args = serverArgs(INPUT);
  expect(value(args, '--ctx-size')).toBe('16384');
  expect(value(args, '--threads')).toBe('8');
  expect(value(args, '--threads-http')).toBe(String(httpThreads(4)));
  expect(value(args, '--cache-ram')).toBe('300');
  expect(value(args, '--slot-prompt-similarity')).toBe('0.10');
  expect(args.slice(-2)).toEqual(['--load-mode', 'mmap+mlock']);
  expect(args).toEqual(expect.arrayContaining(['--metrics', '--cont-batching', '--no-webui', '--no-slots']));
  expect(value(serverArgs({ ...INPUT, promptCacheMiB: 0 }), '--cache-ram')).toBe('0');
});

test('--threads-http gives every slot four connections, plus room for health checks, metrics and the canary', () => {
  expect([1, 4, 16].map(httpThreads)).toEqual([12, 24, 72]);
});

test('the endpoint flags carry the values given, and servingSettings leaves the serving settings alone', () => {
  const args = serverArgs(INPUT);
  expect(ENDPOINT_FLAGS.map((flag) => value(args, flag))).toEqual(['/models/m.gguf', '0.0.0.0', '8080', '/k']);
  const settings = servingSettings(args);
  for (const flag of ENDPOINT_FLAGS) expect(settings).not.toContain(flag);
  expect(settings).not.toContain('/models/m.gguf');
  expect(settings.length).toBe(args.length - 2 * ENDPOINT_FLAGS.length);
});

test('an instance listens for the load balancer; a developer machine for itself', () => {
  expect(listenHost('aws')).toBe('0.0.0.0');
  expect(listenHost('local')).toBe('127.0.0.1');
});

test('the lock is the newest switch the server parses, where locking is allowed, and says why otherwise', () => {
  const [loadMode, mlock] = LOCK_CANDIDATES;
  expect(chooseLockArgs({ lockAllowed: true, accepted: [mlock, loadMode] })).toEqual({ args: ['--load-mode', 'mmap+mlock'], reason: 'accepted' });
  expect(chooseLockArgs({ lockAllowed: true, accepted: [['--mlock']] })).toEqual({ args: ['--mlock'], reason: 'accepted' });
  expect(chooseLockArgs({ lockAllowed: true, accepted: [] })).toEqual({ args: [], reason: 'none-accepted' });
  expect(chooseLockArgs({ lockAllowed: false, accepted: [loadMode] })).toEqual({ args: [], reason: 'not-allowed' });
});

test('the memory lock limit must cover the model and 64 MiB more', () => {
  const model = 700 * 1024 * 1024;
  const exact = (model + 64 * 1024 * 1024) / 1024;
  expect(memlockCovers(exact, model)).toBe(true);
  expect(memlockCovers(exact - 1, model)).toBe(false);
  expect(memlockCovers('unlimited', 2 ** 40)).toBe(true);
});
