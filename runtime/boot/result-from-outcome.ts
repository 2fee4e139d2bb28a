/**
 * The boot's result (result.ts: boot-result.json) from what a boot came to
 * (main.ts BootOutcome): the phases from their start, done and failed
 * events, the build, the model and the cache writes from the facts the
 * phases recorded (core/log.ts BootEventData), the reports from the report
 * phase's output. Pure.
 *
 * result.ts is imported for its types only: its zod schema stays out of the
 * boot's bundle (test/app/layering.test.ts).
 */
import type { BootEvent, BootEventData } from './core/log';
import type { BootOutcome } from './main';
import type { HookActionOutcome, ReportOutcome } from './ports';
import type { BootResult } from './result';

/** result.ts's BOOT_RESULT_SCHEMA_VERSION, which a value import would bring zod with (a test keeps them equal). */
export const RESULT_SCHEMA_VERSION = 2;

type PhaseName = BootResult['phases'][number]['name'];
type PhaseEntry = BootResult['phases'][number];
type Report = NonNullable<BootResult['report']>;

/** The phase the configuration is read in: it starts with the program, and main records its end. */
const CONFIG_PHASE: PhaseName = 'config';
/** Reports to AWS: listed in aws mode only, the one mode that runs it. */
const REPORT_PHASE: PhaseName = 'report';

/** The data of the events of one kind, oldest first, from the phase given where one is. */
function dataOf<K extends BootEventData['kind']>(events: readonly BootEvent[], kind: K, phase?: string): Extract<BootEventData, { kind: K }>[] {
  return events
    .filter((e) => e.data?.kind === kind && (phase === undefined || e.phase === phase))
    .map((e) => e.data as Extract<BootEventData, { kind: K }>);
}

/** The phases in the order they started: each from its start event (config from the program's start) to its done or failed event. */
function phasesOf(outcome: BootOutcome): PhaseEntry[] {
  const phases: PhaseEntry[] = [];
  const open = new Map<string, number>([[CONFIG_PHASE, outcome.startedMs]]);
  for (const e of outcome.events) {
    if (e.event === 'start') {
      open.set(e.phase, e.atMs);
    } else if (e.event === 'done' || e.event === 'failed') {
      // A failure outside a phase that started (main's, for an unexpected error) opens it where it failed.
      const startedAtMs = open.get(e.phase) ?? e.atMs;
      open.delete(e.phase);
      phases.push({ name: e.phase as PhaseName, startedAtMs, endedAtMs: e.atMs, outcome: e.event === 'done' ? 'ok' : 'failed' });
    }
  }
  const { end } = outcome;
  if (!end.ok && !phases.some((p) => p.name === end.failure.phase && p.outcome === 'failed')) {
    // A failure no event recorded (one thrown between phases, in the name of the next): at the phase's start if it had one, else where the boot ended.
    const at = open.get(end.failure.phase) ?? outcome.events.find((e) => e.phase === REPORT_PHASE)?.atMs ?? outcome.endedMs;
    const reported = phases.findIndex((p) => p.name === REPORT_PHASE);
    phases.splice(reported < 0 ? phases.length : reported, 0, { name: end.failure.phase as PhaseName, startedAtMs: at, endedAtMs: at, outcome: 'failed' });
  }
  // Phases run one after another, so the order they ended in is the order they started in.
  return outcome.mode === 'aws' ? phases : phases.filter((p) => p.name !== REPORT_PHASE);
}

/** The build, once the build phase named it: where it came from, the cache version taken, the cached versions discarded. */
function buildOf(events: readonly BootEvent[]): BootResult['build'] {
  const named = dataOf(events, 'build').pop();
  if (named === undefined) return null;
  const taken = named.from === 'cache' ? dataOf(events, 'cache-take', 'build').pop() : undefined;
  return {
    key: named.key,
    from: named.from,
    cacheVersion: taken === undefined ? null : { ...taken.version },
    discarded: dataOf(events, 'cache-discard', 'build').map((d) => ({ version: d.version, problem: d.problem })),
  };
}

/** Where the model came from, once the model phase started. */
function modelOf(events: readonly BootEvent[]): BootResult['model'] {
  if (!events.some((e) => e.phase === 'model' && e.event === 'start')) return null;
  return {
    source: dataOf(events, 'model-source').pop()?.from ?? null,
    quantized: dataOf(events, 'model-quantized').pop()?.from ?? null,
  };
}

function hookOf(h: HookActionOutcome, result: Report['lifecycleActions'][number]['result']): Report['lifecycleActions'][number] {
  const outcome = h.outcome.kind === 'done' ? 'completed' : h.outcome.kind === 'refused' ? 'refused' : 'failed';
  return { hook: h.hook, result, outcome, atMs: h.atMs };
}

/** A signal the reporter skipped was not sent: only a local boot, which reports nothing, has none to send. */
function signalOutcome(o: ReportOutcome): Report['signal']['outcome'] {
  return o.kind === 'done' ? 'sent' : o.kind === 'refused' ? 'refused' : 'failed';
}

/** Null where there was nothing to count: a boot that serves, or no metric configured. */
function metricOutcome(o: ReportOutcome | undefined): Report['failureMetric'] {
  if (o === undefined || o.kind === 'skipped') return null;
  return o.kind === 'done' ? 'counted' : 'failed';
}

/** What the boot told AWS; null in local mode, and where the boot ended before it could report. */
function reportOf(outcome: BootOutcome): BootResult['report'] {
  const { report } = outcome;
  if (outcome.mode !== 'aws' || report === undefined) return null;
  return {
    lifecycleActions: report.lifecycleActions.map((h) => hookOf(h, report.result)),
    signal: { status: report.status, outcome: signalOutcome(report.signal) },
    failureMetric: metricOutcome(report.failureMetric),
  };
}

/** The result of a boot that ran (its configuration was read). */
export function bootResultFromOutcome(outcome: BootOutcome): BootResult {
  const { end, events } = outcome;
  return {
    schemaVersion: RESULT_SCHEMA_VERSION as BootResult['schemaVersion'],
    mode: outcome.mode,
    role: outcome.role,
    startedAtMs: outcome.startedMs,
    endedAtMs: outcome.endedMs,
    deadlineAtMs: outcome.deadlineAtMs,
    phases: phasesOf(outcome),
    failure: end.ok ? null : { phase: end.failure.phase as PhaseName, reason: end.failure.reason },
    build: buildOf(events),
    model: modelOf(events),
    cacheWrites: dataOf(events, 'cache-write').map((w) => ({ object: w.object, outcome: w.outcome })),
    published: dataOf(events, 'published').map((p) => ({ what: p.what, object: p.object, versionId: p.versionId, sha256: p.sha256 })),
    report: reportOf(outcome),
  };
}
