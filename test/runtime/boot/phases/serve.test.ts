import { PhaseFailure } from '../../../../runtime/boot/core/phase';
import { type MetadataCheckOutcome, servePhase, type ServePhaseInput } from '../../../../runtime/boot/phases/serve';
import { serverArgs } from '../../../../runtime/boot/server/args';
import { FakeSupervisor } from '../support/fake-supervisor';

const settings = {
  modelPath: '/var/lib/graviton-llm/models/m.gguf',
  host: '0.0.0.0',
  port: 8080,
  parallelSlots: 2,
  contextPerSlot: 4096,
  promptCacheMiB: 512,
  threads: 4,
};

function setup(supervisor: FakeSupervisor, metadata?: MetadataCheckOutcome) {
  const lines: string[] = [];
  const events: string[] = [];
  const input: ServePhaseInput = {
    llamaServer: '/opt/graviton-llm/llama.cpp/k/bin/llama-server',
    settings,
    lockArgs: ['--mlock'],
    apiKeyFile: '/etc/graviton-llm/api-key',
    buildDir: '/opt/graviton-llm/llama.cpp/k',
    modelDir: '/var/lib/graviton-llm/models',
    serverLog: '/var/log/graviton-llm/server.log',
    supervisor,
    ...(metadata ? { metadata: { checkMetadataDenied: async () => metadata } } : {}),
    log: (m) => lines.push(m),
    record: (e, d) => events.push(`${e}: ${d}`),
  };
  return { input, lines, events };
}

test('starts the server through the supervisor with the served argument vector, the key file the supervisor\'s to choose', async () => {
  const supervisor = new FakeSupervisor();
  const { input, lines, events } = setup(supervisor);
  await servePhase.run(input);
  expect(events).toEqual([]);
  expect(supervisor.calls).toEqual(['start']);
  const [launch] = supervisor.launches;
  expect(launch).toMatchObject({
    program: input.llamaServer,
    apiKeyFile: '/etc/graviton-llm/api-key',
    readOnlyPaths: ['/opt/graviton-llm/llama.cpp/k', '/var/lib/graviton-llm/models'],
    logFile: '/var/log/graviton-llm/server.log',
  });
  expect(launch.args('%d/api-key')).toEqual(serverArgs({ ...settings, keyFile: '%d/api-key', lockArgs: ['--mlock'] }));
  expect(launch.args('/k')).toContain('/k');
  expect(lines).toEqual([]);
});

test('a supervisor that cannot start the server fails the phase with its reason', async () => {
  const { input } = setup(new FakeSupervisor({ ok: false, detail: 'step serve: systemctl exit 1' }));
  const e = await servePhase.run(input).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(PhaseFailure);
  expect(e).toMatchObject({ phase: 'serve', reason: 'could not start llama-server: step serve: systemctl exit 1' });
});

test('where the metadata service is checked, an enforced filter is logged', async () => {
  const { input, lines, events } = setup(new FakeSupervisor(), { enforced: true });
  await servePhase.run(input);
  expect(events).toEqual(['metadata-service: denied']);
  expect(lines).toEqual(["llama-server's unit cannot reach the instance metadata service (IPAddressDeny enforced)"]);
});

test.each([
  ['200', 'the metadata service answered 200'],
  ['', 'the metadata service answered nothing'],
])('an unenforced filter (answer %j) is a warning, not a failure', async (answered, says) => {
  const { input, lines, events } = setup(new FakeSupervisor(), { enforced: false, answered });
  await expect(servePhase.run(input)).resolves.toBeUndefined();
  expect(events).toEqual([`metadata-service: reachable (${says.replace('the metadata service ', '')})`]);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^WARNING: systemd does not enforce IPAddressDeny/);
  expect(lines[0]).toContain(says);
});

test('a server that could not start is not checked', async () => {
  let checked = false;
  const { input } = setup(new FakeSupervisor({ ok: false, detail: 'x' }));
  await servePhase.run({ ...input, metadata: { checkMetadataDenied: async () => ((checked = true), { enforced: true }) } }).catch(() => undefined);
  expect(checked).toBe(false);
});
