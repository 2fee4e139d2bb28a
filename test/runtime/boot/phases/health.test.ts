import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { HEALTH_POLL_MS, healthPhase, type HealthPhaseInput, httpHealthProbe } from '../../../../runtime/boot/phases/health';
import { FakeClock } from '../support/fake-clock';
import { FakeSupervisor } from '../support/fake-supervisor';
import { failureOf } from '../support/phase-failure';

/** A health wait on a fake clock whose probe answers from `answers` (the last one repeated), one per poll. */
function setup(answers: (number | undefined)[], opts: { timeout?: number; deadlineSeconds?: number; elapsedSeconds?: number } = {}) {
  const clock = new FakeClock();
  const deadline = new Deadline(clock.now(), opts.deadlineSeconds ?? 3600, clock);
  clock.advance((opts.elapsedSeconds ?? 0) * 1000);
  const supervisor = new FakeSupervisor();
  supervisor.running = true;
  const lines: string[] = [];
  const events: string[] = [];
  let probes = 0;
  const input: HealthPhaseInput = {
    healthTimeoutSeconds: opts.timeout ?? 600,
    deadline,
    clock,
    probe: async () => answers[Math.min(probes++, answers.length - 1)],
    supervisor,
    log: (m) => lines.push(m),
    record: (e, d) => events.push(`${e}: ${d}`),
  };
  return { clock, supervisor, lines, events, input, probes: () => probes };
}


describe('waiting for /health', () => {
  test('ends once /health answers 200, saying how long it took', async () => {
    const { input, lines, events, clock, probes } = setup([undefined, 503, 503, 200]);
    await expect(healthPhase.run(input)).resolves.toBeUndefined();
    expect(probes()).toBe(4);
    expect(clock.sleeps).toEqual([HEALTH_POLL_MS, HEALTH_POLL_MS, HEALTH_POLL_MS]);
    expect(lines).toEqual(['GET /health answered 200 after 1.500 s']);
    expect(events).toEqual(['healthy: 1.500 s']);
  });

  test('a server that exits fails the phase at once, with the supervisor\'s reason', async () => {
    const { input, supervisor, clock } = setup([undefined]);
    // The server dies after its second answer.
    let polls = 0;
    const probe = input.probe;
    const f = await failureOf(
      healthPhase.run({
        ...input,
        probe: async () => {
          if (++polls === 2) supervisor.exit('server.log: error: failed to load model');
          return probe();
        },
      }),
    );
    expect(f.phase).toBe('health');
    expect(f.reason).toBe('llama-server exited before it was healthy: server.log: error: failed to load model');
    expect(clock.sleeps).toEqual([HEALTH_POLL_MS]);
  });

  test('a server that answers 200 as it is noticed gone still counts as healthy (the answer is asked first)', async () => {
    const { input, supervisor } = setup([200]);
    supervisor.exit('gone');
    await expect(healthPhase.run(input)).resolves.toBeUndefined();
    expect(supervisor.calls).not.toContain('exitReason');
  });

  test('a server never healthy fails after the health timeout, with the last status', async () => {
    const { input, clock, events } = setup([undefined, 503], { timeout: 10 });
    const start = clock.now();
    const f = await failureOf(healthPhase.run(input));
    expect(f.reason).toBe('llama-server not healthy within 10 s (last /health status 503)');
    // The first poll past the timeout gives up: no wait beyond it but the last half second.
    expect(clock.now() - start).toBe(10_000 + HEALTH_POLL_MS);
    expect(events).toEqual([]);
  });

  test('no answer at all is quoted as curl writes it', async () => {
    const { input } = setup([undefined], { timeout: 1 });
    expect((await failureOf(healthPhase.run(input))).reason).toBe('llama-server not healthy within 1 s (last /health status 000)');
  });

  test('the boot deadline ends the wait where it comes before the health timeout', async () => {
    const { input, clock } = setup([503], { timeout: 600, deadlineSeconds: 900, elapsedSeconds: 880 });
    const start = clock.now();
    const f = await failureOf(healthPhase.run(input));
    expect(f.reason).toBe('llama-server not healthy within the boot deadline of 900 s (20 s left for it) (last /health status 503)');
    expect(clock.now() - start).toBe(20_000 + HEALTH_POLL_MS);
  });
});

describe('the HTTP probe', () => {
  let server: Server;
  let status = 503;
  let hang = false;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (hang) return;
      res.statusCode = req.url === '/health' ? status : 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  });

  test('gives the status /health answered', async () => {
    status = 503;
    await expect(httpHealthProbe(port)()).resolves.toBe(503);
    status = 200;
    await expect(httpHealthProbe(port)()).resolves.toBe(200);
  });

  test('gives undefined where nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(httpHealthProbe(free)()).resolves.toBeUndefined();
  });

  test('gives undefined where the answer does not come in time', async () => {
    hang = true;
    await expect(httpHealthProbe(port, 200)()).resolves.toBeUndefined();
    hang = false;
  });
});
