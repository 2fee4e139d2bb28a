/**
 * The choice of a cache object's version in-process: the listing, the
 * rewrite warning, and the search for the first version that passes.
 */
import {
  CACHE_VERSIONS_TRIED, type CacheVersion, firstGoodStep, type FirstGoodStep, localCacheVersions, rewriteNote, s3CacheVersions, type VersionTry,
} from '../../../../runtime/boot/cache/versions';

const v = (id: string, etag = `e-${id}`, size = 10): CacheVersion => ({ id, etag, size });

test('S3 lists a key\'s versions newest first: they are tried oldest first, that key\'s only, unquoted, those without an id left out', () => {
  expect(s3CacheVersions('cache/builds/k.tar.gz', [
    { Key: 'cache/builds/k.tar.gz', VersionId: 'v3', ETag: '"e3"', Size: 3 },
    { Key: 'cache/builds/k.tar.gz', VersionId: null, ETag: '"ex"', Size: 9 },
    { Key: 'cache/builds/k.tar.gz', VersionId: 'v2', ETag: '"e2-2"', Size: 2 },
    { Key: 'cache/builds/k.tar.gz', ETag: '"ey"', Size: 9 },
    { Key: 'cache/builds/k.tar.gz', VersionId: 'null', ETag: '"e1"', Size: 1 },
    { Key: 'cache/builds/k.tar.gz.old', VersionId: 'o1', ETag: '"eo"', Size: 5 },
  ])).toEqual([{ id: 'null', etag: 'e1', size: 1 }, { id: 'v2', etag: 'e2-2', size: 2 }, { id: 'v3', etag: 'e3', size: 3 }]);
  expect(s3CacheVersions('k', [])).toEqual([]);
});

test('a local cache holds one version of a file, or none', () => {
  expect(localCacheVersions(1234)).toEqual([{ id: 'local', etag: '-', size: 1234 }]);
  expect(localCacheVersions(undefined)).toEqual([]);
});

test('versions that differ warn, naming them oldest first; identical ones are only noted; one says nothing', () => {
  expect(rewriteNote('builds/k.tar.gz', [v('a')])).toBeUndefined();
  expect(rewriteNote('builds/k.tar.gz', [v('a', 'x', 1), v('b', 'x', 1)])).toBe('builds/k.tar.gz has 2 versions of the same contents (instances that cached it at the same time)');
  // The same ETag and another size are other contents.
  expect(rewriteNote('builds/k.tar.gz', [v('a', 'x', 1), v('b', 'x', 1), v('c', 'x', 2)])).toBe(
    'WARNING: builds/k.tar.gz has 3 versions: it was written again after it was first cached, with other contents (2 different); trying them oldest first (a b c)',
  );
});

/** Runs the search with `outcomes` for the versions it reads, in order; returns the ids read and the final step. */
function search(versions: readonly CacheVersion[] | undefined, outcomes: readonly VersionTry[], limit?: number): { read: string[]; last: FirstGoodStep } {
  const tried: VersionTry[] = [];
  const read: string[] = [];
  for (;;) {
    const step = firstGoodStep({ what: 'build', rel: 'builds/k.tar.gz', instead: 'compiling', versions, tried, limit });
    if (step.kind !== 'read') return { read, last: step };
    read.push(step.version.id);
    tried.push(outcomes[tried.length] ?? { outcome: 'passed' });
  }
}
const fails = (problem = 'it is bad'): VersionTry => ({ outcome: 'failed', problem });

test('no listing, or no version: a miss, written only if no other instance writes it first', () => {
  expect(search(undefined, [])).toEqual({ read: [], last: { kind: 'miss', write: 'if-absent', lines: ['cache listing of builds/k.tar.gz failed; treating it as a miss; compiling'] } });
  expect(search([], [])).toEqual({ read: [], last: { kind: 'miss', write: 'if-absent', lines: ['build: cache miss builds/k.tar.gz; compiling'] } });
});

test('the oldest version that passes is taken, though a later one was written (and the log names which of how many)', () => {
  expect(search([v('a'), v('b')], [{ outcome: 'passed' }])).toEqual({
    read: ['a'],
    last: { kind: 'take', version: v('a'), taken: ', version a (written 1 of 2)', lines: [expect.stringMatching(/^WARNING: builds\/k\.tar\.gz has 2 versions/)] },
  });
  expect(search([v('local', '-')], [])).toEqual({ read: ['local'], last: { kind: 'take', version: v('local', '-'), taken: '', lines: [] } });
});

test('a version that fails is discarded and the next tried; one of the same contents is skipped unread', () => {
  const { read, last } = search([v('a', 'x'), v('b', 'x'), v('c', 'y')], [fails('it lacks llama-server')]);
  expect(read).toEqual(['a', 'c']);
  expect(last).toMatchObject({ kind: 'take', version: { id: 'c' }, taken: ', version c (written 3 of 3)' });
  expect(last.lines.slice(1)).toEqual([
    'build: discarding cached builds/k.tar.gz version a: it lacks llama-server',
    'build: skipping cached builds/k.tar.gz version b: the same contents as a version discarded above',
  ]);
});

test('every version fails: a replacement is written whatever is there', () => {
  expect(search([v('local', '-')], [fails()]).last).toEqual({
    kind: 'miss', write: 'always', lines: ['build: discarding cached builds/k.tar.gz: it is bad; compiling a replacement'],
  });
  // The last ones skipped: the search ends after them.
  expect(search([v('a', 'x'), v('b', 'x')], [fails()]).last).toEqual({
    kind: 'miss', write: 'always', lines: [
      'builds/k.tar.gz has 2 versions of the same contents (instances that cached it at the same time)',
      'build: discarding cached builds/k.tar.gz version a: it is bad',
      'build: skipping cached builds/k.tar.gz version b: the same contents as a version discarded above',
      'build: no version of builds/k.tar.gz passes its checks; compiling a replacement',
    ],
  });
});

test(`at most ${CACHE_VERSIONS_TRIED} versions of different contents are read; then nothing is written, which would never be tried`, () => {
  const versions = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => v(id));
  const { read, last } = search(versions, versions.map(() => fails()));
  expect(read).toEqual(['a', 'b', 'c', 'd']);
  expect(last).toMatchObject({ kind: 'miss', write: 'none' });
  expect(last.lines[last.lines.length - 1]).toBe('WARNING: build: none of the 4 versions of builds/k.tar.gz tried passes its checks; not trying its 2 later ones; '
    + 'compiling, and not caching the result, which would never be tried either (delete the bad versions to let instances use the cache again)');
  // Skipped versions do not count.
  expect(search([v('a', 'x'), v('b', 'x'), v('c', 'x'), v('d'), v('e')], [fails(), fails()], 2).read).toEqual(['a', 'd']);
  // The limit reached on the last version: it is tried.
  expect(search(versions.slice(0, 4), versions.map(() => fails())).last).toMatchObject({ kind: 'miss', write: 'always' });
});

test('a version that cannot be read ends the search: not shown bad, nothing is written in its place', () => {
  expect(search([v('a'), v('b')], [fails(), { outcome: 'unread' }])).toEqual({
    read: ['a', 'b'],
    last: { kind: 'miss', write: 'none', lines: [expect.stringMatching(/^WARNING/), 'build: discarding cached builds/k.tar.gz version a: it is bad', 'cache read of builds/k.tar.gz version b failed; treating it as a miss; compiling'] },
  });
});
