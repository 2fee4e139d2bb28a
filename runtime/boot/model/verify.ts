/**
 * Whether a model file is the one the template names: the decisions the
 * model phase takes on a file's size and SHA-256, on the stamp a verified
 * model leaves, and on a quantized model read back from the cache.
 *
 * Why: the model is served to every client and read by llama-server's
 * parser, so a file that is not the one the template names (a damaged
 * download, a cache object written again by whoever holds an instance's
 * credentials) is never served: a source model must have the size and
 * SHA-256 of the template, checked after every download and every cache read;
 * a model quantized on an instance, which no template can name, must have the
 * SHA-256 recorded with the very cache version read (see cache/versions.ts for
 * why the version first written). A re-run reuses a model only beside the
 * stamp written after its verification, which names what was verified, so a
 * changed configuration never reuses a model verified for another.
 *
 * Pure: the caller hashes the file (under the boot's deadline) and reads the stamp.
 */

/** What a model's stamp says was verified: the source model's SHA-256 and size, or the source and type it was quantized from and to. */
export interface ModelStampInput {
  readonly modelSha256: string;
  readonly modelSizeBytes: number;
  /** Empty: the source is served as fetched. */
  readonly quantizeTo: string;
}

/** The text of the stamp (MODEL.verified) written beside a model once verified, or quantized from a verified source (and newline-terminated when written). */
export function modelStamp(input: ModelStampInput): string {
  return input.quantizeTo === '' ? `${input.modelSha256} ${input.modelSizeBytes}` : `quantized ${input.modelSha256} ${input.quantizeTo}`;
}

/**
 * Whether the model at hand is the verified one and may be reused without
 * another SHA-256: it exists, and its stamp (read whole; undefined where there
 * is none) is `want` (modelStamp's), trailing newlines aside.
 */
export function stampHolds(modelExists: boolean, stamp: string | undefined, want: string): boolean {
  return modelExists && stamp !== undefined && stamp.replace(/\n+$/, '') === want;
}

/**
 * Why a model file of `sizeBytes` is not the one expected, or undefined.
 * Checked before its SHA-256, which takes minutes for a large model.
 * `origin` is where it came from, for the boot's failure reason.
 */
export function modelSizeProblem(origin: string, expectedSizeBytes: number, sizeBytes: number): string | undefined {
  return sizeBytes === expectedSizeBytes ? undefined : `model from ${origin}: size mismatch: expected ${expectedSizeBytes} bytes, got ${sizeBytes}`;
}

/**
 * Why a model file whose SHA-256 is `sha256` (null: hashing did not finish
 * within the boot's deadline of `deadlineSeconds`) is not the one expected,
 * or undefined. A file that fails is deleted, never moved into place.
 */
export function modelDigestProblem(origin: string, expectedSha256: string, sha256: string | null, deadlineSeconds: number): string | undefined {
  if (sha256 === null) return `model from ${origin}: its SHA-256 did not finish within the boot deadline of ${deadlineSeconds} s`;
  return sha256 === expectedSha256 ? undefined : `model from ${origin}: sha256 mismatch: expected ${expectedSha256}, got ${sha256}`;
}

/** The log line of a model that passed both checks. */
export function modelVerifiedLine(sizeBytes: number, sha256: string): string {
  return `model verified: ${sizeBytes} bytes, sha256 ${sha256}`;
}

/**
 * Why a quantized model read from the cache is not served, or undefined:
 * its SHA-256 (null: hashing did not finish within the deadline) must be the
 * one `recorded` with the version read (recordedSha256FromS3 or
 * recordedSha256FromFile; empty where none was).
 */
export function cachedDigestProblem(recorded: string, sha256: string | null): string | undefined {
  if (recorded === '') return 'it records no SHA-256';
  if (sha256 === null) return 'its SHA-256 did not finish within the boot deadline';
  return sha256 === recorded ? undefined : `its SHA-256 is ${sha256}, not the ${recorded} it was cached with`;
}

/**
 * The SHA-256 an S3 cache version was written with, from its `sha256`
 * metadata as the CLI prints it (`None` where it has none): whitespace
 * dropped, and empty unless 64 lowercase hex digits remain.
 */
export function recordedSha256FromS3(metadata: string): string {
  const sha = metadata.replace(/[ \t\n\v\f\r]/g, '');
  return /^[0-9a-f]{64}$/.test(sha) ? sha : '';
}

/** The SHA-256 a local cache file was written with: its `.sha256` file's text, trailing newlines aside (undefined: no such file, so none). */
export function recordedSha256FromFile(text: string | undefined): string {
  return text === undefined ? '' : text.replace(/\n+$/, '');
}
