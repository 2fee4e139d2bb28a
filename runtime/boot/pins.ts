/**
 * What the builder reports and the fleet is pinned to, defined once: for the
 * build and for the model the fleet serves, the cache object, the S3 version
 * the builder wrote (or verified) and the SHA-256 of its bytes as stored.
 *
 * Each generation's builder sends its report as the Data of a wait condition
 * signal; the template carries each wait condition's Data attribute, a JSON
 * object of UniqueId -> Data (one entry per signal), verbatim into the
 * fleet's pins file (GLLM_PINS_FILE), under the generation's key
 * (pinsGenerationKey): `{"graviton3": {UniqueId: report}, ...}`. An instance
 * takes the entry of the generation its CPU is (phases/cpu.ts). So the pins
 * come from the template, which nothing in the bucket can change
 * (docs/design/trusted-builder.md).
 *
 * Pure: the caller reads the file and sends the report.
 */
import { buildCacheRel, modelCacheRel, quantizedCacheRel, type QuantizedCacheInput } from './cache/keys';
import type { CachePublisher } from './ports';

/** Bumped when a field of the report changes meaning or goes: a fleet refuses a report of another version. */
export const PINS_VERSION = 1;

/** One object the builder wrote or verified. */
export interface PinnedObject {
  /** Its name under the cache (cache/keys.ts): builds/KEY.tar.gz, models/SHA.gguf, quantized/... */
  readonly object: string;
  /** The S3 version id (`local` in a directory cache). */
  readonly versionId: string;
  /** The SHA-256 of the object's bytes as stored: what the fleet checks what it downloads against. */
  readonly sha256: string;
}

/** The builder's report: what the fleet of this generation runs. */
export interface Pins {
  readonly version: typeof PINS_VERSION;
  /** The build key (build/key.ts): the fleet computes its own and refuses pins for another build. */
  readonly buildKey: string;
  readonly build: PinnedObject;
  /** The model served: the quantized model where the configuration quantizes, else the source model. */
  readonly model: PinnedObject;
}

/**
 * Whom the build and the model are taken from, one of three (the build and
 * model phases say what each means for them):
 * - cache: the cache's rules (cache/policy.ts), as before the builder;
 * - pinned: a fleet instance the template pins: exactly the pinned versions,
 *   checked against the pinned SHA-256s; never a compile, a download, a
 *   quantize or a cache write;
 * - builder: made here, always, and published as new versions, whose pins
 *   the phases return for the builder's report.
 */
export type ArtifactTrust =
  | { readonly kind: 'cache' }
  | { readonly kind: 'pinned'; readonly pinsFile: string; readonly pins: Pins }
  | { readonly kind: 'builder'; readonly publisher: CachePublisher };

/** The report as the builder sends it (the signal's Data): compact JSON. */
export function pinsData(pins: Pins): string {
  return JSON.stringify(pins);
}

/** A pins file's content: each generation's builder's report, by generation number. */
export type PinsByGeneration = ReadonlyMap<number, Pins>;

export type PinsParse = { readonly ok: true; readonly pins: PinsByGeneration } | { readonly ok: false; readonly problem: string };

/** The pins file's key of a generation's entry: `graviton3` (a string generation: the template's, which may be a CloudFormation value). */
export function pinsGenerationKey(generation: number | string): string {
  return `graviton${generation}`;
}

const GENERATION_KEY = /^graviton([1-9][0-9]{0,2})$/;

const SHA256 = /^[0-9a-f]{64}$/;
const BUILD_KEY = /^[0-9a-f]{32}$/;
/**
 * An S3 version id as S3 writes them (URL-safe characters); `null`, S3's id
 * of an object written before versioning, pins nothing: any later write
 * replaces that version.
 */
const VERSION_ID = /^[A-Za-z0-9._+/=-]{1,1024}$/;
/** A cache object's name: a plain relative path (cache/keys.ts makes them). */
const OBJECT = /^[A-Za-z0-9_=-][A-Za-z0-9_.=/-]*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What is wrong with a pinned object, or undefined. */
function objectProblem(name: string, value: unknown): string | undefined {
  if (!isRecord(value)) return `${name} is not an object`;
  const extra = Object.keys(value).filter((k) => !['object', 'versionId', 'sha256'].includes(k));
  if (extra.length > 0) return `${name} has fields the boot does not know: ${extra.join(', ')}`;
  const { object, versionId, sha256 } = value;
  if (typeof object !== 'string' || !OBJECT.test(object) || object.split('/').includes('..')) return `${name}.object is ${JSON.stringify(object)}; expected a cache object's name`;
  if (typeof versionId !== 'string' || !VERSION_ID.test(versionId) || versionId === 'null') return `${name}.versionId is ${JSON.stringify(versionId)}; expected an S3 version id`;
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) return `${name}.sha256 is ${JSON.stringify(sha256)}; expected 64 lowercase hex digits`;
  return undefined;
}

/**
 * Reads a pins file's text (`file` names it in the problem): a JSON object of
 * one entry per generation (`graviton3`), each the wait condition's Data of
 * that generation's builder. Every entry is checked, whichever this instance
 * takes: a file with one bad entry is a bad template.
 */
export function parsePins(file: string, text: string): PinsParse {
  const bad = (what: string): PinsParse => ({ ok: false, problem: `pins file ${file}: ${what}` });
  let entries: unknown;
  try {
    entries = JSON.parse(text);
  } catch (e) {
    return bad(`not JSON (${(e as Error).message})`);
  }
  if (!isRecord(entries)) return bad('not a JSON object of generations (graviton3: the wait condition\'s Data)');
  const keys = Object.keys(entries);
  if (keys.length === 0) return bad('holds no generation; expected one entry per generation, e.g. "graviton3"');
  const pins = new Map<number, Pins>();
  for (const key of keys) {
    const m = GENERATION_KEY.exec(key);
    if (m === null) return bad(`holds the entry ${JSON.stringify(key)}; expected generations named like "graviton3"`);
    const parsed = reportOf(entries[key]);
    if (typeof parsed === 'string') return bad(`${key}: ${parsed}`);
    pins.set(Number(m[1]), parsed);
  }
  return { ok: true, pins };
}

/**
 * One generation's entry: the wait condition's Data, a JSON object of
 * exactly one signal, whose Data is the builder's report. More than one
 * signal is refused: the builder sends one, so another came from whoever
 * else held the handle's URL. The report, or the problem.
 */
function reportOf(signals: unknown): Pins | string {
  if (!isRecord(signals)) return 'not a JSON object of wait condition signals (UniqueId: Data)';
  const ids = Object.keys(signals);
  if (ids.length !== 1) return `holds ${ids.length} signals (${ids.map((id) => JSON.stringify(id)).join(', ') || 'none'}); expected exactly the builder's one`;
  const data = signals[ids[0]];
  if (typeof data !== 'string') return `the data of signal ${JSON.stringify(ids[0])} is not a string`;
  let report: unknown;
  try {
    report = JSON.parse(data);
  } catch (e) {
    return `the data of signal ${JSON.stringify(ids[0])} is not the builder's report: not JSON (${(e as Error).message})`;
  }
  if (!isRecord(report)) return 'the builder\'s report is not a JSON object';
  const extra = Object.keys(report).filter((k) => !['version', 'buildKey', 'build', 'model'].includes(k));
  if (extra.length > 0) return `the builder's report has fields the boot does not know: ${extra.join(', ')}`;
  if (report.version !== PINS_VERSION) return `the builder's report is version ${JSON.stringify(report.version)}; this boot reads version ${PINS_VERSION}`;
  if (typeof report.buildKey !== 'string' || !BUILD_KEY.test(report.buildKey)) return `buildKey is ${JSON.stringify(report.buildKey)}; expected 32 lowercase hex digits`;
  return objectProblem('build', report.build) ?? objectProblem('model', report.model) ?? (report as unknown as Pins);
}

/**
 * The pins of the generation this instance is (the cpu phase's pick), or the
 * problem: a file without that generation names the ones it holds.
 */
export function pinsForGeneration(file: string, pins: PinsByGeneration, generation: number): { readonly pins: Pins } | { readonly problem: string } {
  const found = pins.get(generation);
  if (found !== undefined) return { pins: found };
  const held = [...pins.keys()].map(pinsGenerationKey).join(', ');
  return { problem: `pins file ${file} holds no pins for ${pinsGenerationKey(generation)} (this instance's CPU); it holds ${held}: the template has no builder for this generation` };
}

/**
 * Whether the pinned build is this boot's: the build of the key this boot
 * computes (build/key.ts), under the name cache/keys.ts gives it. Pins of
 * another build (the builder ran another commit, CPU, OS or toolchain) name
 * nothing this boot may run. The problem, or undefined.
 */
export function buildPinProblem(file: string, pins: Pins, buildKey: string): string | undefined {
  if (pins.buildKey !== buildKey) return `pins file ${file} pins build ${pins.buildKey}, but this instance's build key is ${buildKey}; the builder built for another commit, CPU, OS or toolchain`;
  if (pins.build.object !== buildCacheRel(buildKey)) return `pins file ${file} pins the build as ${pins.build.object}, not ${buildCacheRel(buildKey)}`;
  return undefined;
}

/**
 * Whether the pinned model is the one this configuration serves: the
 * quantized model under its name where it quantizes, else the template's
 * source model, whose SHA-256 the pin must carry too. The problem, or undefined.
 */
export function modelPinProblem(file: string, pins: Pins, model: QuantizedCacheInput): string | undefined {
  const rel = model.quantizeTo === '' ? modelCacheRel(model.modelSha256) : quantizedCacheRel(model);
  if (pins.model.object !== rel) return `pins file ${file} pins the model ${pins.model.object}, but this configuration serves ${rel}`;
  if (model.quantizeTo === '' && pins.model.sha256 !== model.modelSha256) {
    return `pins file ${file} pins the model with SHA-256 ${pins.model.sha256}, but the template's is ${model.modelSha256}`;
  }
  return undefined;
}
