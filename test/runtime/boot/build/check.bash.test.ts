/**
 * Side by side: boot.sh's check_build and extract_build's look at the disk
 * against runtime/boot/build/check.ts, on the same build directories. The
 * server's `--version` is a stand-in script; the libraries check
 * (libraries.bash.test.ts's) passes; tar is a function that makes the row's
 * entries, as an unpacking the listing let through would.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildContentsProblem, serverVersionProblem, type UnpackedEntry, unpackedEntriesProblem } from '../../../../runtime/boot/build/check';
import { buildTargets } from '../../../../runtime/boot/build/key';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { LOCAL_ENV, envText } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-build-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let rows = 0;
const rowDir = () => {
  const t = path.join(dir, `row-${rows++}`);
  mkdirSync(t);
  return t;
};

describe('check_build and the port refuse alike', () => {
  interface Row {
    readonly name: string;
    readonly quantizeTo?: string;
    /** manifest.txt's text, or absent; MATERIAL is replaced by this build's material. */
    readonly manifest?: string;
    /** bin/'s files and whether each is executable. */
    readonly programs: Readonly<Record<string, boolean>>;
    /** What the stand-in server prints and exits with. */
    readonly server?: { readonly status: number; readonly output: string };
  }
  const SERVER = { 'llama-server': true };
  const MATERIAL = 'llama.cpp-commit=de3ff815ea7d559ee917f063901b8986f038abc6\narch=x86_64:ggml-portable\nos=debian-12\ntargets=llama-server';
  const ROWS: readonly Row[] = [
    { name: 'this key\'s build', manifest: 'MATERIAL\n', programs: SERVER },
    { name: 'a manifest without its newline', manifest: 'MATERIAL', programs: SERVER },
    { name: 'a manifest with more newlines', manifest: 'MATERIAL\n\n\n', programs: SERVER },
    { name: 'no manifest', programs: SERVER },
    { name: 'an empty manifest', manifest: '', programs: SERVER },
    { name: 'another commit\'s manifest', manifest: 'llama.cpp-commit=cccc\narch=x\n', programs: SERVER },
    { name: 'a manifest with a line more', manifest: 'MATERIAL\nextra=1\n', programs: SERVER },
    { name: 'a manifest with a carriage return', manifest: 'MATERIAL\r\n', programs: SERVER },
    { name: 'a one-line manifest', manifest: 'something else', programs: SERVER },
    { name: 'no server', manifest: 'MATERIAL\n', programs: {} },
    { name: 'a server that is not executable', manifest: 'MATERIAL\n', programs: { 'llama-server': false } },
    { name: 'the quantizer missing', quantizeTo: 'Q4_0', manifest: 'MATERIAL\n', programs: SERVER },
    { name: 'the quantizer not executable', quantizeTo: 'Q4_0', manifest: 'MATERIAL\n', programs: { 'llama-server': true, 'llama-quantize': false } },
    { name: 'server and quantizer', quantizeTo: 'Q4_0', manifest: 'MATERIAL\n', programs: { 'llama-server': true, 'llama-quantize': true } },
    { name: 'a server that dies of an illegal instruction', manifest: 'MATERIAL\n', programs: SERVER, server: { status: 132, output: 'load\nIllegal instruction\n' } },
    { name: 'a server that fails silently', manifest: 'MATERIAL\n', programs: SERVER, server: { status: 1, output: '' } },
    { name: 'a server whose last line is blank', manifest: 'MATERIAL\n', programs: SERVER, server: { status: 2, output: 'error: x\n\n' } },
    { name: 'a server that is not found', manifest: 'MATERIAL\n', programs: SERVER, server: { status: 127, output: 'not found\n' } },
  ];

  test.each(ROWS.map((row) => [row.name, row] as const))('%s', (_name, row) => {
    const t = rowDir();
    const env = { ...LOCAL_ENV, GLLM_QUANTIZE_TO: row.quantizeTo ?? '' };
    writeFileSync(path.join(t, 'boot.env'), envText(env));
    const build = path.join(t, 'build');
    mkdirSync(path.join(build, 'bin'), { recursive: true });
    const server = row.server ?? { status: 0, output: 'version: 1 (abc)\n' };
    writeFileSync(path.join(t, 'server-output'), server.output);
    for (const [program, executable] of Object.entries(row.programs)) {
      const script = program === 'llama-server' ? `#!/bin/sh\ncat "${t}/server-output"\nexit ${server.status}\n` : '#!/bin/sh\n';
      writeFileSync(path.join(build, 'bin', program), script, { mode: executable ? 0o755 : 0o644 });
    }
    // Key material as ensure_build holds it (captured, so without its last newline); buildKeyMaterial's ends in one.
    const r = inBootShell(
      'parse_env "$1"; T=$2; LOG_FILE=$T/boot.log; build_targets; material=$5; '
        + 'if [[ $3 == 1 ]]; then printf "%s" "${4//MATERIAL/$material}" >"$T/build/manifest.txt"; fi; '
        + 'ensure_runtime_libraries() { :; }; if problem=$(check_build "$T/build" "$material"); then problem=ok; fi; printf -- "--\\0%s\\0%s\\0" "$problem" "$material"',
      [path.join(t, 'boot.env'), t, row.manifest === undefined ? '0' : '1', row.manifest ?? '', MATERIAL],
    );
    expect(r.stderr).toBe('');
    const [problem, material] = wordsAfterMarker(r.stdout);
    const bin = readdirSync(path.join(build, 'bin'));
    const ts = buildContentsProblem({
      manifest: row.manifest?.replace('MATERIAL', material),
      material: `${material}\n`,
      targets: buildTargets(env.GLLM_QUANTIZE_TO),
      executables: bin.filter((f) => (lstatSync(path.join(build, 'bin', f)).mode & 0o111) !== 0),
    }) ?? serverVersionProblem(server.status, server.output);
    expect(ts ?? 'ok').toBe(problem);
  });
});

describe('extract_build\'s look at the disk and unpackedEntriesProblem refuse alike', () => {
  /** An entry tar makes: a file unless `type` says otherwise; `mode` as chmod sets it. */
  interface Made { readonly path: string; readonly type?: 'dir' | 'symlink' | 'fifo'; readonly mode?: number }
  const PLAIN: readonly Made[] = [{ path: 'bin', type: 'dir' }, { path: 'bin/llama-server', mode: 0o755 }, { path: 'manifest.txt' }];
  const ROWS: readonly (readonly [string, readonly Made[]])[] = [
    ['plain files and directories', PLAIN],
    ['every rwx bit', [...PLAIN, { path: 'open', mode: 0o777 }, { path: 'none', mode: 0o000 }]],
    ['a symbolic link', [...PLAIN, { path: 'bin/link', type: 'symlink' }]],
    ['a FIFO', [...PLAIN, { path: 'fifo', type: 'fifo' }]],
    ['a setuid program', [...PLAIN, { path: 'bin/s', mode: 0o4755 }]],
    ['a setgid file', [...PLAIN, { path: 'g', mode: 0o2644 }]],
    ['a sticky directory', [...PLAIN, { path: 'tmp', type: 'dir', mode: 0o1777 }]],
    ['a setuid bit on an odd name', [...PLAIN, { path: "it's here", mode: 0o4644 }]],
    ['a link with an odd name', [...PLAIN, { path: 'a b', type: 'symlink' }]],
  ];

  test.each(ROWS.map(([name, made]) => [name, made]))('%s', (_name, made) => {
    const t = rowDir();
    writeFileSync(path.join(t, 'boot.env'), envText(LOCAL_ENV));
    writeFileSync(path.join(t, 'build.tar.gz'), 'stands in');
    mkdirSync(path.join(t, 'into'));
    // What tar makes, one entry a line: TYPE MODE PATH.
    writeFileSync(path.join(t, 'made'), made.map((m) => `${m.type ?? 'file'} ${(m.mode ?? (m.type === 'dir' ? 0o755 : 0o644)).toString(8)} ${m.path}\n`).join(''));
    const r = inBootShell([
      'parse_env "$1"; T=$2; LOG_FILE=$T/boot.log; build_tarball_problem() { :; }',
      'tar() { local type mode name; while read -r type mode name; do case $type in',
      '  dir) mkdir -p "$T/into/$name" ;; symlink) ln -s /etc/passwd "$T/into/$name" ;; fifo) mkfifo "$T/into/$name" ;; *) : >"$T/into/$name" ;; esac',
      '  [[ $type == symlink ]] || chmod "$mode" "$T/into/$name"; done <"$T/made"; }',
      'if problem=$(extract_build "$T/build.tar.gz" "$T/into"); then problem=ok; fi; printf -- "--\\0%s\\0" "$problem"',
    ].join('\n'), [path.join(t, 'boot.env'), t]);
    expect(r.stderr).toBe('');
    const entries: UnpackedEntry[] = made.map((m) => {
      const st = lstatSync(path.join(t, 'into', m.path));
      return { path: m.path, type: st.isFile() ? 'file' : st.isDirectory() ? 'directory' : 'other', mode: st.mode & 0o7777 };
    });
    expect(unpackedEntriesProblem(entries) ?? 'ok').toBe(wordsAfterMarker(r.stdout)[0]);
  });
});

describe('where the two differ on purpose', () => {
  // boot.sh reads the manifest with $(<file), which drops NUL bytes (bash
  // warns on stderr): a manifest of this key's material with a NUL in it
  // passes there. The TypeScript boot compares the bytes and refuses it. Not
  // a trust matter (whoever can write a tarball can write the right
  // manifest), but a manifest is text the boot wrote and holds no NUL.
  test('a manifest with a NUL byte inside: boot.sh takes it, the TypeScript boot refuses it', () => {
    const t = rowDir();
    writeFileSync(path.join(t, 'boot.env'), envText(LOCAL_ENV));
    mkdirSync(path.join(t, 'build', 'bin'), { recursive: true });
    writeFileSync(path.join(t, 'build', 'bin', 'llama-server'), '#!/bin/sh\necho version: 1\n', { mode: 0o755 });
    const material = 'llama.cpp-commit=abc\narch=x86_64:ggml-portable';
    const manifest = `llama.cpp-commit=abc\0\narch=x86_64:ggml-portable\n`;
    writeFileSync(path.join(t, 'build', 'manifest.txt'), manifest);
    const r = inBootShell(
      'parse_env "$1"; T=$2; LOG_FILE=$T/boot.log; build_targets; ensure_runtime_libraries() { :; }; if problem=$(check_build "$T/build" "$3"); then problem=ok; fi; printf -- "--\\0%s\\0" "$problem"',
      [path.join(t, 'boot.env'), t, material],
    );
    expect(r.stderr).toMatch(/ignored null byte/);
    expect(wordsAfterMarker(r.stdout)).toEqual(['ok']);
    expect(buildContentsProblem({ manifest, material: `${material}\n`, targets: ['llama-server'], executables: ['llama-server'] }))
      .toBe('its manifest is not this build key\'s (llama.cpp-commit=abc\0)');
  });
});
