/**
 * `npm run sizing -- --model ID --target-tpot-ms 100 --rps 2`: the command.
 * Exit codes: 0 done, 1 an internal failure, 2 bad flags or an impossible request.
 */
import { usageErrors } from '../../lib/command-line/flags';
import { formatSizing } from './format';
import { parseSizingArgs, USAGE } from './options';
import { planSizing, SizingError, type SizingRequest, type SizingResult } from './plan';

/** The plan, or an error naming the flag to change when nothing qualifies. */
export function sizeOrExplain(req: SizingRequest): SizingResult {
  const result = planSizing(req);
  if (result.rows.length === 0) {
    if (!result.fastest) {
      throw new SizingError(
        `--model: ${req.model.id} does not fit in memory on any priced Graviton instance with --context ${req.contextPerSlot} (try a smaller quantization or context)`,
      );
    }
    throw new SizingError(
      `--target-tpot-ms: no instance generates ${req.model.id} within ${req.targetTpotMs} ms per token, even with one request; ` +
        `the fastest estimate is ${result.fastest.tpotMs.toFixed(0)} ms on ${result.fastest.instanceType}. Raise the target or choose a smaller model.`,
    );
  }
  return result;
}

export function main(argv: readonly string[]): number {
  const parsed = parseSizingArgs(argv);
  if ('help' in parsed) {
    console.log(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('sizing', parsed.errors));
    return 2;
  }
  const { request, top, json } = parsed.options;
  try {
    const result = sizeOrExplain(request);
    if (json) {
      const rows = result.rows.map((r) => ({
        instanceType: r.instance.instanceType,
        vcpus: r.instance.vcpus,
        memoryGiB: r.instance.memoryGiB,
        boundTokensPerS: r.estimate.boundTps,
        singleStreamTokensPerS: r.estimate.singleStreamTps,
        basis: r.estimate.basis,
        how: r.estimate.how,
        slots: r.slots,
        tpotMsAtSlots: r.tpotMsAtSlots,
        ttftMsIdle: r.ttftMsIdle,
        capacityRps: r.capacityRps,
        instanceOutputTokensPerS: r.instanceOutputTps,
        instances: r.instances ?? null,
        pricePerHour: r.pricePerHour,
        priceBasis: r.priceBasis,
        fleetPerHour: r.fleetPerHour ?? null,
        dollarsPerMillionOutputTokens: r.dollarsPerMillionOutputTokens,
        spot: r.spot ?? null,
      }));
      console.log(JSON.stringify({ model: request.model, request: { ...request, model: request.model.id }, excluded: result.excluded, rows }, null, 2));
    } else {
      console.log(formatSizing(request, result, top));
    }
    return 0;
  } catch (err) {
    if (err instanceof SizingError) {
      console.error(`sizing: ${err.message}`);
      return 2;
    }
    // Not the user's input: say what happened in one line rather than a stack.
    console.error(`sizing: could not plan: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
