/**
 * Run jsii on the package's public surface, as a multi-language release
 * would: a scratch project holds lib/index.ts and every repository file it
 * imports, the README and LICENSE, a package.json derived from the real one
 * with the `jsii` section such a release needs, and a link to the
 * repository's node_modules (aws-cdk-lib and constructs are jsii assemblies,
 * which jsii reads). The real package.json and build are left as they are.
 *
 *   JSII=/path/to/jsii npx tsx tools/dev/jsii-check.ts [--scratch DIR] [-- JSII-ARGS...]
 *
 * The jsii binary is $JSII, else the repository's node_modules/.bin/jsii,
 * else `jsii` on PATH. The scratch project is a new temporary directory,
 * removed when jsii succeeds, or DIR (which must not exist), kept with the
 * assembly (DIR/.jsii). Exits with jsii's status: non-zero on any jsii error,
 * or on any warning under `-- --fail-on-warnings`; 2 when no jsii is found.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

import { commandLine } from '../../lib/command-line/commands';
import { readFlags, usageErrors } from '../../lib/command-line/flags';
import { unwritableDirectory } from '../../lib/command-line/paths';

const REPO_ROOT = path.join(__dirname, '..', '..');
const ENTRY = 'lib/index.ts';
/** Files jsii reads beside the sources: the README becomes the assembly's documentation. */
const PACKAGE_FILES = ['README.md', 'LICENSE'];

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly license?: string;
  readonly author?: unknown;
  readonly repository?: unknown;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/** The repository files (relative paths) that `entry` imports, directly or not, itself included. */
export function importClosure(root: string, entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package: resolved from node_modules
      const base = path.join(path.dirname(file), fileName);
      const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(path.join(root, f)));
      if (!resolved) throw new Error(`${file} imports ${fileName}, which is no TypeScript file in ${root}`);
      queue.push(resolved);
    }
  }
  return [...seen].sort();
}

/** Whether the installed package is a jsii assembly (ships a .jsii file). */
function isJsiiAssembly(name: string): boolean {
  return fs.existsSync(path.join(REPO_ROOT, 'node_modules', name, '.jsii'));
}

/**
 * The scratch project's package.json: the real one's identity, its jsii
 * dependencies as they are, its other dependencies bundled (as jsii requires
 * of a non-jsii dependency), its non-jsii peer dependencies left out (a
 * jsii package cannot declare them), and its dev dependencies on the peers,
 * which jsii compares with the peer ranges. Notes say what a release would
 * have to change in the real package.json.
 */
export function scratchPackageJson(real: PackageJson): { json: object; notes: string[] } {
  const notes: string[] = [];
  const dependencies = real.dependencies ?? {};
  const bundled = Object.keys(dependencies).filter((name) => !isJsiiAssembly(name));
  if (bundled.length > 0) notes.push(`not jsii assemblies, bundled: dependencies ${bundled.join(', ')}`);
  const peers = Object.fromEntries(Object.entries(real.peerDependencies ?? {}).filter(([name]) => isJsiiAssembly(name)));
  const droppedPeers = Object.keys(real.peerDependencies ?? {}).filter((name) => !(name in peers));
  if (droppedPeers.length > 0) notes.push(`not jsii assemblies, left out: peerDependencies ${droppedPeers.join(', ')}`);
  // The real dev dependencies on the peers: jsii warns when one is not the peer range's lowest version.
  const devDependencies = Object.fromEntries(Object.keys(peers).map((name) => [name, real.devDependencies?.[name]]).filter(([, version]) => version));
  if (real.author === undefined) notes.push('package.json has no "author", which jsii requires; the check uses a placeholder');
  if (real.repository === undefined) notes.push('package.json has no "repository", which jsii requires; the check uses a placeholder');
  return {
    notes,
    json: {
      name: real.name,
      version: real.version,
      description: real.description,
      license: real.license,
      author: real.author ?? { name: 'graviton-llm', organization: false },
      repository: real.repository ?? { type: 'git', url: 'https://example.invalid/graviton-llm.git' },
      main: 'lib/index.js',
      types: 'lib/index.d.ts',
      dependencies,
      bundledDependencies: bundled,
      peerDependencies: peers,
      devDependencies,
      jsii: { outdir: 'dist', targets: {}, tsc: { types: ['node'] } },
    },
  };
}

/** The jsii binary: $JSII, the repository's own, or one on PATH. */
export function jsiiBinary(): string | undefined {
  if (process.env.JSII) return process.env.JSII;
  const local = path.join(REPO_ROOT, 'node_modules', '.bin', 'jsii');
  if (fs.existsSync(local)) return local;
  const onPath = spawnSync('sh', ['-c', 'command -v jsii'], { encoding: 'utf8' });
  return onPath.status === 0 ? onPath.stdout.trim() : undefined;
}

/** Copies the entry's closure and the package files into `scratch` and writes its package.json; returns the notes on the real package.json. */
export function buildScratchProject(scratch: string): string[] {
  for (const file of [...importClosure(REPO_ROOT, ENTRY), ...PACKAGE_FILES]) {
    fs.mkdirSync(path.join(scratch, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, file), path.join(scratch, file));
  }
  const real = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
  const { json, notes } = scratchPackageJson(real);
  fs.writeFileSync(path.join(scratch, 'package.json'), `${JSON.stringify(json, undefined, 2)}\n`);
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(scratch, 'node_modules'), 'dir');
  return notes;
}

export const USAGE = `Usage: JSII=/path/to/jsii ${commandLine('jsii-check')} [--scratch DIR] [-- JSII-ARGS...]

Runs jsii on the package's public surface in a scratch project, as a multi-language release would.

  --scratch DIR   keep the scratch project (and the assembly, DIR/.jsii) in DIR, which must not exist yet
                  (default: a new temporary directory, removed when jsii succeeds)
  -- ARGS         passed to jsii, e.g. -- --fail-on-warnings
  --help

Exit codes: jsii's status; 2 bad flags or no jsii found (nothing is written).`;

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const FLAGS = {
  scratch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type JsiiCheckParse = { readonly scratch?: string; readonly jsiiArgs: readonly string[] } | { readonly errors: readonly string[] } | { readonly help: true };

/** The command line (and $JSII), checked before anything is written: own flags before `--`, jsii's after it. */
export function parseJsiiCheckArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): JsiiCheckParse {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const jsiiArgs = split < 0 ? [] : argv.slice(split + 1);
  const { values: v, errors } = readFlags(own, FLAGS);
  if (v.help && errors.length === 0) return { help: true };
  if (v.scratch !== undefined) {
    if (v.scratch.trim() === '') errors.push('--scratch: got ""; expected a directory that does not exist yet');
    else if (fs.existsSync(v.scratch)) errors.push(`--scratch: got "${v.scratch}"; expected a directory that does not exist yet, and it exists`);
    else {
      const problem = unwritableDirectory(v.scratch);
      if (problem) errors.push(`--scratch: got "${v.scratch}"; expected a directory that does not exist yet, and it ${problem}`);
    }
  }
  // A $JSII that cannot run would fail only after the scratch project is written.
  if (env.JSII) {
    const problem = !fs.existsSync(env.JSII) ? 'it does not exist' : !fs.statSync(env.JSII).isFile() ? 'it is not a file' : executable(env.JSII) ? undefined : 'it is not executable';
    if (problem) errors.push(`$JSII: got "${env.JSII}"; expected a jsii program, and ${problem}`);
  }
  return errors.length > 0 ? { errors } : { jsiiArgs, ...(v.scratch !== undefined ? { scratch: v.scratch } : {}) };
}

function main(argv: string[]): number {
  const parsed = parseJsiiCheckArgs(argv);
  if ('help' in parsed) {
    console.log(USAGE);
    return 0;
  }
  if ('errors' in parsed) {
    console.error(usageErrors('jsii-check', parsed.errors));
    return 2;
  }
  const { jsiiArgs } = parsed;
  const given = parsed.scratch;
  const jsii = jsiiBinary();
  if (!jsii) {
    console.error('jsii-check: no jsii found: set JSII to a jsii binary, or install jsii as a devDependency (node_modules/.bin/jsii)');
    return 2;
  }
  const scratch = given ? path.resolve(given) : fs.mkdtempSync(path.join(os.tmpdir(), 'graviton-llm-jsii-'));
  fs.mkdirSync(scratch, { recursive: true });
  for (const note of buildScratchProject(scratch)) console.log(`jsii-check: note: ${note}`);
  console.log(`jsii-check: ${[jsii, ...jsiiArgs].join(' ')} in ${scratch}`);
  const result = spawnSync(jsii, jsiiArgs, { cwd: scratch, stdio: 'inherit' });
  if (result.error) {
    console.error(`jsii-check: cannot run ${jsii}: ${result.error.message}`);
    return 2;
  }
  const status = result.status ?? 1;
  if (status === 0 && !given) {
    fs.rmSync(scratch, { recursive: true, force: true });
  } else {
    console.log(`jsii-check: jsii exited ${result.status ?? result.signal}; the scratch project is in ${scratch}`);
  }
  return status;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
