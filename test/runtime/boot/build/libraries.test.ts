/**
 * A cached build's libraries in-process: reading ldd, the names that may
 * reach the package manager, and its argument vectors.
 */
import {
  installCommands, lddMissing, lddNeeded, libraryPackages, missingLibrariesDecision, SONAME_PATTERN, stillMissingProblem,
} from '../../../../runtime/boot/build/libraries';

const LDD_SERVER = [
  '\tlinux-vdso.so.1 (0x0000ffff9b7d0000)',
  '\tlibgomp.so.1 => not found',
  '\tlibstdc++.so.6 => /lib64/libstdc++.so.6 (0x0000ffff9b400000)',
  '\tlibm.so.6 => /lib64/libm.so.6 (0x0000ffff9b350000)',
  '\tlibc.so.6 => /lib64/libc.so.6 (0x0000ffff9b1a0000)',
  '\t/lib/ld-linux-aarch64.so.1 (0x0000ffff9b790000)',
  '',
].join('\n');
const LDD_QUANTIZE = '\tlibgomp.so.1 => not found\n\tlibgcc_s.so.1 => not found\n\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n';

test('ldd\'s output: every library it resolves or cannot find is needed; the ones it cannot find are missing; each once, sorted', () => {
  expect(lddNeeded([LDD_SERVER, LDD_QUANTIZE])).toEqual(['libc.so.6', 'libgcc_s.so.1', 'libgomp.so.1', 'libm.so.6', 'libstdc++.so.6']);
  expect(lddMissing([LDD_SERVER, LDD_QUANTIZE])).toEqual(['libgcc_s.so.1', 'libgomp.so.1']);
  // A static program, or one ldd cannot read, needs nothing it can name.
  expect(lddNeeded(['\tstatically linked\n', '', '\tnot a dynamic executable\n'])).toEqual([]);
  expect(lddMissing([LDD_SERVER.replace('not found', '/usr/lib64/libgomp.so.1 (0x2)')])).toEqual([]);
});

test.each([
  'libgomp.so.1', 'libstdc++.so.6', 'libgcc_s.so.1', 'ld-linux-aarch64.so.1', 'libfoo.so', 'libfoo-2.0.so.0.1.2', '_x.so', 'a.b+c.so.12',
])('%s is a shared library\'s name', (name) => {
  expect(SONAME_PATTERN.test(name)).toBe(true);
});

test.each([
  '--repofrompath=evil,https:', '-y', '/lib64/libc.so.6', '../libc.so.6', 'libc.so.6*', 'lib?.so', 'libc.so.6 extra', 'libc.so.6\n',
  'libc.so.x', 'libc.so.', 'libc', '.so', 'lib..so', 'libc.so.6()(64bit)', 'https://x/lib.so', 'lib[c].so', '@group.so', '',
])('%j is not', (name) => {
  expect(SONAME_PATTERN.test(name)).toBe(false);
});

test('nothing missing: nothing to do', () => {
  expect(missingLibrariesDecision([], 'dnf')).toEqual({ kind: 'none-missing' });
});

test('a missing name no shared library has refuses the version, quoted, and nothing is installed (not even the good names beside it)', () => {
  expect(missingLibrariesDecision(['--repofrompath=evil,https:', 'libgomp.so.1', 'a b'], 'dnf')).toEqual({
    kind: 'refused', problem: 'it loads --repofrompath=evil\\,https: a\\ b, which is not the name of a shared library',
  });
});

test('dnf is asked for each soname as the package that provides it, after --', () => {
  expect(missingLibrariesDecision(['libgomp.so.1', 'libfoo.so.2'], 'dnf')).toEqual({
    kind: 'install',
    line: 'the build loads shared libraries this machine lacks: libgomp.so.1 libfoo.so.2',
    packages: ['libgomp.so.1()(64bit)', 'libfoo.so.2()(64bit)'],
    commands: [{ argv: ['dnf', 'install', '-y', '--setopt=install_weak_deps=False', '--', 'libgomp.so.1()(64bit)', 'libfoo.so.2()(64bit)'], env: {} }],
  });
});

test('apt-get installs the packages of the compiler\'s libraries only, after --, non-interactively; nothing for others', () => {
  expect(libraryPackages('apt-get', ['libfoo.so.2', 'libgomp.so.1', 'libstdc++.so.6', 'libgcc_s.so.1'])).toEqual(['libgomp1', 'libstdc++6', 'libgcc-s1']);
  expect(installCommands('apt-get', ['libgomp1'])).toEqual([
    { argv: ['apt-get', 'update'], env: {} },
    { argv: ['apt-get', 'install', '-y', '--no-install-recommends', '--', 'libgomp1'], env: { DEBIAN_FRONTEND: 'noninteractive' } },
  ]);
  expect(missingLibrariesDecision(['libfoo.so.2'], 'apt-get')).toMatchObject({ kind: 'install', packages: [], commands: [] });
  // A name that is a property of every object is no package.
  expect(libraryPackages('apt-get', ['constructor.so', 'toString.so'])).toEqual([]);
});

test('without an installer (not root, or no dnf or apt-get) nothing runs, and the look after names what is still missing', () => {
  expect(missingLibrariesDecision(['libgomp.so.1'], undefined)).toMatchObject({ kind: 'install', packages: [], commands: [] });
  expect(stillMissingProblem(['libgomp.so.1', 'libx.so'])).toBe(
    'it loads libgomp.so.1,libx.so, which this machine lacks and could not install (the image must carry it, or reach its package repositories)',
  );
  expect(stillMissingProblem([])).toBeUndefined();
});
