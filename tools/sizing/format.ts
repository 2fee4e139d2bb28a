/** The sizing result as a Markdown table plus the notes that say what each number rests on. */
import { GIB, PROMPT_CACHE_MAX_MIB, formatGiB } from '../../lib/sizing/memory-fit';
import { PRICE_REGION } from './data';
import type { SizingRequest, SizingResult } from './plan';

const money = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

export function formatSizing(req: SizingRequest, result: SizingResult, top: number): string {
  const m = req.model;
  const spot = req.spotDiscountPercent !== undefined;
  const rows = top > 0 ? result.rows.slice(0, top) : result.rows;
  const lines = [
    `Model ${m.id}: ${m.architecture.displayName}, ${m.quantization}, ${formatGiB(m.sizeBytes)} (${m.sizeBasis === 'catalog' ? 'catalog file size' : 'derived: parameters x bits per weight'})`,
    `Target p90 TPOT ${req.targetTpotMs} ms; ${req.inputTokens} prompt + ${req.outputTokens} output tokens per request; ${req.contextPerSlot} context tokens per slot` +
      (req.rps !== undefined ? `; ${req.rps} requests/s` : ''),
    '',
    `| Instance | vCPU | GiB | Bound tok/s | Est. tok/s (1 stream) | % of bound | Basis | Slots | Memory at slots (GiB) | Prompt cache (MiB) | TPOT at slots (ms) | Idle TTFT (ms) | Prefill assumed (tok/s) | Out tok/s per instance | Req/s per instance | ${
      req.rps !== undefined ? 'Instances | Fleet $/h | ' : ''
    }$/h each | $ per M output tokens |${spot ? ` Spot $/h each${req.rps !== undefined ? ' | Spot fleet $/h' : ''} | Spot $ per M output tokens |` : ''}`,
    `|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|${req.rps !== undefined ? '---|---|' : ''}---|---|${spot ? `---|${req.rps !== undefined ? '---|' : ''}---|` : ''}`,
  ];
  for (const r of rows) {
    const e = r.estimate;
    lines.push(
      `| ${r.instance.instanceType} | ${r.instance.vcpus} | ${r.instance.memoryGiB} | ${e.boundTps.toFixed(0)} | ${e.singleStreamTps.toFixed(1)} | ` +
        `${((e.singleStreamTps / e.boundTps) * 100).toFixed(0)}% | ${e.basis} | ${r.slots} | ${(r.memory.totalBytes / GIB).toFixed(1)} | ${r.promptCacheMiB} | ` +
        `${r.tpotMsAtSlots.toFixed(0)} | ${r.ttftMsIdle.toFixed(0)} | ${r.prefillTokensPerS.toFixed(0)} | ` +
        `${r.instanceOutputTps.toFixed(0)} | ${r.capacityRps.toFixed(2)} | ` +
        (r.instances !== undefined ? `${r.instances} | ${money(r.fleetPerHour!)} | ` : '') +
        `${money(r.pricePerHour)} | ${money(r.dollarsPerMillionOutputTokens)} |` +
        (r.spot ? ` ${money(r.spot.pricePerHour)} |${r.spot.fleetPerHour !== undefined ? ` ${money(r.spot.fleetPerHour)} |` : ''} ${money(r.spot.dollarsPerMillionOutputTokens)} |` : ''),
    );
  }
  if (rows.length < result.rows.length) lines.push('', `${result.rows.length - rows.length} more rows: --top 0 lists all.`);
  lines.push(
    '',
    `Left out: ${result.excluded.memory} types too small for the model and one slot, ${result.excluded.latency} too slow for the target even with one request.`,
    '',
    'Bound: peak DRAM bandwidth of the socket / bytes read per token (weights + KV cache); nothing generates faster. ' +
      'Basis: published or measured = a figure for this exact instance and model (data.ts); fitted = the generation\'s model fitted to published figures; ' +
      'derived = no published figure for the generation (see docs/sizing-data.md). Estimates assume no flash attention. ' +
      `Idle TTFT assumes the prefill rate beside it: a prompt token costs the arithmetic of a generated one divided by --prefill-speedup (${req.prefillSpeedup}; 1 is conservative), ` +
      'with no prompt cache hit; a prompt whose prefix the server already holds (a repeated system prompt) skips that part. ' +
      'Memory at slots: the kit\'s fit check (model + KV cache + compute buffers); the prompt cache (llama-server --cache-ram) gets what that leaves of the usable memory, ' +
      `up to ${PROMPT_CACHE_MAX_MIB} MiB, as the kit sets it. Prices: ${PRICE_REGION} Linux on-demand; c7g, c8g and r8g from a cited 2024 listing, the other families approximate.`,
  );
  if (spot) {
    lines.push('', `Spot: the on-demand prices less your --spot-discount of ${req.spotDiscountPercent}%, every instance on Spot; the kit has no Spot prices of its own `
      + '(they vary by type, zone and time). An on-demand base (onDemandBaseCapacity) is paid at the on-demand price.');
  }
  const generations = new Set(rows.map((r) => r.instance.generationSpec.generation));
  if (req.types && generations.size > 1) {
    lines.push('Several generations: one group takes types of one Graviton generation for now (one llama.cpp build serves it).');
  }
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.estimate.how)) continue;
    seen.add(r.estimate.how);
    lines.push(`- ${r.instance.generationSpec.name} (${r.estimate.basis}): ${r.estimate.how}`);
  }
  return lines.join('\n');
}
