/**
 * The health phase: the boot succeeds once llama-server answers GET /health
 * with 200, which it does once the model is loaded. It fails as soon as the
 * server is gone (with the supervisor's reason: the server's last words,
 * the unit's state), or when the health timeout or the boot's deadline,
 * whichever is first, is reached.
 */
import { request } from 'node:http';
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { secondsText } from '../core/log';
import { type Phase, PhaseFailure } from '../core/phase';
import type { Supervisor } from '../ports';

export const HEALTH_PHASE = 'health';

/** How often /health is asked. */
export const HEALTH_POLL_MS = 500;
/** How long one request may take (curl --max-time 2). */
export const HEALTH_REQUEST_TIMEOUT_MS = 2000;

/** Asks /health once: the HTTP status, or undefined where nothing answered in time. */
export type HealthProbe = () => Promise<number | undefined>;

/** GET http://127.0.0.1:PORT/health, given up after HEALTH_REQUEST_TIMEOUT_MS. */
export function httpHealthProbe(port: number, timeoutMs: number = HEALTH_REQUEST_TIMEOUT_MS): HealthProbe {
  return () =>
    new Promise((resolve) => {
      let settled = false;
      const done = (status: number | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(status);
      };
      const req = request({ host: '127.0.0.1', port, path: '/health', method: 'GET', agent: false }, (res) => {
        res.resume();
        done(res.statusCode);
      });
      const timer = setTimeout(() => {
        req.destroy();
        done(undefined);
      }, timeoutMs);
      req.on('error', () => done(undefined));
      req.end();
    });
}

export interface HealthPhaseInput {
  /** GLLM_HEALTH_TIMEOUT_SECONDS. */
  readonly healthTimeoutSeconds: number;
  /** The boot's deadline: the wait ends at it if that comes first. */
  readonly deadline: Pick<Deadline, 'secondsLeft' | 'seconds'>;
  readonly clock: Clock;
  readonly probe: HealthProbe;
  readonly supervisor: Pick<Supervisor, 'alive' | 'exitReason'>;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an outcome for the boot's result (BootLog.record, this phase's). */
  readonly record: (event: string, detail: string) => void;
}

/** The status as the failure quotes it: curl's 000 for no answer. */
const statusText = (s: number | undefined) => (s === undefined ? '000' : String(s));

export const healthPhase: Phase<HealthPhaseInput> = {
  name: HEALTH_PHASE,
  async run(input) {
    const left = input.deadline.secondsLeft();
    const byDeadline = left < input.healthTimeoutSeconds;
    const timeoutSeconds = byDeadline ? left : input.healthTimeoutSeconds;
    const what = byDeadline
      ? `within the boot deadline of ${input.deadline.seconds} s (${left} s left for it)`
      : `within ${input.healthTimeoutSeconds} s`;
    const start = input.clock.now();
    for (;;) {
      const status = await input.probe();
      if (status === 200) {
        const took = `${secondsText(input.clock.now() - start)} s`;
        input.log(`GET /health answered 200 after ${took}`);
        input.record('healthy', took);
        return;
      }
      if (!(await input.supervisor.alive())) {
        throw new PhaseFailure(HEALTH_PHASE, `llama-server exited before it was healthy: ${await input.supervisor.exitReason()}`);
      }
      if (input.clock.now() - start > timeoutSeconds * 1000) {
        throw new PhaseFailure(HEALTH_PHASE, `llama-server not healthy ${what} (last /health status ${statusText(status)})`);
      }
      await input.clock.sleep(HEALTH_POLL_MS);
    }
  },
};
