/**
 * Drives the endpoint at one load level: N closed-loop clients (each sends
 * its next request when the last one ends), or open-loop arrivals at a fixed
 * rate (requests are sent on schedule whether or not earlier ones finished,
 * which is how independent users behave). Each level stops issuing requests
 * at its count or its duration, whichever comes first, and waits for those
 * in flight.
 */
import type { RequestResult } from './request';
import type { LoadLevel } from './stats';
import { seededRandom } from './workload';

export type Send = () => Promise<RequestResult>;

export interface LevelBounds {
  /** Most requests to send at this level. */
  readonly requests: number;
  /** Stop issuing new requests after this many seconds. */
  readonly durationS: number;
}

export interface RateOptions {
  /** Poisson arrivals (exponential gaps) or evenly spaced ones. */
  readonly arrival: 'poisson' | 'uniform';
  /** Open-loop arrivals wait for a free place beyond this many requests in flight. */
  readonly maxInFlight: number;
  readonly seed: number;
}

export interface LevelRun {
  readonly results: RequestResult[];
  /** Open loop only: arrivals that had to wait because maxInFlight requests were out. */
  readonly delayedArrivals: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export async function runLevel(
  level: LoadLevel,
  bounds: LevelBounds,
  send: Send,
  onResult: (r: RequestResult) => void = () => undefined,
  rate?: RateOptions,
  clock: () => number = () => performance.now(),
): Promise<LevelRun> {
  return level.kind === 'concurrency'
    ? { results: await closedLoop(level.value, bounds, send, onResult, clock), delayedArrivals: 0 }
    : openLoop(level.value, bounds, send, onResult, rate ?? { arrival: 'poisson', maxInFlight: 256, seed: 1 }, clock);
}

async function closedLoop(
  clients: number,
  bounds: LevelBounds,
  send: Send,
  onResult: (r: RequestResult) => void,
  clock: () => number,
): Promise<RequestResult[]> {
  const deadline = clock() + bounds.durationS * 1000;
  const results: RequestResult[] = [];
  let issued = 0;
  const client = async () => {
    while (issued < bounds.requests && clock() < deadline) {
      issued++;
      const r = await send();
      results.push(r);
      onResult(r);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return results;
}

async function openLoop(
  perSecond: number,
  bounds: LevelBounds,
  send: Send,
  onResult: (r: RequestResult) => void,
  rate: RateOptions,
  clock: () => number,
): Promise<LevelRun> {
  const rand = seededRandom(rate.seed);
  const start = clock();
  const deadline = start + bounds.durationS * 1000;
  const results: RequestResult[] = [];
  const pending = new Set<Promise<void>>();
  let delayedArrivals = 0;
  let due = start;
  for (let i = 0; i < bounds.requests; i++) {
    // Exponential gaps give a Poisson process: bursts and lulls, as real traffic has.
    const gapS = rate.arrival === 'poisson' ? -Math.log(1 - rand()) / perSecond : 1 / perSecond;
    if (i > 0) due += gapS * 1000;
    if (due >= deadline) break;
    await sleep(due - clock());
    if (pending.size >= rate.maxInFlight) {
      delayedArrivals++;
      while (pending.size >= rate.maxInFlight) await Promise.race(pending);
    }
    const p: Promise<void> = send().then((r) => {
      results.push(r);
      onResult(r);
      pending.delete(p);
    });
    pending.add(p);
  }
  await Promise.all(pending);
  return { results, delayedArrivals };
}
