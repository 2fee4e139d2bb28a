/**
 * Side by side: boot.sh's s3_versions and cache_versions (the listing),
 * note_rewrites and cache_first_good (the choice) against
 * runtime/boot/cache/versions.ts, on the same versions and check outcomes.
 * The AWS CLI is a stand-in that answers list-object-versions from the row's
 * JSON, applying the query boot.sh sends with JMESPath and printing it as the
 * CLI's text output does; the download and the check are functions defined
 * after boot.sh is sourced, answering by version id.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type CacheVersion, firstGoodStep, type FirstGoodStep, localCacheVersions, s3CacheVersions, type S3ObjectVersion, type VersionTry } from '../../../../runtime/boot/cache/versions';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { AWS_ENV, LOCAL_ENV, envText } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-versions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let rows = 0;
const rowDir = () => {
  const t = path.join(dir, `row-${rows++}`);
  mkdirSync(path.join(t, 'bin'), { recursive: true });
  return t;
};

/** The log lines of a run (before the marker), without their time and step. */
const logLines = (stdout: string) => stdout.slice(0, stdout.indexOf('--\0')).split('\n').filter(Boolean).map((l) => l.replace(/^\S+ \[init\] /, ''));

describe('s3_versions and s3CacheVersions read a listing alike', () => {
  const KEY = 'cache/builds/k.tar.gz';
  const version = (VersionId: string | null, ETag: string, Size: number, Key = KEY): S3ObjectVersion => ({ Key, VersionId, ETag, Size });
  const LISTINGS: readonly (readonly [string, readonly S3ObjectVersion[]])[] = [
    ['no version', []],
    ['one version', [version('v1', '"0123abcd"', 1234)]],
    ['three, newest first', [version('v3', '"c"', 3), version('v2', '"b"', 2), version('v1', '"a"', 1)]],
    ['identical versions', [version('v2', '"a"', 1), version('v1', '"a"', 1)]],
    ['a multipart ETag', [version('v1', '"d41d8cd98f00b204e9800998ecf8427e-12"', 6 * 1024 ** 3)]],
    ['the null version of an object written before versioning', [version('v2', '"b"', 2), version('null', '"a"', 1)]],
    ['keys that share the prefix', [version('v1', '"a"', 1), version('o1', '"o"', 5, `${KEY}.old`), version('p1', '"p"', 6, `${KEY}/x`)]],
    ['another key only', [version('o1', '"o"', 5, `${KEY}.old`)]],
    ['an entry without a version id', [version('v2', '"b"', 2), version(null, '"x"', 9), version('v1', '"a"', 1)]],
    ['long version ids', [version('3sL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo', '"a"', 0)]],
  ];
  // The query with JMESPath where python3 has it (as the AWS CLI does); else the one form boot.sh sends, read by hand.
  const AWS_STUB = `#!/usr/bin/env python3
import json, os, re, sys
args = sys.argv[1:]
opt = lambda name: args[args.index(name) + 1]
if os.environ.get("LISTING_FAILS"):
    sys.stderr.write("An error occurred (AccessDenied) when calling the ListObjectVersions operation: Access Denied\\n")
    sys.exit(254)
with open(os.environ["LISTING"]) as f:
    listing = json.load(f)
listing["Versions"] = [v for v in listing["Versions"] if v["Key"].startswith(opt("--prefix"))]
assert opt("--output") == "text"
query = opt("--query")
try:
    import jmespath
    rows = jmespath.search(query, listing)
except ImportError:
    m = re.fullmatch(r"Versions\\[\\?Key=='([^']*)'\\]\\.\\[VersionId,ETag,Size\\]", query)
    if not m:
        sys.exit("stand-in CLI: a query it cannot read: " + query)
    rows = [[v.get("VersionId"), v.get("ETag"), v.get("Size")] for v in listing["Versions"] if v["Key"] == m.group(1)]
for row in rows or []:
    print("\\t".join("None" if x is None else str(x) for x in row))
`;

  function bashVersions(listed: readonly S3ObjectVersion[], fails = false): string[] | 'failed' {
    const t = rowDir();
    writeFileSync(path.join(t, 'bin', 'aws'), AWS_STUB, { mode: 0o755 });
    writeFileSync(path.join(t, 'listing.json'), JSON.stringify({ Versions: listed.map((v) => ({ IsLatest: false, LastModified: '2026-01-01T00:00:00Z', ...v })) }));
    writeFileSync(path.join(t, 'boot.env'), envText({ ...AWS_ENV, GLLM_CACHE_URI: 's3://bucket/cache' }));
    const r = inBootShell(
      `parse_env "$1"; T=$2; PATH=$T/bin:$PATH; export LISTING=$T/listing.json ${fails ? 'LISTING_FAILS=1' : ''}; STATE_DIR=$T; LOG_FILE=$T/boot.log; retry() { shift; "$@"; }; `
        + 'if cache_versions builds/k.tar.gz; then printf -- "--\\0"; for x in "${CACHE_VERSIONS[@]}"; do printf "%s\\0" "$x"; done; else printf -- "--\\0FAILED\\0"; fi',
      [path.join(t, 'boot.env'), t],
    );
    expect(r.stderr).toBe('');
    const words = wordsAfterMarker(r.stdout);
    return words[0] === 'FAILED' ? 'failed' : words;
  }
  const asLines = (versions: readonly CacheVersion[]) => versions.map((v) => `${v.id} ${v.etag} ${v.size}`);

  test.each(LISTINGS.map(([name, listed]) => [name, listed]))('%s', (_name, listed) => {
    expect(asLines(s3CacheVersions(KEY, listed))).toEqual(bashVersions(listed));
  });
  test('a listing that fails fails', () => {
    expect(bashVersions([], true)).toBe('failed');
  });

  test.each([[undefined], [0], [1234]])('a local cache holding a file of %s bytes', (size) => {
    const t = rowDir();
    mkdirSync(path.join(t, 'cache', 'builds'), { recursive: true });
    if (size !== undefined) writeFileSync(path.join(t, 'cache', 'builds', 'k.tar.gz'), 'x'.repeat(size));
    writeFileSync(path.join(t, 'boot.env'), envText({ ...LOCAL_ENV, GLLM_CACHE_URI: path.join(t, 'cache') }));
    const r = inBootShell('parse_env "$1"; cache_versions builds/k.tar.gz; printf -- "--\\0"; for x in "${CACHE_VERSIONS[@]}"; do printf "%s\\0" "$x"; done', [path.join(t, 'boot.env')]);
    expect(asLines(localCacheVersions(size))).toEqual(wordsAfterMarker(r.stdout));
  });
});

describe('cache_first_good and firstGoodStep choose alike: versions read, version taken, what is written, log lines', () => {
  interface Row {
    readonly name: string;
    /** undefined: the listing fails. */
    readonly versions: readonly CacheVersion[] | undefined;
    /** By version id; a version not named passes. */
    readonly outcomes?: Readonly<Record<string, VersionTry>>;
    readonly what?: 'build' | 'model';
  }
  const v = (id: string, etag = `etag-${id}`, size = 100): CacheVersion => ({ id, etag, size });
  const bad = (problem = 'its manifest is not this build key\'s (llama.cpp-commit=x)'): VersionTry => ({ outcome: 'failed', problem });
  const allBad = (ids: readonly string[]) => Object.fromEntries(ids.map((id) => [id, bad(`it is bad (${id})`)]));
  const six = ['a', 'b', 'c', 'd', 'e', 'f'];

  const ROWS: readonly Row[] = [
    { name: 'the listing fails', versions: undefined },
    { name: 'no version', versions: [] },
    { name: 'one version that passes', versions: [v('a')] },
    { name: 'a local version that passes', versions: [v('local', '-')] },
    { name: 'a local version that fails', versions: [v('local', '-')], outcomes: { local: bad() } },
    { name: 'a local version that cannot be read', versions: [v('local', '-')], outcomes: { local: { outcome: 'unread' } } },
    { name: 'identical versions, the first passes', versions: [v('a', 'x'), v('b', 'x')] },
    { name: 'a later version of other contents, the first passes', versions: [v('a', 'x'), v('b', 'y')] },
    { name: 'the same ETag, another size', versions: [v('a', 'x', 1), v('b', 'x', 2)], outcomes: { a: bad() } },
    { name: 'the first fails, the second passes', versions: [v('a'), v('b')], outcomes: { a: bad() } },
    { name: 'the first fails, one like it is skipped, the third passes', versions: [v('a', 'x'), v('b', 'x'), v('c', 'y')], outcomes: { a: bad() } },
    { name: 'all of three fail', versions: [v('a'), v('b'), v('c')], outcomes: allBad(['a', 'b', 'c']) },
    { name: 'the last ones skipped after a failure', versions: [v('a', 'x'), v('b', 'x'), v('c', 'x')], outcomes: { a: bad() } },
    { name: 'four fail: each tried, a replacement written', versions: six.slice(0, 4).map((id) => v(id)), outcomes: allBad(six) },
    { name: 'five fail: the fifth left untried, nothing written', versions: six.slice(0, 5).map((id) => v(id)), outcomes: allBad(six) },
    { name: 'six fail: two left untried', versions: six.map((id) => v(id)), outcomes: allBad(six) },
    { name: 'four fail, the fifth like the first: skipped, not counted', versions: [...six.slice(0, 4).map((id) => v(id)), v('e', 'etag-a')], outcomes: allBad(six) },
    {
      name: 'skips between failures do not count toward the limit',
      versions: [v('a', 'x'), v('b', 'x'), v('c', 'y'), v('d', 'x'), v('e', 'z'), v('f', 'w'), v('g', 'u')], outcomes: { ...allBad(six), f: bad() },
    },
    { name: 'four fail, the fifth passes only if tried', versions: six.slice(0, 5).map((id) => v(id)), outcomes: allBad(six.slice(0, 4)) },
    { name: 'the first cannot be read', versions: [v('a'), v('b')], outcomes: { a: { outcome: 'unread' } } },
    { name: 'a failure, then one that cannot be read', versions: [v('a'), v('b'), v('c')], outcomes: { a: bad(), b: { outcome: 'unread' } } },
    {
      name: 'a quantized model: the null version, a problem with odd characters',
      what: 'model', versions: [v('null'), v('v2')], outcomes: { null: bad('its SHA-256 is %s \\n "x", not the $y it was cached with') },
    },
  ];

  function bashChoice(row: Row) {
    const t = rowDir();
    writeFileSync(path.join(t, 'versions'), row.versions === undefined ? 'FAIL' : row.versions.map((x) => `${x.id} ${x.etag} ${x.size}\n`).join(''));
    writeFileSync(path.join(t, 'outcomes'), Object.entries(row.outcomes ?? {}).map(([id, o]) => `${id}\t${o.outcome}\t${o.outcome === 'failed' ? o.problem : ''}\n`).join(''));
    writeFileSync(path.join(t, 'reads'), '');
    writeFileSync(path.join(t, 'boot.env'), envText(AWS_ENV));
    const [what, instead] = row.what === 'model' ? ['model', 'quantizing'] : ['build', 'compiling'];
    const r = inBootShell([
      'parse_env "$1"; T=$2',
      'cache_versions() { CACHE_VERSIONS=(); [[ $(<"$T/versions") != FAIL ]] || return 1; mapfile -t CACHE_VERSIONS <"$T/versions"; }',
      'outcome() { local id o p; while IFS=$\'\\t\' read -r id o p; do [[ $id == "$1" ]] && { printf "%s\\t%s" "$o" "$p"; return; }; done <"$T/outcomes"; printf "passed\\t"; }',
      'cache_read_version() { echo "$2" >>"$T/reads"; [[ $(outcome "$2") != unread* ]] || return 1; printf "%s" "$2" >"$3"; }',
      'check() { local o; o=$(outcome "$(<"$1")"); [[ $o == passed* ]] && return 0; printf "%s\\n" "${o#*$\'\\t\'}"; return 1; }',
      `if cache_first_good ${what} builds/k.tar.gz "$T/dest" ${instead} check; then r=take; else r=miss; fi`,
      'printf -- "--\\0%s\\0%s\\0%s\\0" "$r" "$CACHE_TAKEN" "$CACHE_NEXT_WRITE"',
    ].join('\n'), [path.join(t, 'boot.env'), t]);
    expect(r.stderr).toBe('');
    const [kind, taken, write] = wordsAfterMarker(r.stdout);
    return { read: readFileSync(path.join(t, 'reads'), 'utf8').split('\n').filter(Boolean), kind, taken, write, lines: logLines(r.stdout) };
  }

  function tsChoice(row: Row) {
    const [what, instead] = row.what === 'model' ? ['model', 'quantizing'] : ['build', 'compiling'];
    const tried: VersionTry[] = [];
    const read: string[] = [];
    let step: FirstGoodStep;
    for (;;) {
      step = firstGoodStep({ what, rel: 'builds/k.tar.gz', instead, versions: row.versions, tried });
      if (step.kind !== 'read') break;
      read.push(step.version.id);
      tried.push(row.outcomes?.[step.version.id] ?? { outcome: 'passed' });
    }
    // What boot.sh leaves in CACHE_TAKEN and CACHE_NEXT_WRITE: a hit leaves the write as it began (if-absent).
    return {
      read, kind: step.kind, taken: step.kind === 'take' ? step.taken : '', write: step.kind === 'miss' ? step.write : 'if-absent', lines: step.lines,
    };
  }

  test.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    expect(tsChoice(row)).toEqual(bashChoice(row));
  });
});
