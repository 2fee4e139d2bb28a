/**
 * The pinned read: exactly the pinned version, checked against the pinned
 * SHA-256; a missing version or other bytes fail with a reason naming the
 * object, the version and both digests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPinned } from '../../../../runtime/boot/cache/pinned';
import { FakeCache } from '../support/fake-cache';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const hashFile = async (file: string) => sha(readFileSync(file, 'utf8'));
const REL = 'builds/0123456789abcdef0123456789abcdef.tar.gz';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gllm-pinned-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function read(cache: FakeCache, versionId: string, sha256: string) {
  const dest = join(dir, 'out');
  return { dest, result: readPinned({ cache, pin: { object: REL, versionId, sha256 }, what: 'build', pinsFile: '/etc/p.json', dest, sha256: hashFile }) };
}

test('the pinned version is read, even where later versions were written, and no other is touched', async () => {
  const cache = new FakeCache({ [REL]: [{ id: 'v1', content: 'builder' }, { id: 'v2', content: 'planted' }] });
  const { dest, result } = read(cache, 'v1', sha('builder'));
  await expect(result).resolves.toBeUndefined();
  expect(readFileSync(dest, 'utf8')).toBe('builder');
  expect(cache.reads).toEqual(['v1']);
  expect(cache.puts).toEqual([]);
});

test('a pinned version that is gone fails, naming the object and the version', async () => {
  const cache = new FakeCache({ [REL]: [{ id: 'v2', content: 'planted' }] });
  await expect(read(cache, 'v1', sha('builder')).result).resolves
    .toBe(`pinned build ${REL} version v1 cannot be read from s3://fake-bucket/cache (connection reset); the pins in /etc/p.json name no other`);
  expect(cache.reads).toEqual(['v1']);
});

test('a pinned version of other bytes fails, naming the expected and the actual digest', async () => {
  const cache = new FakeCache({ [REL]: [{ id: 'v1', content: 'rewritten' }] });
  await expect(read(cache, 'v1', sha('builder')).result).resolves
    .toBe(`pinned build ${REL} version v1 has SHA-256 ${sha('rewritten')}, but the pins in /etc/p.json expect ${sha('builder')}; not using it`);
});
