/**
 * The boot's result: one JSON file that every boot writes when it ends,
 * success or failure, saying which phases ran and how long each took, where
 * the build and the model came from, why the boot failed, and what it
 * reported to AWS. Tests and operators read this; the boot log is for people
 * and its wording may change.
 *
 * This is the result's one definition, in the form the bash boot of earlier
 * versions wrote too. The boot makes it (result-from-outcome.ts) and writes
 * it (main.ts writeBootResult); the tests
 * parse every result they produce with BOOT_RESULT, so a result a writer
 * gets wrong fails them.
 */
import { z } from 'zod';
import { INSTANCE_LAYOUT, localLayout } from './layout';

/**
 * Bumped when a field changes meaning or goes. The objects are strict (a
 * field the schema does not name fails the parse): the writer and this
 * schema change together.
 */
export const BOOT_RESULT_SCHEMA_VERSION = 2;

/**
 * Where the result is: in the boot's state directory (layout.ts),
 * written through a temporary name and renamed, so a reader sees a whole
 * result or none. A boot removes the previous result when it starts: no file
 * means no boot has ended since (one is running, or was killed).
 */
export const BOOT_RESULT_PATHS = {
  instance: INSTANCE_LAYOUT.bootResult,
  local: (workDir: string): string => localLayout(workDir).bootResult,
} as const;

/**
 * The phases in the order a boot runs them. config reads the environment
 * file, lays out the directories and takes the boot lock; agent (aws mode
 * only) starts the CloudWatch agent; drain-watch (a fleet instance of a
 * stack that names its target group) starts the drain watcher; report (aws mode only) completes the
 * lifecycle action, signals CloudFormation and counts a failure, after the
 * last phase that ran.
 */
export const BOOT_PHASES = ['config', 'deps', 'agent', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health', 'drain-watch', 'report'] as const;

const epochMs = z.number().int().positive();

const phase = z.strictObject({
  name: z.enum(BOOT_PHASES),
  startedAtMs: epochMs,
  endedAtMs: epochMs,
  /** A phase that was never reached is not listed. */
  outcome: z.enum(['ok', 'failed']),
});

/** A version of a cache object that failed its checks, and was not used. */
const discardedVersion = z.strictObject({
  /** The S3 version id, or `local` in a directory cache. */
  version: z.string().min(1),
  /** What is wrong with it, as the boot logged it. */
  problem: z.string().min(1),
});

const build = z.strictObject({
  /** The build key: the cache object is builds/<key>.tar.gz, the install /opt/graviton-llm/llama.cpp/<key>. */
  key: z.string().regex(/^[0-9a-f]{32}$/),
  /**
   * Where this boot took the build from: the one already installed (a reboot
   * or re-run), the cache, a compile here (every builder's), or the version
   * the template pins (a fleet instance with pins); when the build phase
   * failed, where it was taking it from.
   */
  from: z.enum(['installed', 'cache', 'compile', 'pinned']),
  /** The cache version taken (from: cache): its id and its place among the object's versions, oldest first. */
  cacheVersion: z.strictObject({ id: z.string().min(1), position: z.number().int().positive(), of: z.number().int().positive() }).nullable(),
  /** Cached versions this boot found unfit, oldest first. */
  discarded: z.array(discardedVersion),
});

const model = z.strictObject({
  /**
   * Where the model as published came from: the verified file already in
   * place, the cache, or its source URL. Null when a quantized model was
   * taken instead, so the published one was not needed.
   */
  source: z.enum(['installed', 'cache', 'download', 'pinned']).nullable(),
  /**
   * Where the quantized model served came from: already in place, the cache,
   * or llama-quantize here. Null when the configuration asks for none, or
   * the boot ended before it got there.
   */
  quantized: z.enum(['installed', 'cache', 'quantize', 'pinned']).nullable(),
});

/** One object this boot wrote to the cache, or meant to. */
const cacheWrite = z.strictObject({
  /** Its name under the cache: builds/..., models/..., quantized/... */
  object: z.string().min(1),
  /**
   * written; kept-existing (another boot wrote it first, and that one stays);
   * skipped (the boot writes no version nobody would try: see
   * cache/versions.ts CACHE_VERSIONS_TRIED); failed (the next boot redoes
   * the work).
   */
  outcome: z.enum(['written', 'kept-existing', 'skipped', 'failed']),
});

/** An object the builder published as a new version: what its report pins (pins.ts). */
const published = z.strictObject({
  what: z.enum(['build', 'model']),
  /** Its name under the cache. */
  object: z.string().min(1),
  /** The S3 version id the publish made. */
  versionId: z.string().min(1),
  /** The SHA-256 of its bytes as stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** What the boot told AWS (aws mode). An outcome of refused is AWS's final answer, which no retry changes. */
const report = z.strictObject({
  /** One per hook named in the configuration, in its order: the group's own hook first. */
  lifecycleActions: z.array(z.strictObject({
    hook: z.string().min(1),
    result: z.enum(['CONTINUE', 'ABANDON']),
    /** refused: no pending launch holds the instance on that hook (a reboot, a hook of an earlier kit version). */
    outcome: z.enum(['completed', 'refused', 'failed']),
    /** When the last try ended: for the group's hook, CONTINUE completed is when the instance was let in to serve. */
    atMs: epochMs,
  })),
  signal: z.strictObject({
    status: z.enum(['SUCCESS', 'FAILURE']),
    /** refused: the stack is not waiting for signals (it is not being created). */
    outcome: z.enum(['sent', 'refused', 'failed']),
  }),
  /** The failure metric: counted, failed, or null when there was nothing to count (a success, or no metric configured). */
  failureMetric: z.enum(['counted', 'failed']).nullable(),
});

export const BOOT_RESULT = z.strictObject({
  schemaVersion: z.literal(BOOT_RESULT_SCHEMA_VERSION),
  /** Null only when the environment file failed before it said which mode. */
  mode: z.enum(['aws', 'local']).nullable(),
  /** GLLM_ROLE: a fleet instance serves, a builder publishes (docs/design/trusted-builder.md); a local boot is a fleet of one. Null with mode. */
  role: z.enum(['fleet', 'builder']).nullable(),
  /** When the boot program started, and when it wrote this. */
  startedAtMs: epochMs,
  endedAtMs: epochMs,
  /**
   * The boot's deadline. On an instance it counts from the machine's start,
   * as the launch lifecycle hook's timer does; null when the environment
   * file failed before it gave one.
   */
  deadlineAtMs: epochMs.nullable(),
  phases: z.array(phase),
  /** Null for a boot that serves. */
  failure: z.strictObject({
    phase: z.enum(BOOT_PHASES),
    /** One line: the same reason the log, the CloudFormation signal and the local GLLM_BOOT_RESULT line carry. */
    reason: z.string().min(1),
  }).nullable(),
  /** Null when the boot ended before it named its build. */
  build: build.nullable(),
  /** Null when the boot ended before the model phase. */
  model: model.nullable(),
  cacheWrites: z.array(cacheWrite),
  /** The builder's: what it published, in order (its report, on success, pins the build and the model of these). Empty for a fleet instance. */
  published: z.array(published),
  /** Null in local mode, which reports to no one but its caller. */
  report: report.nullable(),
}).superRefine((r, ctx) => {
  // The fields that must agree with each other, so a reader can trust any one of them.
  const failed = r.phases.filter((p) => p.outcome === 'failed');
  if (r.failure === null && failed.length > 0) ctx.addIssue({ code: 'custom', message: `phase ${failed[0].name} failed, but the result names no failure` });
  if (r.failure !== null && (failed.length !== 1 || failed[0].name !== r.failure.phase)) {
    ctx.addIssue({ code: 'custom', message: `the failure names phase ${r.failure.phase}, but the failed phases are [${failed.map((p) => p.name).join(', ')}]` });
  }
  if (r.mode === 'local' && r.report !== null) ctx.addIssue({ code: 'custom', message: 'a local boot reports to no one' });
  if (r.role !== 'builder' && r.published.length > 0) ctx.addIssue({ code: 'custom', message: 'only a builder publishes' });
  if (r.role === 'builder' && r.mode !== 'aws') ctx.addIssue({ code: 'custom', message: 'a builder runs in aws mode only' });
});

export type BootResult = z.infer<typeof BOOT_RESULT>;

/** Parses a result file's text; throws, naming what is wrong, when it is not JSON or not a result. */
export function parseBootResult(text: string): BootResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`boot result is not JSON (${(e as Error).message}): ${text.slice(0, 200)}`);
  }
  const parsed = BOOT_RESULT.safeParse(json);
  if (!parsed.success) throw new Error(`boot result does not match its schema: ${z.prettifyError(parsed.error)}\n${text.slice(0, 2000)}`);
  return parsed.data;
}
