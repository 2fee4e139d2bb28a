/**
 * The pins file: per generation, the wait condition's Data around that
 * generation's builder's report. A table of good and bad files, each with what
 * the parser makes of it; the choice of this instance's generation; and the
 * check that pins are for this configuration.
 */
import { buildCacheRel, modelCacheRel, quantizedCacheRel } from '../../../runtime/boot/cache/keys';
import { buildPinProblem, modelPinProblem, parsePins, type Pins, pinsData, pinsForGeneration, pinsGenerationKey } from '../../../runtime/boot/pins';

const FILE = '/etc/graviton-llm/pins.json';
const KEY = '0123456789abcdef0123456789abcdef';
const MODEL_SHA = 'a'.repeat(64);
const PINS: Pins = {
  version: 1,
  buildKey: KEY,
  build: { object: buildCacheRel(KEY), versionId: 'Xb1.v_2-3', sha256: 'b'.repeat(64) },
  model: { object: modelCacheRel(MODEL_SHA), versionId: '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo', sha256: MODEL_SHA },
};

/** The Data attribute as CloudFormation gives it: one entry per signal, each signal's Data a string. */
const waitData = (signals: Record<string, unknown>) => JSON.stringify(signals);
const withReport = (report: unknown) => waitData({ 'i-0123456789abcdef0': typeof report === 'string' ? report : JSON.stringify(report) });
const edit = (f: (r: Record<string, any>) => void) => {
  const r = JSON.parse(JSON.stringify(PINS));
  f(r);
  return withReport(r);
};

/** The pins file as the launch template writes it: each generation's wait condition Data (as text) under its key. */
const pinsFile = (byGeneration: Record<string, string>) => `{${Object.entries(byGeneration).map(([k, data]) => `${JSON.stringify(k)}:${data}`).join(',')}}`;
const G4_PINS: Pins = { ...PINS, buildKey: 'f'.repeat(32), build: { ...PINS.build, object: buildCacheRel('f'.repeat(32)) } };

test('the builder\'s report, sent as a signal\'s data, reads back as the pins of its generation', () => {
  expect(parsePins(FILE, pinsFile({ graviton3: waitData({ 'i-0abc': pinsData(PINS) }) }))).toEqual({ ok: true, pins: new Map([[3, PINS]]) });
  // CloudFormation's own spacing, as in its documented example.
  expect(parsePins(FILE, pinsFile({ graviton3: `{ "i-0abc" : ${JSON.stringify(pinsData(PINS))} } \n` }))).toEqual({ ok: true, pins: new Map([[3, PINS]]) });
});

test('a file of two generations holds each builder\'s report under its generation', () => {
  const text = pinsFile({ graviton3: waitData({ 'i-03': pinsData(PINS) }), graviton4: waitData({ 'i-04': pinsData(G4_PINS) }) });
  expect(parsePins(FILE, text)).toEqual({ ok: true, pins: new Map([[3, PINS], [4, G4_PINS]]) });
  expect(pinsGenerationKey(4)).toBe('graviton4');
});

describe('an instance takes the pins of the generation its CPU is', () => {
  const parsed = parsePins(FILE, pinsFile({ graviton3: withReport(PINS), graviton4: withReport(G4_PINS) }));
  const pins = parsed.ok ? parsed.pins : new Map();

  test('each generation its own', () => {
    expect(pinsForGeneration(FILE, pins, 3)).toEqual({ pins: PINS });
    expect(pinsForGeneration(FILE, pins, 4)).toEqual({ pins: G4_PINS });
  });

  test('a generation the file lacks is a problem naming it and the generations the file holds', () => {
    expect(pinsForGeneration(FILE, pins, 2)).toEqual({
      problem: `pins file ${FILE} holds no pins for graviton2 (this instance's CPU); it holds graviton3, graviton4: the template has no builder for this generation`,
    });
  });
});

const BAD_FILES: readonly (readonly [string, string, RegExp])[] = [
  ['an empty file', '', /not JSON/],
  ['a list', '[]', /not a JSON object of generations/],
  ['no generation', '{}', /holds no generation/],
  ['one generation\'s Data bare, not under its generation', waitData({ 'i-0abc': pinsData(PINS) }), /holds the entry "i-0abc"; expected generations named like "graviton3"/],
  ['a generation with a leading zero', pinsFile({ graviton03: withReport(PINS) }), /holds the entry "graviton03"/],
  ['one good generation and one bad: every entry is checked', pinsFile({ graviton3: withReport(PINS), graviton4: '{}' }), /graviton4: holds 0 signals/],
];

test.each(BAD_FILES)('%s is refused with one problem naming the file', (_name, text, problem) => {
  const parsed = parsePins(FILE, text);
  expect(parsed.ok).toBe(false);
  if (parsed.ok) return;
  expect(parsed.problem.startsWith(`pins file ${FILE}: `)).toBe(true);
  expect(parsed.problem).toMatch(problem);
});

/** Bad Data of one generation: the problem names the file and the generation. */
const BAD: readonly (readonly [string, string, RegExp])[] = [
  ['a report given bare, not in the wait condition\'s data', pinsData(PINS), /holds 4 signals/],
  ['a list', '[]', /not a JSON object of wait condition signals/],
  ['no signal', '{}', /holds 0 signals \(none\); expected exactly the builder's one/],
  ['two signals (another holder of the handle\'s URL)', waitData({ a: pinsData(PINS), b: pinsData(PINS) }), /holds 2 signals \("a", "b"\)/],
  ['a signal whose data is an object, not a string', waitData({ a: PINS }), /the data of signal "a" is not a string/],
  ['a signal whose data is not JSON', withReport('Application has completed configuration.'), /not the builder's report: not JSON/],
  ['a report of another version', edit((r) => { r.version = 2; }), /version 2; this boot reads version 1/],
  ['a report with an unknown field', edit((r) => { r.extra = 1; }), /fields the boot does not know: extra/],
  ['a build key of capitals', edit((r) => { r.buildKey = KEY.toUpperCase(); }), /buildKey is .*expected 32 lowercase hex digits/],
  ['no model', edit((r) => { delete r.model; }), /model is not an object/],
  ['a build with an unknown field', edit((r) => { r.build.size = 1; }), /build has fields the boot does not know: size/],
  ['a build object that climbs out of the cache', edit((r) => { r.build.object = 'builds/../x'; }), /build.object is "builds\/..\/x"/],
  ['an absolute object', edit((r) => { r.model.object = '/etc/passwd'; }), /model.object is "\/etc\/passwd"/],
  ['the null version (an object written before versioning)', edit((r) => { r.build.versionId = 'null'; }), /build.versionId is "null"; expected an S3 version id/],
  ['an empty version id', edit((r) => { r.model.versionId = ''; }), /model.versionId is ""/],
  ['a version id with a space', edit((r) => { r.model.versionId = 'a b'; }), /model.versionId is "a b"/],
  ['a short digest', edit((r) => { r.build.sha256 = 'b'.repeat(63); }), /build.sha256 is .*expected 64 lowercase hex digits/],
  ['a digest in capitals', edit((r) => { r.model.sha256 = 'A'.repeat(64); }), /model.sha256 is/],
];

test.each(BAD)('%s is refused with one problem naming the file and the generation', (_name, text, problem) => {
  const parsed = parsePins(FILE, pinsFile({ graviton3: text }));
  expect(parsed.ok).toBe(false);
  if (parsed.ok) return;
  expect(parsed.problem.startsWith(`pins file ${FILE}: graviton3: `)).toBe(true);
  expect(parsed.problem).toMatch(problem);
  expect(parsed.problem).not.toContain('\n');
});

describe('pins are for this configuration or for none of it', () => {
  const model = { modelSha256: MODEL_SHA, quantizeTo: '', llamaCppCommit: 'c'.repeat(40), llamaCppRef: 'b1' };

  test('pins of this build and this source model match', () => {
    expect(buildPinProblem(FILE, PINS, KEY)).toBeUndefined();
    expect(modelPinProblem(FILE, PINS, model)).toBeUndefined();
  });

  test('a quantized model is pinned under its quantized name, whatever its digest', () => {
    const quantized = { ...model, quantizeTo: 'Q4_K_M' };
    const pins = { ...PINS, model: { object: quantizedCacheRel(quantized), versionId: 'v', sha256: 'd'.repeat(64) } };
    expect(modelPinProblem(FILE, pins, quantized)).toBeUndefined();
    expect(modelPinProblem(FILE, PINS, quantized)).toMatch(/pins the model models\/a+\.gguf, but this configuration serves quantized\//);
  });

  test.each([
    ['another build key', { ...PINS, buildKey: 'f'.repeat(32) }, /pins build f{32}, but this instance's build key is 0123/],
    ['a build object not of its key', { ...PINS, build: { ...PINS.build, object: 'builds/other.tar.gz' } }, /pins the build as builds\/other.tar.gz/],
  ])('%s is refused, naming the pins file', (_name, pins, problem) => {
    expect(buildPinProblem(FILE, pins as Pins, KEY)).toMatch(problem);
    expect(buildPinProblem(FILE, pins as Pins, KEY)).toContain(FILE);
  });

  test.each([
    ['another source model', { ...PINS, model: { ...PINS.model, object: modelCacheRel('e'.repeat(64)) } }, /pins the model models\/e+\.gguf/],
    ['the source model under its name with other bytes', { ...PINS, model: { ...PINS.model, sha256: 'e'.repeat(64) } }, /SHA-256 e{64}, but the template's is a{64}/],
  ])('%s is refused, naming the pins file', (_name, pins, problem) => {
    expect(modelPinProblem(FILE, pins as Pins, model)).toMatch(problem);
    expect(modelPinProblem(FILE, pins as Pins, model)).toContain(FILE);
  });
});
