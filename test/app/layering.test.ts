import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../support/synth';

/**
 * lib/ reads top-down: each layer imports only the layers listed before it,
 * never one after it, and folders of one layer do not import each other.
 * The configuration adapter (config, and the org and pipeline files built on
 * it) sits above the constructs it maps files and `-c` keys to, and below the
 * stacks that take a resolved configuration; the apps are on top.
 */
const LAYERS: readonly (readonly string[])[] = [
  // What every layer reports problems and suggestions with.
  ['base'],
  // Graviton generations and instances, models, quantizations, the llama.cpp release, Amazon Linux.
  ['catalogs'],
  ['sizing', 'monitoring', 'command-line'],
  ['models', 'instances', 'boot'],
  // The constructs, GravitonLlmEndpoint and what it composes.
  ['constructs'],
  // Files and -c keys -> props.
  ['config'],
  ['org', 'pipeline'],
  ['stacks'],
  // The package's public surface (lib/index.ts).
  ['index.ts'],
  // One entry per deployable.
  ['app'],
];

/** Outside lib/, only the Lambda handlers' shared code may be imported (never tools/, test/, bin/, examples/). */
const ALLOWED_OUTSIDE_LIB = ['runtime'];

const LIB = path.join(REPO_ROOT, 'lib');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The first path segment under lib/: a folder, or a file at lib/'s top. */
function unitOf(file: string): string {
  return path.relative(LIB, file).split(path.sep)[0];
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

/** Every relative module a file imports: import and export statements, import() and require(), as TypeScript's own pre-processor reads them. */
function relativeImports(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName).filter((name) => name.startsWith('.'));
}

/** What is wrong with one import, or undefined when it runs down (or stays in its folder). */
function importProblem(fromFile: string, specifier: string): string | undefined {
  const target = path.resolve(path.dirname(fromFile), specifier);
  const from = unitOf(fromFile);
  const rel = path.relative(LIB, target);
  if (rel.startsWith('..')) {
    const outside = path.relative(REPO_ROOT, target).split(path.sep)[0];
    return ALLOWED_OUTSIDE_LIB.includes(outside) ? undefined : `imports ${outside}/ from outside lib/ (only ${ALLOWED_OUTSIDE_LIB.join(', ')}/ is allowed)`;
  }
  const to = rel.split(path.sep)[0].replace(/^index$/, 'index.ts');
  if (to === from) {
    return undefined;
  }
  const [fromLayer, toLayer] = [layerOf(from), layerOf(to)];
  if (toLayer < fromLayer) {
    return undefined;
  }
  return toLayer === fromLayer
    ? `${from} imports ${to}, a folder of the same layer`
    : `${from} (layer ${fromLayer}) imports ${to} (layer ${toLayer}), which runs back up`;
}

const files = sourceFiles(LIB);

/**
 * runtime/boot runs on the instance as one bundle under Node, without the CDK
 * app: it may import its own modules, runtime/'s other shared code and Node's
 * built-ins, never lib/, tools/ or test/ (lib/ imports it, not the other way),
 * and no package (the bundle would carry it, and the package's dependencies
 * would have to).
 */
const RUNTIME_BOOT = path.join(REPO_ROOT, 'runtime', 'boot');

function imports(file: string): string[] {
  return ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/**
 * The one package import allowed: the boot result's schema (zod), which the
 * tests and an operator's tools parse results with. Nothing the boot program
 * bundles or lib/ loads may import that file except as `import type`, which
 * the compilers erase (checked below), so neither the bundle nor the package
 * carries zod, a development dependency.
 */
const RUNTIME_BOOT_PACKAGES_ALLOWED: readonly string[] = ['runtime/boot/result.ts -> zod'];
const BOOT_RESULT_MODULE = path.join(RUNTIME_BOOT, 'result.ts');

function runtimeBootImportProblem(fromFile: string, specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return undefined;
  if (RUNTIME_BOOT_PACKAGES_ALLOWED.includes(`${path.relative(REPO_ROOT, fromFile)} -> ${specifier}`)) return undefined;
  if (!specifier.startsWith('.')) return `imports the package ${specifier} (only Node's built-ins, as node:...)`;
  const top = path.relative(REPO_ROOT, path.resolve(path.dirname(fromFile), specifier)).split(path.sep)[0];
  return top === 'runtime' ? undefined : `imports ${top}/ (runtime/boot may import only runtime/)`;
}

test('every folder and top-level file of lib/ has a layer', () => {
  const units = [...new Set(files.map(unitOf))].sort();
  expect(units.filter((u) => layerOf(u) < 0)).toEqual([]);
  // A layer named here that no longer exists is a stale rule.
  expect(LAYERS.flat().filter((u) => !units.includes(u))).toEqual([]);
});

test('no import in lib/ runs back up a layer', () => {
  const problems = files.flatMap((file) => relativeImports(file)
    .map((specifier) => ({ specifier, problem: importProblem(file, specifier) }))
    .filter((i) => i.problem !== undefined)
    .map((i) => `${path.relative(REPO_ROOT, file)}: '${i.specifier}': ${i.problem}`));
  expect(problems).toEqual([]);
});

test('the rule catches an import that runs back up, and lets one that runs down pass', () => {
  const file = (p: string) => path.join(LIB, p);
  // What the rule exists for: a stack importing an app (as lib/stacks/inference-stage.ts once did).
  expect(importProblem(file('stacks/inference-stage.ts'), '../app/add-inference-stack')).toMatch(/stacks \(layer \d+\) imports app \(layer \d+\), which runs back up/);
  expect(importProblem(file('constructs/inference-fleet.ts'), '../config/resolve')).toMatch(/runs back up/);
  expect(importProblem(file('constructs/inference-fleet.ts'), '../stacks/inference-stack')).toMatch(/runs back up/);
  expect(importProblem(file('config/resolve.ts'), '../app/build-app')).toMatch(/runs back up/);
  expect(importProblem(file('models/llama-model.ts'), '../constructs/graviton-llm-endpoint')).toMatch(/runs back up/);
  expect(importProblem(file('models/llama-model.ts'), '../instances/graviton-instance-type')).toMatch(/same layer/);
  expect(importProblem(file('constructs/inference-fleet.ts'), '../../tools/bench/cli')).toMatch(/imports tools\/ from outside lib/);
  expect(importProblem(file('index.ts'), './app/run-kit-app')).toMatch(/runs back up/);
  // Allowed: down a layer, within a folder, the configuration adapter onto the constructs, the Lambda handlers' shared code.
  expect(importProblem(file('config/resolve.ts'), '../constructs/endpoint-checks')).toBeUndefined();
  expect(importProblem(file('stacks/inference-stack.ts'), '../config/resolve')).toBeUndefined();
  expect(importProblem(file('constructs/inference-fleet.ts'), './fleet-scaling')).toBeUndefined();
  expect(importProblem(file('constructs/api-key-parameter.ts'), '../../runtime/api-key/owner-tags')).toBeUndefined();
  expect(importProblem(file('index.ts'), './constructs/graviton-llm-endpoint')).toBeUndefined();
});

test('the parser reads every form of import', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-layering-'));
  const file = path.join(dir, 'sample.ts');
  fs.writeFileSync(file, [
    'import { a } from \'./one\';',
    'import {',
    '  b,',
    '} from \'./two\';',
    'export { c } from \'./three\';',
    'export * from \'./four\';',
    'import type { D } from \'./five\';',
    'const e = require(\'./six\');',
    'const f = import(\'./seven\');',
    'const g = \'import { h } from "./not-an-import"\';',
  ].join('\n'));
  expect(relativeImports(file)).toEqual(['./one', './two', './three', './four', './five', './six', './seven']);
});

test('runtime/boot imports nothing from lib/, tools/ or test/, and no package', () => {
  const bootFiles = sourceFiles(RUNTIME_BOOT);
  expect(bootFiles.length).toBeGreaterThan(0);
  const problems = bootFiles.flatMap((file) => imports(file)
    .map((specifier) => ({ specifier, problem: runtimeBootImportProblem(file, specifier) }))
    .filter((i) => i.problem !== undefined)
    .map((i) => `${path.relative(REPO_ROOT, file)}: '${i.specifier}': ${i.problem}`));
  expect(problems).toEqual([]);
});

test('runtime/ and lib/ import the boot result\'s module for its types only', () => {
  const importers = [...sourceFiles(path.join(REPO_ROOT, 'runtime')), ...files].filter((f) => f !== BOOT_RESULT_MODULE);
  const valueImports = importers.flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return [...text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)]
      .filter((m) => path.resolve(path.dirname(file), m[3]) === BOOT_RESULT_MODULE.replace(/\.ts$/, '') && m[2] === undefined)
      .map(() => path.relative(REPO_ROOT, file));
  });
  expect(valueImports).toEqual([]);
  expect(runtimeBootImportProblem(BOOT_RESULT_MODULE, 'zod')).toBeUndefined();
  expect(runtimeBootImportProblem(path.join(RUNTIME_BOOT, 'main.ts'), 'zod')).toMatch(/imports the package zod/);
});

test('the runtime/boot rule catches lib/, tools/, test/ and packages, and lets runtime/ and Node\'s built-ins pass', () => {
  const file = path.join(RUNTIME_BOOT, 'server', 'unit.ts');
  expect(runtimeBootImportProblem(file, '../../../lib/boot/boot-environment')).toMatch(/imports lib\//);
  expect(runtimeBootImportProblem(file, '../../../tools/bench/kit-server-args')).toMatch(/imports tools\//);
  expect(runtimeBootImportProblem(file, '../../../test/support/synth')).toMatch(/imports test\//);
  expect(runtimeBootImportProblem(file, 'aws-cdk-lib')).toMatch(/imports the package aws-cdk-lib/);
  expect(runtimeBootImportProblem(file, './args')).toBeUndefined();
  expect(runtimeBootImportProblem(file, '../../stats/percentile')).toBeUndefined();
  expect(runtimeBootImportProblem(file, 'node:crypto')).toBeUndefined();
});

/**
 * runtime/ is the code that runs outside the CDK app (the Lambda handlers, the
 * instance boot): it is bundled on its own, so it imports nothing from lib/,
 * tools/, test/, bin/ or examples/; lib/ imports it, not the other way round.
 * One import predates the rule: the canary's metric record reads the metric
 * definitions the alarms read, which still live in lib/monitoring/.
 */
const RUNTIME = path.join(REPO_ROOT, 'runtime');
const RUNTIME_IMPORTS_OF_LIB_ALLOWED: readonly string[] = ['runtime/canary/emf.ts -> lib/monitoring/metric-definitions'];

/** What is wrong with one import of a file under runtime/, or undefined when it stays inside runtime/ (or is a package). */
function runtimeImportProblem(fromFile: string, specifier: string): string | undefined {
  const target = path.relative(REPO_ROOT, path.resolve(path.dirname(fromFile), specifier));
  const outside = target.split(path.sep)[0];
  if (outside === 'runtime') return undefined;
  if (RUNTIME_IMPORTS_OF_LIB_ALLOWED.includes(`${path.relative(REPO_ROOT, fromFile)} -> ${target}`)) return undefined;
  return `imports ${outside}/ (runtime/ imports nothing outside runtime/)`;
}

const runtimeFiles = fs.readdirSync(RUNTIME).flatMap((d) => sourceFiles(path.join(RUNTIME, d)));

test('no file under runtime/ imports lib/, tools/ or test/', () => {
  const problems = runtimeFiles.flatMap((file) => relativeImports(file)
    .map((specifier) => ({ specifier, problem: runtimeImportProblem(file, specifier) }))
    .filter((i) => i.problem !== undefined)
    .map((i) => `${path.relative(REPO_ROOT, file)}: '${i.specifier}': ${i.problem}`));
  expect(problems).toEqual([]);
});

test('the runtime rule catches an import of lib/, tools/ or test/, and its one allowance is still used', () => {
  const file = (p: string) => path.join(RUNTIME, p);
  expect(runtimeImportProblem(file('boot/phases/cpu.ts'), '../../../lib/catalogs/graviton-generations')).toMatch(/imports lib\//);
  expect(runtimeImportProblem(file('boot/core/exec.ts'), '../../../tools/bench/cli')).toMatch(/imports tools\//);
  expect(runtimeImportProblem(file('canary/probe.ts'), '../../test/support/synth')).toMatch(/imports test\//);
  expect(runtimeImportProblem(file('canary/sse.ts'), '../../lib/monitoring/metric-definitions')).toMatch(/imports lib\//);
  expect(runtimeImportProblem(file('boot/phases/cpu.ts'), '../cpuinfo')).toBeUndefined();
  expect(runtimeImportProblem(file('smoke-test/verdict.ts'), '../stats/percentile')).toBeUndefined();
  // A stale allowance would let a new import of the same file pass unseen.
  for (const allowed of RUNTIME_IMPORTS_OF_LIB_ALLOWED) {
    const [from, to] = allowed.split(' -> ');
    const imports = relativeImports(path.join(REPO_ROOT, from)).map((s) => path.relative(REPO_ROOT, path.resolve(path.dirname(path.join(REPO_ROOT, from)), s)));
    expect(imports).toContain(to);
  }
});
