/**
 * What llama-server's Prometheus /metrics (served with --metrics, server/args.ts)
 * says of its load: the requests it is generating for (busy slots) and the
 * ones it holds waiting for a slot. Both are requests a client is waiting
 * on, so the drain waits for both. (/slots would say more, but the kit
 * serves with --no-slots.)
 *
 * Pure: the adapter (adapters/server-metrics.ts) fetches the text.
 */

/** The gauges of requests in flight, as llama-server names them. */
export const IN_FLIGHT_GAUGES = ['llamacpp:requests_processing', 'llamacpp:requests_deferred'] as const;

/** The sum of the in-flight gauges, or undefined where the text lacks one (not llama-server's /metrics). */
export function requestsInFlight(text: string): number | undefined {
  let total = 0;
  for (const gauge of IN_FLIGHT_GAUGES) {
    const line = text.split('\n').find((l) => l.startsWith(`${gauge} `) || l.startsWith(`${gauge}{`));
    const value = line === undefined ? NaN : Number(line.trim().split(/\s+/)[1]);
    if (!Number.isFinite(value) || value < 0) return undefined;
    total += value;
  }
  return total;
}
