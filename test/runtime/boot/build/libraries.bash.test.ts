/**
 * Side by side: boot.sh's needed_libraries, missing_libraries and
 * ensure_runtime_libraries against runtime/boot/build/libraries.ts, on the
 * same ldd outputs. ldd, dnf and apt-get are stand-ins on a PATH that holds
 * nothing else but the few tools the functions use (so no real package
 * manager can run): ldd prints the row's output for the program it is given,
 * and an installer notes its arguments and, where the row says the install
 * works, makes ldd print the row's output after it.
 */
import { symlinkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  installFailedLine, LIBRARIES_INSTALLED_LINE, lddMissing, lddNeeded, missingLibrariesDecision, type PackageInstaller, stillMissingProblem,
} from '../../../../runtime/boot/build/libraries';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { LOCAL_ENV, envText } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-libraries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let rows = 0;

/** The installer runs only as root (EUID 0 in boot.sh). */
const ROOT = process.getuid?.() === 0;
const TOOLS = ['awk', 'sort', 'date', 'timeout', 'env', 'cat', 'cp'];
const toolPaths = Object.fromEntries(TOOLS.map((t) => [t, spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim()]));

/** ldd's output for each program of the build; null: the program is there but not executable. */
type Outputs = Readonly<Record<string, string | null>>;

interface Row {
  readonly name: string;
  /** The build's programs (llama-quantize only where the model is quantized). */
  readonly before: Outputs;
  /** What ldd prints once the install has worked. */
  readonly after?: Outputs;
  readonly installer?: PackageInstaller;
  /** Whether the installer exits 0 (and changes what ldd prints). */
  readonly installWorks?: boolean;
}

interface Run {
  readonly lines: readonly string[];
  readonly problem: string | undefined;
  readonly calls: readonly string[];
}

/** A stand-in build, PATH and programs for `row`, in a directory of its own. */
function standIns(row: Row): string {
  const t = path.join(dir, `row-${rows++}`);
  for (const d of ['bin', 'ldd', 'after', 'build/bin']) mkdirSync(path.join(t, d), { recursive: true });
  for (const tool of TOOLS) symlinkSync(toolPaths[tool], path.join(t, 'bin', tool));
  writeFileSync(path.join(t, 'calls'), '');
  for (const [program, out] of Object.entries(row.before)) {
    writeFileSync(path.join(t, 'build', 'bin', program), '#!/bin/sh\n', { mode: out === null ? 0o644 : 0o755 });
    writeFileSync(path.join(t, 'ldd', program), out ?? '');
  }
  for (const [program, out] of Object.entries(row.after ?? {})) writeFileSync(path.join(t, 'after', program), out ?? '');
  writeFileSync(path.join(t, 'bin', 'ldd'), `#!/bin/sh\ncat "${t}/ldd/\${1##*/}"\n`, { mode: 0o755 });
  // Notes its arguments (and DEBIAN_FRONTEND); the install, where it works, changes what ldd prints.
  const installer = (name: string, installs: string) => [
    '#!/bin/sh',
    `{ printf '%s' ${name}; for a in "$@"; do printf ' [%s]' "$a"; done; printf ' DEBIAN_FRONTEND=%s\\n' "\${DEBIAN_FRONTEND:-}"; } >>${t}/calls`,
    row.installWorks ? `${installs} cp ${t}/after/* ${t}/ldd/ 2>/dev/null; exit 0` : 'exit 1', '',
  ].join('\n');
  if (row.installer === 'dnf') writeFileSync(path.join(t, 'bin', 'dnf'), installer('dnf', ''), { mode: 0o755 });
  if (row.installer === 'apt-get') writeFileSync(path.join(t, 'bin', 'apt-get'), installer('apt-get', '[ "$1" = install ] &&'), { mode: 0o755 });
  writeFileSync(path.join(t, 'boot.env'), envText({ ...LOCAL_ENV, GLLM_QUANTIZE_TO: 'llama-quantize' in row.before ? 'Q4_0' : '' }));
  return t;
}

function bashRun(row: Row): Run {
  const t = standIns(row);
  const r = inBootShell(
    'parse_env "$1"; T=$2; PATH=$T/bin; LOG_DIR=$T; LC_ALL=C; export LC_ALL; unset DEBIAN_FRONTEND; build_targets; '
      + 'if problem=$(ensure_runtime_libraries "$T/build"); then r=ok; else r=$problem; fi; printf -- "--\\0%s\\0" "$r"',
    [path.join(t, 'boot.env'), t],
  );
  expect(r.stderr).toBe('');
  const [result] = wordsAfterMarker(r.stdout);
  const log = r.stdout.slice(0, r.stdout.indexOf('--\0')).split('\n').filter(Boolean).map((l) => l.replace(/^\S+ \[init\] /, ''));
  return { lines: log, problem: result === 'ok' ? undefined : result, calls: readFileSync(path.join(t, 'calls'), 'utf8').split('\n').filter(Boolean) };
}

/** What ldd prints for the executable programs of `outputs`, in the order boot.sh's targets run. */
const executable = (outputs: Outputs) => ['llama-server', 'llama-quantize'].flatMap((p) => (typeof outputs[p] === 'string' ? [outputs[p] as string] : []));

/** ensure_runtime_libraries, composed of the port's decisions as the TypeScript phase runs them. */
function tsRun(row: Row, logDir: string): Run {
  const installer = ROOT ? row.installer : undefined;
  const decision = missingLibrariesDecision(lddMissing(executable(row.before)), installer);
  if (decision.kind === 'none-missing') return { lines: [], problem: undefined, calls: [] };
  if (decision.kind === 'refused') return { lines: [], problem: decision.problem, calls: [] };
  const lines = [decision.line];
  const calls: string[] = [];
  let installed = false;
  for (const command of decision.commands) {
    calls.push(`${command.argv.map((a, i) => (i === 0 ? a : `[${a}]`)).join(' ')} DEBIAN_FRONTEND=${command.env.DEBIAN_FRONTEND ?? ''}`);
    if (!row.installWorks) {
      lines.push(installFailedLine(installer!, decision.packages, `${logDir}/${installer === 'dnf' ? 'dnf' : 'apt'}.log`));
      break;
    }
    installed = true;
  }
  const problem = stillMissingProblem(lddMissing(executable(installed ? { ...row.before, ...row.after } : row.before)));
  if (problem === undefined) lines.push(LIBRARIES_INSTALLED_LINE);
  return { lines, problem, calls };
}

const ldd = (...lines: string[]) => lines.map((l) => `\t${l}\n`).join('');
const FOUND = (lib: string) => `${lib} => /lib64/${lib} (0x0000ffff9b400000)`;
const MISSING = (lib: string) => `${lib} => not found`;
const SERVER_OK = ldd('linux-vdso.so.1 (0x0000ffff9b7d0000)', FOUND('libgomp.so.1'), FOUND('libstdc++.so.6'), FOUND('libc.so.6'), '/lib/ld-linux-aarch64.so.1 (0x1)');
const SERVER_NO_GOMP = SERVER_OK.replace(FOUND('libgomp.so.1'), MISSING('libgomp.so.1'));

const ROWS: readonly Row[] = [
  { name: 'nothing missing', before: { 'llama-server': SERVER_OK }, installer: 'dnf', installWorks: true },
  { name: 'libgomp missing, dnf installs it', before: { 'llama-server': SERVER_NO_GOMP }, after: { 'llama-server': SERVER_OK }, installer: 'dnf', installWorks: true },
  {
    name: 'two programs, three missing, dnf installs them',
    before: { 'llama-server': SERVER_NO_GOMP, 'llama-quantize': ldd(MISSING('libgomp.so.1'), MISSING('libgcc_s.so.1'), MISSING('libz.so.1')) },
    after: { 'llama-server': SERVER_OK, 'llama-quantize': ldd(FOUND('libgomp.so.1'), FOUND('libgcc_s.so.1'), FOUND('libz.so.1')) },
    installer: 'dnf', installWorks: true,
  },
  { name: 'dnf fails', before: { 'llama-server': SERVER_NO_GOMP }, installer: 'dnf', installWorks: false },
  { name: 'dnf succeeds, the library is still missing', before: { 'llama-server': SERVER_NO_GOMP }, after: { 'llama-server': SERVER_NO_GOMP }, installer: 'dnf', installWorks: true },
  {
    name: 'dnf installs one of two',
    before: { 'llama-server': ldd(MISSING('libgomp.so.1'), MISSING('libgllm.so.7')) },
    after: { 'llama-server': ldd(FOUND('libgomp.so.1'), MISSING('libgllm.so.7')) }, installer: 'dnf', installWorks: true,
  },
  { name: 'apt-get installs libgomp1', before: { 'llama-server': SERVER_NO_GOMP }, after: { 'llama-server': SERVER_OK }, installer: 'apt-get', installWorks: true },
  {
    name: 'apt-get, the compiler\'s three libraries',
    before: { 'llama-server': ldd(MISSING('libstdc++.so.6'), MISSING('libgcc_s.so.1'), MISSING('libgomp.so.1')) },
    after: { 'llama-server': SERVER_OK }, installer: 'apt-get', installWorks: true,
  },
  { name: 'apt-get knows no package for it', before: { 'llama-server': ldd(MISSING('libgllm.so.7')) }, installer: 'apt-get', installWorks: true },
  {
    name: 'apt-get, one known and one not',
    before: { 'llama-server': ldd(MISSING('libgllm.so.7'), MISSING('libgomp.so.1')) },
    after: { 'llama-server': ldd(MISSING('libgllm.so.7'), FOUND('libgomp.so.1')) }, installer: 'apt-get', installWorks: true,
  },
  { name: 'apt-get update fails', before: { 'llama-server': SERVER_NO_GOMP }, after: { 'llama-server': SERVER_OK }, installer: 'apt-get', installWorks: false },
  { name: 'no installer', before: { 'llama-server': SERVER_NO_GOMP } },
  { name: 'a dnf option for a name', before: { 'llama-server': ldd(MISSING('--repofrompath=evil,https:')) }, installer: 'dnf', installWorks: true },
  {
    name: 'odd names beside a good one',
    before: { 'llama-server': ldd(MISSING('libgomp.so.1'), MISSING('/tmp/evil.so'), MISSING('lib*.so'), MISSING('-y')) },
    installer: 'dnf', installWorks: true,
  },
  { name: 'an odd name, apt-get', before: { 'llama-server': ldd(MISSING('$(reboot).so')) }, installer: 'apt-get', installWorks: true },
  { name: 'a name with an escape ldd would not print', before: { 'llama-server': ldd(MISSING('lib\x1b[31m.so')) }, installer: 'dnf', installWorks: true },
  {
    name: 'a program that is not executable is not looked at',
    before: { 'llama-server': SERVER_OK, 'llama-quantize': null },
    installer: 'dnf', installWorks: true,
  },
  {
    name: 'odd ldd lines: static, no arrow, a resolved name, blanks',
    before: { 'llama-server': ldd('statically linked', 'libx.so.1 =>', 'liby.so.1 => not', '   ', 'not found => not found', MISSING('libz.so.1')) },
    after: { 'llama-server': '' }, installer: 'dnf', installWorks: true,
  },
  // Each one character from a shared library's name: an option, a path, a pattern, a version that is not numbers.
  ...['/libc.so.6', '-libc.so', '.libc.so', 'lib/c.so', 'lib c.so', 'lib*.so', 'lib?.so', 'lib[c].so', 'libc.so.6a', 'libc.so.', 'libc.so6', '@libc.so', 'libc.so.6()(64bit)']
    .map((lib): Row => ({ name: `the near miss ${lib}`, before: { 'llama-server': ldd(MISSING(lib)) }, installer: 'dnf', installWorks: true })),
  ...['_c.so', 'libc++.so.1', 'lib-c.so.1.2.3', 'libc.so'].map((lib): Row => ({
    name: `the shared library ${lib}`, before: { 'llama-server': ldd(MISSING(lib)) }, after: { 'llama-server': ldd(FOUND(lib)) }, installer: 'dnf', installWorks: true,
  })),
  { name: 'names that sort differently by case and punctuation', before: { 'llama-server': ldd(MISSING('libb.so'), MISSING('libB.so'), MISSING('lib_a.so'), MISSING('lib-a.so'), MISSING('libb.so')) }, installer: 'dnf', installWorks: false },
];

describe('ensure_runtime_libraries and the port decide alike: problem, log lines, installer arguments', () => {
  if (!ROOT) test('(not root: the installer rows run without one, as boot.sh does)', () => undefined);
  test.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const bash = bashRun(row);
    expect(tsRun(row, path.join(dir, `row-${rows - 1}`))).toEqual(bash);
  });
});

describe('needed_libraries and missing_libraries read ldd alike', () => {
  test.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const t = standIns(row);
    const r = inBootShell(
      'parse_env "$1"; T=$2; PATH=$T/bin; LC_ALL=C; export LC_ALL; build_targets; printf -- "--\\0%s\\0%s\\0" "$(needed_libraries "$T/build")" "$(missing_libraries "$T/build")"',
      [path.join(t, 'boot.env'), t],
    );
    expect(r.stderr).toBe('');
    const [needed, missing] = wordsAfterMarker(r.stdout).map((s) => s.split('\n').filter(Boolean));
    expect([lddNeeded(executable(row.before)), lddMissing(executable(row.before))]).toEqual([needed, missing]);
  });
});
