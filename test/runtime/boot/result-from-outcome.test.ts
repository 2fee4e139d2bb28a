/**
 * The boot's result from hand-made outcomes: every result is checked by the
 * schema (result.ts parseBootResult), so a field the module gets wrong, or a
 * result whose fields disagree, fails here as it would fail a reader.
 */
import type { BootEvent, BootEventData } from '../../../runtime/boot/core/log';
import type { BootOutcome } from '../../../runtime/boot/main';
import type { HookActionOutcome, ReportOutcome } from '../../../runtime/boot/ports';
import type { ReportPhaseOutput } from '../../../runtime/boot/phases/report';
import { bootResultFromOutcome, RESULT_SCHEMA_VERSION } from '../../../runtime/boot/result-from-outcome';
import { BOOT_RESULT_SCHEMA_VERSION, type BootResult, parseBootResult } from '../../../runtime/boot/result';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 0);
const KEY = '0123456789abcdef0123456789abcdef';
const BUILD_REL = `builds/${KEY}.tar.gz`;
const MODEL_REL = `models/${'a'.repeat(64)}.gguf`;
const QUANTIZED_REL = `quantized/${'a'.repeat(64)}-Q4_0-llama.cpp-b1.gguf`;

/** A boot's events as its phases record them, each 10 ms after the last. */
class Boot {
  private now = T0;
  readonly events: BootEvent[] = [];

  at(): number {
    return this.now;
  }

  record(phase: string, event: string, data?: BootEventData): this {
    this.now += 10;
    this.events.push({ phase, event, atMs: this.now, ...(data ? { data } : {}) });
    return this;
  }

  /** A phase run by runPhase: start, what `during` records, then done (or failed with `reason`). */
  phase(name: string, during: (b: this) => void = () => undefined, reason?: string): this {
    this.record(name, 'start');
    during(this);
    return reason === undefined ? this.record(name, 'done') : this.record(name, 'failed');
  }

  /** How it ended: the events as they are, the report phase's output where it reported (main records its start and done). */
  outcome(mode: 'aws' | 'local', failure?: { phase: string; reason: string }, report?: ReportPhaseOutput, role: 'fleet' | 'builder' = 'fleet'): BootOutcome {
    if (report !== undefined) this.record('report', 'start').record('report', 'done');
    return {
      mode,
      role,
      deadlineAtMs: T0 + 3600_000,
      end: failure === undefined ? { ok: true } : { ok: false, failure },
      report,
      events: this.events,
      startedMs: T0,
      endedMs: this.now + 5,
    };
  }
}

/** The result, through JSON and the schema, as a reader gets it. */
function resultOf(outcome: BootOutcome): BootResult {
  return parseBootResult(JSON.stringify(bootResultFromOutcome(outcome)));
}

const done: ReportOutcome = { kind: 'done' };
const refused: ReportOutcome = { kind: 'refused', detail: 'ValidationError: no active lifecycle action' };
const failed: ReportOutcome = { kind: 'failed', detail: 'exit 255: Could not connect' };

function report(ok: boolean, hooks: readonly HookActionOutcome[], signal: ReportOutcome, failureMetric?: ReportOutcome): ReportPhaseOutput {
  return {
    failureMetric,
    lifecycleAction: hooks[0]?.outcome ?? { kind: 'skipped' },
    lifecycleActions: hooks,
    signal,
    status: ok ? 'SUCCESS' : 'FAILURE',
    result: ok ? 'CONTINUE' : 'ABANDON',
  };
}

/** The phases before `upTo` (not included; all of them for 'none'), each ok, as a boot in `mode` runs them, with the build compiled and the model downloaded. */
function upTo(b: Boot, mode: 'aws' | 'local', upTo: string): Boot {
  b.record('config', 'done');
  const order = ['deps', ...(mode === 'aws' ? ['agent'] : []), 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'];
  for (const name of upTo === 'none' ? order : order.slice(0, order.indexOf(upTo))) {
    b.phase(name, (p) => {
      if (name === 'build') {
        p.record('build', 'build-lookup', { kind: 'build', key: KEY, from: 'cache' });
        p.record('build', 'build-compile', { kind: 'build', key: KEY, from: 'compile' });
        p.record('build', 'cache-write', { kind: 'cache-write', object: BUILD_REL, outcome: 'written' });
      }
      if (name === 'model') {
        p.record('model', 'cache-miss', { kind: 'model-source', from: 'download' });
        p.record('model', 'cache-write', { kind: 'cache-write', object: MODEL_REL, outcome: 'written' });
      }
    });
  }
  return b;
}

test('the schema version is result.ts\'s (the module may not import its value)', () => {
  expect(RESULT_SCHEMA_VERSION).toBe(BOOT_RESULT_SCHEMA_VERSION);
});

test('a local boot that serves: every phase ok in order, config from the program\'s start, the build compiled, the model downloaded, both cached, no report', () => {
  const b = upTo(new Boot(), 'local', 'none');
  // The report phase runs in local mode too (a LocalReporter that skips everything); a local result lists it not.
  const r = resultOf(b.outcome('local', undefined, report(true, [], { kind: 'skipped' })));
  expect(r.phases.map((p) => [p.name, p.outcome])).toEqual(
    ['config', 'deps', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'].map((n) => [n, 'ok']),
  );
  expect(r.phases[0]).toEqual({ name: 'config', startedAtMs: T0, endedAtMs: T0 + 10, outcome: 'ok' });
  expect(r.phases[1]).toEqual({ name: 'deps', startedAtMs: T0 + 20, endedAtMs: T0 + 30, outcome: 'ok' });
  expect(r).toMatchObject({
    schemaVersion: 2, mode: 'local', role: 'fleet', startedAtMs: T0, deadlineAtMs: T0 + 3600_000, failure: null,
    build: { key: KEY, from: 'compile', cacheVersion: null, discarded: [] },
    model: { source: 'download', quantized: null },
    cacheWrites: [{ object: BUILD_REL, outcome: 'written' }, { object: MODEL_REL, outcome: 'written' }],
    published: [],
    report: null,
  });
  expect(r.endedAtMs).toBeGreaterThan(r.phases[r.phases.length - 1].endedAtMs);
});

test('an aws boot that serves from the cache: the version taken and the ones discarded, the model quantized earlier, the report phase last', () => {
  const b = new Boot().record('config', 'done')
    .phase('deps').phase('agent').phase('cpu')
    .phase('build', (p) => p
      .record('build', 'build-lookup', { kind: 'build', key: KEY, from: 'cache' })
      .record('build', 'cache-discard', { kind: 'cache-discard', object: BUILD_REL, version: 'v1', problem: 'bin/llama-server does not run' })
      .record('build', 'cache-hit', { kind: 'cache-take', object: BUILD_REL, version: { id: 'v2', position: 2, of: 3 } }))
    .phase('model', (p) => p.record('model', 'model-reused', { kind: 'model-quantized', from: 'installed' }))
    .phase('api-key').phase('preflight').phase('serve').phase('health');
  const hooks: HookActionOutcome[] = [{ hook: 'launch', outcome: done, atMs: T0 + 500 }, { hook: 'launch-v1', outcome: refused, atMs: T0 + 600 }];
  const r = resultOf(b.outcome('aws', undefined, report(true, hooks, done)));
  expect(r.phases.map((p) => p.name)).toEqual(['config', 'deps', 'agent', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health', 'report']);
  expect(r.phases.every((p) => p.outcome === 'ok')).toBe(true);
  expect(r.build).toEqual({ key: KEY, from: 'cache', cacheVersion: { id: 'v2', position: 2, of: 3 }, discarded: [{ version: 'v1', problem: 'bin/llama-server does not run' }] });
  expect(r.model).toEqual({ source: null, quantized: 'installed' });
  expect(r.cacheWrites).toEqual([]);
  expect(r.report).toEqual({
    lifecycleActions: [
      { hook: 'launch', result: 'CONTINUE', outcome: 'completed', atMs: T0 + 500 },
      { hook: 'launch-v1', result: 'CONTINUE', outcome: 'refused', atMs: T0 + 600 },
    ],
    signal: { status: 'SUCCESS', outcome: 'sent' },
    failureMetric: null,
  });
});

test('a build installed by an earlier boot: from installed, no cache version', () => {
  const b = upTo(new Boot(), 'local', 'build').phase('build', (p) => p.record('build', 'build-reused', { kind: 'build', key: KEY, from: 'installed' }));
  const r = resultOf(b.outcome('local', { phase: 'model', reason: 'x' }));
  expect(r.build).toEqual({ key: KEY, from: 'installed', cacheVersion: null, discarded: [] });
});

describe('a failure in each phase: the phases up to it, it failed and last but the report, what came before it only', () => {
  const phases = ['deps', 'agent', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health'];
  test.each(phases)('aws: %s', (phase) => {
    const b = upTo(new Boot(), 'aws', phase).phase(phase, () => undefined, 'it broke');
    const r = resultOf(b.outcome('aws', { phase, reason: `${phase} broke` }, report(false, [{ hook: 'launch', outcome: done, atMs: T0 + 900 }], done, done)));
    const before = phases.slice(0, phases.indexOf(phase));
    expect(r.phases.map((p) => [p.name, p.outcome])).toEqual([['config', 'ok'], ...before.map((n) => [n, 'ok']), [phase, 'failed'], ['report', 'ok']]);
    expect(r.failure).toEqual({ phase, reason: `${phase} broke` });
    expect(r.build).toEqual(before.includes('build') ? { key: KEY, from: 'compile', cacheVersion: null, discarded: [] } : null);
    // A model phase that started has a model, even where it failed before it said where from.
    expect(r.model).toEqual(before.includes('model') ? { source: 'download', quantized: null } : phase === 'model' ? { source: null, quantized: null } : null);
    expect(r.report).toEqual({
      lifecycleActions: [{ hook: 'launch', result: 'ABANDON', outcome: 'completed', atMs: T0 + 900 }],
      signal: { status: 'FAILURE', outcome: 'sent' },
      failureMetric: 'counted',
    });
  });

  test.each(phases.filter((p) => p !== 'agent'))('local: %s', (phase) => {
    const b = upTo(new Boot(), 'local', phase).phase(phase, () => undefined, 'it broke');
    const r = resultOf(b.outcome('local', { phase, reason: `${phase} broke` }, report(false, [], { kind: 'skipped' }, { kind: 'skipped' })));
    expect(r.phases[r.phases.length - 1]).toMatchObject({ name: phase, outcome: 'failed' });
    expect(r.report).toBeNull();
  });

  test('config: the adapters could not be built, so nothing was reported', () => {
    const b = new Boot().record('config', 'failed');
    const r = resultOf(b.outcome('aws', { phase: 'config', reason: 'no dnf or apt-get' }));
    expect(r.phases).toEqual([{ name: 'config', startedAtMs: T0, endedAtMs: T0 + 10, outcome: 'failed' }]);
    expect(r).toMatchObject({ failure: { phase: 'config', reason: 'no dnf or apt-get' }, build: null, model: null, report: null });
  });

  test('a failure no event recorded (one thrown between phases, in the next one\'s name) is listed where it happened', () => {
    const b = upTo(new Boot(), 'aws', 'model');
    const endOfBuild = b.at();
    const r = resultOf(b.outcome('aws', { phase: 'model', reason: 'step model: id -u graviton-llm failed' }, report(false, [], failed, failed)));
    expect(r.phases.slice(-2)).toEqual([
      { name: 'model', startedAtMs: endOfBuild + 10, endedAtMs: endOfBuild + 10, outcome: 'failed' },
      { name: 'report', startedAtMs: endOfBuild + 10, endedAtMs: endOfBuild + 20, outcome: 'ok' },
    ]);
    expect(r.model).toBeNull();
  });
});

test('the build failed while it was being taken from the cache: from cache, no version', () => {
  const b = upTo(new Boot(), 'local', 'build').phase('build', (p) => p.record('build', 'build-lookup', { kind: 'build', key: KEY, from: 'cache' }), 'x');
  const r = resultOf(b.outcome('local', { phase: 'build', reason: 'cannot unpack' }));
  expect(r.build).toEqual({ key: KEY, from: 'cache', cacheVersion: null, discarded: [] });
});

test('every cached build discarded: compiled, each discard listed, the replacement written; a model\'s discard is not the build\'s', () => {
  const b = upTo(new Boot(), 'local', 'build')
    .phase('build', (p) => p
      .record('build', 'build-lookup', { kind: 'build', key: KEY, from: 'cache' })
      .record('build', 'cache-discard', { kind: 'cache-discard', object: BUILD_REL, version: 'local', problem: 'manifest differs' })
      .record('build', 'build-compile', { kind: 'build', key: KEY, from: 'compile' })
      .record('build', 'cache-write', { kind: 'cache-write', object: BUILD_REL, outcome: 'written' }))
    .phase('model', (p) => p
      .record('model', 'cache-discard', { kind: 'cache-discard', object: QUANTIZED_REL, version: 'q1', problem: 'its SHA-256 is wrong' })
      .record('model', 'cache-hit', { kind: 'model-source', from: 'cache' })
      .record('model', 'quantizing', { kind: 'model-quantized', from: 'quantize' })
      .record('model', 'cache-write', { kind: 'cache-write', object: QUANTIZED_REL, outcome: 'kept-existing' }));
  const r = resultOf(b.outcome('local', { phase: 'api-key', reason: 'x' }));
  expect(r.build).toEqual({ key: KEY, from: 'compile', cacheVersion: null, discarded: [{ version: 'local', problem: 'manifest differs' }] });
  expect(r.model).toEqual({ source: 'cache', quantized: 'quantize' });
  expect(r.cacheWrites).toEqual([{ object: BUILD_REL, outcome: 'written' }, { object: QUANTIZED_REL, outcome: 'kept-existing' }]);
});

test('cache writes skipped and failed are listed as such, in order', () => {
  const b = upTo(new Boot(), 'local', 'build').phase('build', (p) => p
    .record('build', 'build-compile', { kind: 'build', key: KEY, from: 'compile' })
    .record('build', 'cache-write-skipped', { kind: 'cache-write', object: BUILD_REL, outcome: 'skipped' }))
    .phase('model', (p) => p.record('model', 'cache-write-failed', { kind: 'cache-write', object: MODEL_REL, outcome: 'failed' }));
  expect(resultOf(b.outcome('local')).cacheWrites).toEqual([{ object: BUILD_REL, outcome: 'skipped' }, { object: MODEL_REL, outcome: 'failed' }]);
});

test('a model quantized earlier and cached: from the cache, the source never needed', () => {
  const b = upTo(new Boot(), 'local', 'model').phase('model', (p) => p
    .record('model', 'cache-hit', { kind: 'cache-take', object: QUANTIZED_REL, version: { id: 'local', position: 1, of: 1 } })
    .record('model', 'quantized-from-cache', { kind: 'model-quantized', from: 'cache' }));
  const r = resultOf(b.outcome('local'));
  expect(r.model).toEqual({ source: null, quantized: 'cache' });
  // The model's version taken is not the build's.
  expect(r.build?.cacheVersion).toBeNull();
});

describe('reports AWS refused or that failed', () => {
  test('a refused lifecycle action and signal (a reboot of a serving instance), no metric on success', () => {
    const b = upTo(new Boot(), 'aws', 'none');
    const r = resultOf(b.outcome('aws', undefined, report(true, [{ hook: 'launch', outcome: refused, atMs: T0 + 700 }], refused)));
    expect(r.report).toEqual({
      lifecycleActions: [{ hook: 'launch', result: 'CONTINUE', outcome: 'refused', atMs: T0 + 700 }],
      signal: { status: 'SUCCESS', outcome: 'refused' },
      failureMetric: null,
    });
  });

  test('a failed boot whose reports all failed: the metric failed, the action failed, the signal failed', () => {
    const b = upTo(new Boot(), 'aws', 'cpu').phase('cpu', () => undefined, 'x');
    const r = resultOf(b.outcome('aws', { phase: 'cpu', reason: 'not a Graviton 4' }, report(false, [{ hook: 'launch', outcome: failed, atMs: T0 + 800 }], failed, failed)));
    expect(r.report).toEqual({
      lifecycleActions: [{ hook: 'launch', result: 'ABANDON', outcome: 'failed', atMs: T0 + 800 }],
      signal: { status: 'FAILURE', outcome: 'failed' },
      failureMetric: 'failed',
    });
  });

  test('no hook and no metric configured: no lifecycle actions, nothing counted', () => {
    const b = upTo(new Boot(), 'aws', 'cpu').phase('cpu', () => undefined, 'x');
    const r = resultOf(b.outcome('aws', { phase: 'cpu', reason: 'x' }, report(false, [], done, { kind: 'skipped' })));
    expect(r.report).toEqual({ lifecycleActions: [], signal: { status: 'FAILURE', outcome: 'sent' }, failureMetric: null });
  });
});

describe('the trusted builder\'s roles', () => {
  test('a builder\'s result says what it published, and its signal; it ran no serving phase', () => {
    const sha = 'c'.repeat(64);
    const b = new Boot().record('config', 'done').phase('deps').phase('agent').phase('cpu')
      .phase('build', (p) => p
        .record('build', 'build-compile', { kind: 'build', key: KEY, from: 'compile' })
        .record('build', 'published', { kind: 'published', what: 'build', object: BUILD_REL, versionId: 'vb', sha256: sha }))
      .phase('model', (p) => p
        .record('model', 'cache-miss', { kind: 'model-source', from: 'download' })
        .record('model', 'quantizing', { kind: 'model-quantized', from: 'quantize' })
        .record('model', 'published', { kind: 'published', what: 'model', object: QUANTIZED_REL, versionId: 'vm', sha256: sha }));
    const r = resultOf(b.outcome('aws', undefined, report(true, [], done), 'builder'));
    expect(r.role).toBe('builder');
    expect(r.phases.map((p) => p.name)).toEqual(['config', 'deps', 'agent', 'cpu', 'build', 'model', 'report']);
    expect(r.published).toEqual([
      { what: 'build', object: BUILD_REL, versionId: 'vb', sha256: sha },
      { what: 'model', object: QUANTIZED_REL, versionId: 'vm', sha256: sha },
    ]);
    expect(r.build).toMatchObject({ from: 'compile' });
    expect(r.report).toEqual({ lifecycleActions: [], signal: { status: 'SUCCESS', outcome: 'sent' }, failureMetric: null });
  });

  test('a pinned fleet instance took its build and model from the pins, and wrote nothing', () => {
    const b = new Boot().record('config', 'done').phase('deps').phase('agent').phase('cpu')
      .phase('build', (p) => p.record('build', 'build-pinned', { kind: 'build', key: KEY, from: 'pinned' }))
      .phase('model', (p) => p.record('model', 'model-pinned', { kind: 'model-quantized', from: 'pinned' }));
    const r = resultOf(b.outcome('aws', { phase: 'api-key', reason: 'x' }, report(false, [], done)));
    expect(r).toMatchObject({ role: 'fleet', build: { from: 'pinned', cacheVersion: null }, model: { source: null, quantized: 'pinned' }, cacheWrites: [], published: [] });
  });

  test('the schema refuses a fleet instance that publishes, and a builder in local mode', () => {
    const base = bootResultFromOutcome(new Boot().record('config', 'done').outcome('local'));
    const publishing = { ...base, published: [{ what: 'build', object: BUILD_REL, versionId: 'v', sha256: 'c'.repeat(64) }] };
    expect(() => parseBootResult(JSON.stringify(publishing))).toThrow(/only a builder publishes/);
    expect(() => parseBootResult(JSON.stringify({ ...base, role: 'builder' }))).toThrow(/a builder runs in aws mode only/);
  });
});
