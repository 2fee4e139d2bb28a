/**
 * Side by side: boot.sh's build_tarball_problem against
 * runtime/boot/build/tarball.ts on the same listings, problem text included.
 * Most rows stand in for tar with a function that prints the row's listing
 * (so odd layouts tar would never print are covered too); the last rows are
 * real tarballs listed by the real tar, for bash and for the port alike.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TAR_LIST_ARGS, TAR_LIST_ENV, tarballListingProblem, unreadableTarballProblem } from '../../../../runtime/boot/build/tarball';
import { inBootShell } from '../support/boot-shell';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-tarball-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** What build_tarball_problem says of a tarball whose `tar -tv` prints `output` and exits `status`: its problem, or undefined. */
function bashProblem(output: string, status = 0): string | undefined {
  const file = path.join(dir, `listing-${files++}`);
  writeFileSync(file, output);
  const r = inBootShell('LISTING=$1 STATUS=$2; tar() { cat "$LISTING"; return "$STATUS"; }; LC_ALL=C; build_tarball_problem t.tar.gz && echo PASSES', [file, String(status)]);
  expect(r.stderr).toBe('');
  return r.stdout === 'PASSES\n' ? undefined : r.stdout.replace(/\n$/, '');
}

const entry = (mode: string, name: string, size = '1', owner = '0/0') => `${mode} ${owner} ${size.padStart(15)} 1970-01-01 00:00 ${name}`;
const BUILD = [entry('drwxr-xr-x', './', '0'), entry('drwxr-xr-x', './bin/', '0'), entry('-rwxr-xr-x', './bin/llama-server'), entry('-rw-r--r--', './manifest.txt')];
const withEntry = (...lines: string[]) => `${[...BUILD, ...lines].join('\n')}\n`;

/** Listings: the build alone, one row per kind of entry and name, then odd layouts. */
const LISTINGS: readonly (readonly [string, string])[] = [
  ['the build', withEntry()],
  ['an empty tarball', ''],
  ['no newline at the end', withEntry().trimEnd()],
  ['blank lines', `\n${withEntry()}\n\n`],
  ['a line of blanks', withEntry('   ')],
  ['a tab-separated line', withEntry('-rw-r--r--\t0/0\t1\t1970-01-01\t00:00\t./tabbed')],
  ['trailing blanks after a name', withEntry(`${entry('-rw-r--r--', './x')}   `)],
  ['leading blanks before the mode', withEntry(`  ${entry('-rw-r--r--', './x')}`)],
  ['a numeric owner', withEntry(entry('-rw-r--r--', './x', '1', '1234/5678'))],
  ['every rwx combination', withEntry(entry('----------', './a'), entry('-rwxrwxrwx', './b'), entry('d-w---x-wx', './c/', '0'))],
  ['names a build has', withEntry(entry('-rw-r--r--', './lib/libstdc++.so.6'), entry('-rw-r--r--', 'bin/_x-1.2'), entry('-rw-r--r--', './a..b'), entry('-rw-r--r--', '.hidden'))],
  ['a symbolic link', withEntry(entry('lrwxrwxrwx', './bin/llama-server -> /etc/passwd', '0'))],
  ['a symbolic link inside the tree', withEntry(entry('lrwxrwxrwx', './bin/q -> llama-server', '0'))],
  ['a link whose target holds its time', withEntry(entry('lrwxrwxrwx', './l -> 00:00 x', '0'))],
  ['a hard link', withEntry(entry('hrw-r--r--', './bin/shadow link to /etc/shadow', '0'))],
  ['a character device', withEntry(entry('crw-rw-rw-', './bin/mem', '1,3'))],
  ['a block device', withEntry(entry('brw-r--r--', './sda', '8,0'))],
  ['a FIFO', withEntry(entry('prw-r--r--', './fifo', '0'))],
  ['a socket', withEntry(entry('srwxr-xr-x', './sock', '0'))],
  ['a contiguous file', withEntry(entry('Crw-r--r--', './c'))],
  ['a short line', withEntry('-rw-r--r--')],
  ['a short link line', withEntry('lrwxrwxrwx 0/0 x')],
  ['a link line without blanks', withEntry('lrwxrwxrwx')],
  ['a setuid program', withEntry(entry('-rwsr-xr-x', './bin/llama-server'))],
  ['setuid without x', withEntry(entry('-rwSr-xr-x', './bin/s'))],
  ['a setgid directory', withEntry(entry('drwxr-sr-x', './lib/', '0'))],
  ['a sticky directory', withEntry(entry('drwxrwxrwt', './tmp/', '0'))],
  ['a mode of ten odd letters', withEntry(entry('-abcdefghi', './x'))],
  ['a mode too long', withEntry(entry('-rw-r--r--+', './acl'))],
  ['an absolute name', withEntry(entry('-rw-r--r--', '/etc/cron.d/x'))],
  ['a name out of the tree', withEntry(entry('-rw-r--r--', '../escaped'))],
  ['a climb inside a name', withEntry(entry('-rw-r--r--', './bin/../../x'))],
  ['a name ending in ..', withEntry(entry('drwxr-xr-x', './bin/..', '0'))],
  ['a name that is ..', withEntry(entry('drwxr-xr-x', '..', '0'))],
  ['a name with a space', withEntry(entry('-rw-r--r--', './a b'))],
  ['a name with a tab', withEntry(entry('-rw-r--r--', './a\tb'))],
  ['a name with quotes and a dollar', withEntry(entry('-rw-r--r--', `./it's "$HOME"`))],
  ['a name with a backslash escape (tar\'s newline)', withEntry(entry('-rw-r--r--', './new\\nline'))],
  ['a name with a comment sign and a tilde', withEntry(entry('-rw-r--r--', '#x'), entry('-rw-r--r--', '~root'))],
  ['a name with a carriage return', withEntry(entry('-rw-r--r--', './cr\r'))],
  ['a name with a control character', withEntry(entry('-rw-r--r--', './bell\x07'))],
  ['a name with non-ASCII letters', withEntry(entry('-rw-r--r--', './café'))],
  ['a setuid file with an odd name', withEntry(entry('-rwsr-xr-x', './a b'))],
];

describe('build_tarball_problem and tarballListingProblem decide alike on the same listing', () => {
  test.each(LISTINGS.map(([name, listing]) => [name, listing]))('%s', (_name, listing) => {
    expect(tarballListingProblem(listing)?.text).toBe(bashProblem(listing));
  });

  test.each([
    ['gzip\'s complaint', 'gzip: stdin: not in gzip format\ntar: Child returned status 1\ntar: Error is not recoverable: exiting now\n', 2],
    ['no output', '', 2],
    ['a listing cut short', `${entry('-rw-r--r--', './x')}\ntar: Unexpected EOF in archive\n`, 2],
  ])('a tarball tar cannot list (%s)', (_name, output, status) => {
    expect(unreadableTarballProblem(output).text).toBe(bashProblem(output, status));
  });
});

describe('on real tarballs listed by the real tar', () => {
  /** Writes a .tar.gz of `entries` with Python's tarfile, which writes what GNU tar would refuse to make. */
  function tarball(entries: readonly { name: string; type?: string; mode?: number; target?: string }[]): string {
    const file = path.join(dir, `real-${files++}.tar.gz`);
    const py = `
import io, json, sys, tarfile
types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}
with tarfile.open(sys.argv[1], "w:gz", format=tarfile.GNU_FORMAT) as tar:
    for e in json.load(sys.stdin):
        info = tarfile.TarInfo(e["name"])
        info.type = types[e.get("type", "file")]
        info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
        info.linkname = e.get("target", "")
        if info.type == tarfile.CHRTYPE:
            info.devmajor, info.devminor = 1, 3
        data = b"x" if info.type == tarfile.REGTYPE else b""
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data) if data else None)
`;
    const r = spawnSync('python3', ['-c', py, file], { input: JSON.stringify(entries), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return file;
  }
  const build = [{ name: './', type: 'dir' }, { name: './bin/', type: 'dir' }, { name: './bin/llama-server', mode: 0o755 }];
  const rows: readonly (readonly [string, readonly { name: string; type?: string; mode?: number; target?: string }[]])[] = [
    ['the build', build],
    ['a symbolic link', [...build, { name: './l', type: 'symlink', target: '/etc/passwd' }]],
    ['a hard link', [...build, { name: './h', type: 'hardlink', target: '/etc/shadow' }]],
    ['a device', [...build, { name: './c', type: 'chardev', mode: 0o666 }]],
    ['a FIFO', [...build, { name: './f', type: 'fifo' }]],
    ['a setuid program', [...build, { name: './bin/s', mode: 0o4755 }]],
    ['a sticky file', [...build, { name: './t', mode: 0o1644 }]],
    ['an absolute name', [...build, { name: '/abs' }]],
    ['a name out of the tree', [...build, { name: '../up' }]],
    ['a newline in a name', [...build, { name: './new\nline' }]],
    ['non-ASCII letters in a name', [...build, { name: './café' }]],
  ];
  test.each(rows.map(([name, entries]) => [name, entries]))('%s', (_name, entries) => {
    const file = tarball(entries);
    const listed = spawnSync('tar', [...TAR_LIST_ARGS, file], { encoding: 'utf8', env: { ...process.env, ...TAR_LIST_ENV } });
    expect(listed.status).toBe(0);
    const r = inBootShell('build_tarball_problem "$1" && echo PASSES', [file]);
    expect(tarballListingProblem(listed.stdout)?.text ?? 'PASSES').toBe(r.stdout.replace(/\n$/, ''));
  });
  test('a file that is no tarball', () => {
    const file = path.join(dir, 'not.tar.gz');
    writeFileSync(file, 'not a tarball\n');
    const listed = spawnSync('tar', [...TAR_LIST_ARGS, file], { encoding: 'utf8', env: { ...process.env, ...TAR_LIST_ENV } });
    expect(listed.status).not.toBe(0);
    const r = inBootShell('build_tarball_problem "$1" && echo PASSES', [file]);
    expect(unreadableTarballProblem(listed.stdout + listed.stderr).text).toBe(r.stdout.replace(/\n$/, ''));
  });
});
