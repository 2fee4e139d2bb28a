/**
 * How a pinned fleet instance reads what the builder wrote: exactly the
 * version its pins name, checked against the SHA-256 they carry (of the
 * object's bytes as stored), and nothing else: no other version, no
 * listing, no write. A version that cannot be read or does not match fails
 * the boot; the fleet has no other source it trusts.
 */
import type { Cache } from '../ports';
import type { PinnedObject } from '../pins';

export interface PinnedReadInput {
  /** The bucket's cache (its readVersion reads a version by its id alone). */
  readonly cache: Pick<Cache, 'readVersion' | 'location'>;
  readonly pin: PinnedObject;
  /** What the object is, for the problem: `build`, `model`. */
  readonly what: string;
  /** Where the pins came from (GLLM_PINS_FILE), for the problem. */
  readonly pinsFile: string;
  /** The file the version is written to. */
  readonly dest: string;
  /** The SHA-256 of a file, or null where it did not finish in time (model/sha256-file.ts). */
  readonly sha256: (file: string) => Promise<string | null>;
}

/** Undefined where `dest` holds the pinned version; else the boot's failure reason, one line naming the object, its version and the digests. */
export async function readPinned(input: PinnedReadInput): Promise<string | undefined> {
  const { cache, pin, what } = input;
  const named = `pinned ${what} ${pin.object} version ${pin.versionId}`;
  // readVersion uses the version's id only; its ETag and size are what a listing would add.
  const read = await cache.readVersion(pin.object, { id: pin.versionId, etag: '-', size: 0 }, input.dest);
  if (!read.ok) return `${named} cannot be read from ${cache.location} (${read.detail}); the pins in ${input.pinsFile} name no other`;
  const actual = await input.sha256(input.dest);
  if (actual === null) return `${named}: its SHA-256 did not finish within the boot deadline`;
  if (actual !== pin.sha256) return `${named} has SHA-256 ${actual}, but the pins in ${input.pinsFile} expect ${pin.sha256}; not using it`;
  return undefined;
}
