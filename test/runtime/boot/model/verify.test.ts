/**
 * The model's checks in-process: size, SHA-256, the stamp a re-run reuses it
 * by, and a quantized model's recorded SHA-256.
 */
import {
  cachedDigestProblem, modelDigestProblem, modelSizeProblem, modelStamp, modelVerifiedLine, recordedSha256FromFile, recordedSha256FromS3, stampHolds,
} from '../../../../runtime/boot/model/verify';

const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

test('a file of another size is refused before it is hashed', () => {
  expect(modelSizeProblem('https://x/m.gguf', 1234, 1234)).toBeUndefined();
  expect(modelSizeProblem('https://x/m.gguf', 1234, 1233)).toBe('model from https://x/m.gguf: size mismatch: expected 1234 bytes, got 1233');
  expect(modelSizeProblem('s3://b/m.gguf', 1234, 0)).toBe('model from s3://b/m.gguf: size mismatch: expected 1234 bytes, got 0');
});

test('a file of another SHA-256 is refused; one whose hash did not finish in time is not taken either', () => {
  expect(modelDigestProblem('o', SHA, SHA, 600)).toBeUndefined();
  expect(modelDigestProblem('o', SHA, OTHER, 600)).toBe(`model from o: sha256 mismatch: expected ${SHA}, got ${OTHER}`);
  // Case counts: the template's is lowercase, as sha256sum prints it.
  expect(modelDigestProblem('o', SHA, SHA.toUpperCase(), 600)).toMatch(/sha256 mismatch/);
  expect(modelDigestProblem('o', SHA, null, 2400)).toBe('model from o: its SHA-256 did not finish within the boot deadline of 2400 s');
  expect(modelVerifiedLine(1234, SHA)).toBe(`model verified: 1234 bytes, sha256 ${SHA}`);
});

test('the stamp names what was verified: the source\'s SHA-256 and size, or the source and the type it was quantized to', () => {
  expect(modelStamp({ modelSha256: SHA, modelSizeBytes: 1234, quantizeTo: '' })).toBe(`${SHA} 1234`);
  expect(modelStamp({ modelSha256: SHA, modelSizeBytes: 1234, quantizeTo: 'Q4_0' })).toBe(`quantized ${SHA} Q4_0`);
});

test('a model is reused only where it exists beside the stamp of this configuration', () => {
  const want = `${SHA} 1234`;
  expect(stampHolds(true, `${want}\n`, want)).toBe(true);
  expect(stampHolds(true, want, want)).toBe(true);
  expect(stampHolds(true, `${want}\n\n`, want)).toBe(true);
  expect(stampHolds(false, `${want}\n`, want)).toBe(false);
  expect(stampHolds(true, undefined, want)).toBe(false);
  expect(stampHolds(true, `${SHA} 1235\n`, want)).toBe(false);
  expect(stampHolds(true, `${want} \n`, want)).toBe(false);
  expect(stampHolds(true, `quantized ${SHA} Q4_0\n`, want)).toBe(false);
  expect(stampHolds(true, '', '')).toBe(true);
});

test('a quantized model from the cache must have the SHA-256 its version was written with', () => {
  expect(cachedDigestProblem(SHA, SHA)).toBeUndefined();
  expect(cachedDigestProblem('', SHA)).toBe('it records no SHA-256');
  expect(cachedDigestProblem(SHA, null)).toBe('its SHA-256 did not finish within the boot deadline');
  expect(cachedDigestProblem(SHA, OTHER)).toBe(`its SHA-256 is ${OTHER}, not the ${SHA} it was cached with`);
});

test('the recorded SHA-256: from S3\'s metadata only 64 lowercase hex digits, blanks aside; from a local file its text', () => {
  expect(recordedSha256FromS3(`${SHA}\n`)).toBe(SHA);
  expect(recordedSha256FromS3(` ${SHA.slice(0, 32)}\t${SHA.slice(32)}\r\n`)).toBe(SHA);
  expect(recordedSha256FromS3('None\n')).toBe('');
  expect(recordedSha256FromS3(SHA.toUpperCase())).toBe('');
  expect(recordedSha256FromS3(SHA.slice(1))).toBe('');
  expect(recordedSha256FromFile(`${SHA}\n`)).toBe(SHA);
  expect(recordedSha256FromFile(undefined)).toBe('');
  expect(recordedSha256FromFile(` ${SHA}`)).toBe(` ${SHA}`);
});
