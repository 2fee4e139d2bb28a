/**
 * The SHA-256 of a file, read in a stream so a model of gigabytes never sits
 * in memory, and given up at the boot's time limit. The decisions taken on
 * the digest are model/verify.ts's.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Clock } from '../core/clock';

/**
 * The lowercase hex SHA-256 of `file`, or null where it did not finish by
 * `limitMs` (ms since the epoch, Deadline.timeLimitMs): the time is checked
 * between chunks of 1 MiB, so a stopped hash ends within one read.
 */
export async function sha256OfFile(file: string, limitMs: number, clock: Clock): Promise<string | null> {
  if (clock.now() >= limitMs) return null;
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream) {
      if (clock.now() >= limitMs) return null;
      hash.update(chunk as Buffer);
    }
  } finally {
    stream.destroy();
  }
  return hash.digest('hex');
}
