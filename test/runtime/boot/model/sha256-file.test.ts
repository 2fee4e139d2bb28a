import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sha256OfFile } from '../../../../runtime/boot/model/sha256-file';
import { FakeClock } from '../support/fake-clock';

const dir = mkdtempSync(path.join(tmpdir(), 'gllm-sha256-file-'));

/** A clock that moves `stepMs` each time it is read: a hash of many chunks outlives a near limit. */
class TickingClock extends FakeClock {
  constructor(private readonly stepMs: number) {
    super();
  }
  override now(): number {
    this.advance(this.stepMs);
    return super.now();
  }
}

test('the SHA-256 of a file of several chunks is sha256sum\'s', async () => {
  const file = path.join(dir, 'big');
  const content = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  writeFileSync(file, content);
  const clock = new FakeClock();
  await expect(sha256OfFile(file, clock.now() + 1000, clock)).resolves.toBe(createHash('sha256').update(content).digest('hex'));
});

test('an empty file has the empty string\'s SHA-256', async () => {
  const file = path.join(dir, 'empty');
  writeFileSync(file, '');
  const clock = new FakeClock();
  await expect(sha256OfFile(file, clock.now() + 1000, clock)).resolves.toBe(createHash('sha256').digest('hex'));
});

test('a limit already passed hashes nothing: null', async () => {
  const file = path.join(dir, 'small');
  writeFileSync(file, 'x');
  const clock = new FakeClock();
  await expect(sha256OfFile(file, clock.now(), clock)).resolves.toBeNull();
});

test('a hash that reaches the limit between chunks stops: null', async () => {
  const file = path.join(dir, 'slow');
  writeFileSync(file, Buffer.alloc(4 * 1024 * 1024));
  const clock = new TickingClock(1000);
  // The first reading is before the first chunk, each chunk reads once more: the limit falls inside.
  await expect(sha256OfFile(file, clock.now() + 2500, clock)).resolves.toBeNull();
});

test('a missing file is an error for the caller (not a digest)', async () => {
  const clock = new FakeClock();
  await expect(sha256OfFile(path.join(dir, 'absent'), clock.now() + 1000, clock)).rejects.toThrow(/ENOENT/);
});
