/**
 * The cached build's tarball listing in-process: what passes, and every kind
 * of refusal.
 */
import { tarballListingProblem, unreadableTarballProblem } from '../../../../runtime/boot/build/tarball';

/** A listing line as `LC_ALL=C tar --numeric-owner -tv` writes it. */
const entry = (mode: string, name: string, size = '1') => `${mode} 0/0 ${size.padStart(15)} 1970-01-01 00:00 ${name}`;

const BUILD = [
  entry('drwxr-xr-x', './', '0'),
  entry('drwxr-xr-x', './bin/', '0'),
  entry('-rwxr-xr-x', './bin/llama-server', '4096'),
  entry('-rw-r--r--', './manifest.txt'),
  entry('-rw-r--r--', './toolchain.txt'),
  entry('-rw-r--r--', './runtime-libraries.txt'),
].join('\n');

const problem = (...lines: string[]) => tarballListingProblem([BUILD, ...lines].join('\n') + '\n');

test('a build as the kit packs it passes, whatever its owners, sizes and rwx bits', () => {
  expect(tarballListingProblem(`${BUILD}\n`)).toBeUndefined();
  expect(problem(entry('-rwxrwxrwx', './bin/llama-quantize'), entry('----------', './no-bits'), entry('-rw-r--r--', './owned').replace('0/0', '1234/5678'))).toBeUndefined();
  expect(tarballListingProblem('')).toBeUndefined();
  // Names a build may hold: dots, plus, dashes and underscores; `..` inside a name is no climb.
  expect(problem(entry('-rw-r--r--', './lib/libstdc++.so.6'), entry('-rw-r--r--', './a..b'), entry('-rw-r--r--', 'bin/_x-1.2'))).toBeUndefined();
});

test.each([
  ['a symbolic link', entry('lrwxrwxrwx', './bin/llama-server -> /etc/passwd', '0'), 'symbolic-link', 'it holds a symbolic link (./bin/llama-server -> /etc/passwd)'],
  ['a hard link', entry('hrw-r--r--', './bin/shadow link to /etc/shadow', '0'), 'hard-link', 'it holds a hard link (./bin/shadow link to /etc/shadow)'],
  ['a character device', entry('crw-rw-rw-', './bin/mem', '1,3'), 'device', 'it holds a device file (./bin/mem)'],
  ['a block device', entry('brw-r--r--', './sda', '8,0'), 'device', 'it holds a device file (./sda)'],
  ['a FIFO', entry('prw-r--r--', './fifo', '0'), 'not-plain', `it holds ${entry('prw-r--r--', './fifo', '0')}, which is not a plain file or directory`],
  ['a line of blanks', '   ', 'not-plain', 'it holds    , which is not a plain file or directory'],
  ['a setuid program', entry('-rwsr-xr-x', './bin/llama-server'), 'special-bits', 'it holds ./bin/llama-server with the setuid, setgid or sticky bit (-rwsr-xr-x)'],
  ['a setgid directory', entry('drwxr-sr-x', './lib/', '0'), 'special-bits', 'it holds ./lib/ with the setuid, setgid or sticky bit (drwxr-sr-x)'],
  ['a sticky file', entry('-rw-r--r-T', './s'), 'special-bits', 'it holds ./s with the setuid, setgid or sticky bit (-rw-r--r-T)'],
  ['a setuid bit without x', entry('-rwSr--r--', './S'), 'special-bits', 'it holds ./S with the setuid, setgid or sticky bit (-rwSr--r--)'],
  ['an absolute name', entry('-rw-r--r--', '/etc/cron.d/x'), 'name', 'it holds an entry named /etc/cron.d/x, which is not a plain name inside the build tree'],
  ['a name out of the tree', entry('-rw-r--r--', '../escaped'), 'name', 'it holds an entry named ../escaped, which is not a plain name inside the build tree'],
  ['a climb inside a name', entry('-rw-r--r--', './bin/../../x'), 'name', 'it holds an entry named ./bin/../../x, which is not a plain name inside the build tree'],
  ['a name ending in ..', entry('drwxr-xr-x', './bin/..', '0'), 'name', 'it holds an entry named ./bin/.., which is not a plain name inside the build tree'],
  ['a space in a name', entry('-rw-r--r--', './a b'), 'name', 'it holds an entry named ./a\\ b, which is not a plain name inside the build tree'],
  ['an escaped newline in a name', entry('-rw-r--r--', './new\\nline'), 'name', 'it holds an entry named ./new\\\\nline, which is not a plain name inside the build tree'],
  ['a quote in a name', entry('-rw-r--r--', "./it's"), 'name', "it holds an entry named ./it\\'s, which is not a plain name inside the build tree"],
])('%s is refused, named', (_what, line, kind, text) => {
  expect(problem(line)).toEqual({ kind, text });
});

test('the first entry at fault is the one named', () => {
  expect(problem(entry('-rw-r--r--', '/abs'), entry('lrwxrwxrwx', './l -> x', '0'))?.kind).toBe('name');
  expect(problem(entry('lrwxrwxrwx', './l -> x', '0'), entry('-rw-r--r--', '/abs'))?.kind).toBe('symbolic-link');
  // A link is refused for being a link, before its name or bits are looked at.
  expect(problem(entry('lrwsrwxrwx', '/abs -> x', '0'))?.kind).toBe('symbolic-link');
});

test('a tarball tar cannot list is unreadable, with tar\'s last word', () => {
  expect(unreadableTarballProblem('gzip: stdin: not in gzip format\ntar: Child returned status 1\ntar: Error is not recoverable: exiting now\n'))
    .toEqual({ kind: 'unreadable', text: 'not a readable tar.gz (tar: Error is not recoverable: exiting now)' });
  expect(unreadableTarballProblem('').text).toBe('not a readable tar.gz ()');
});
