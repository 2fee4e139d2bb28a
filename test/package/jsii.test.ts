import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as publicSurface from '../../lib';
import { jsiiBinary } from '../../tools/dev/jsii-check';

/**
 * The package's public surface as jsii reads it (tools/dev/jsii-check.ts):
 * the props and every type reachable from lib/index.ts stay jsii-compatible,
 * so a multi-language release stays possible. jsii is a devDependency; where
 * it is missing this fails rather than skips.
 */

const REPO_ROOT = path.join(__dirname, '..', '..');
/** Exported classes that are TypeScript-only on purpose (`@jsii ignore`), and why. */
const TYPESCRIPT_ONLY: Record<string, string> = {
  PropsError: 'extends Error, which jsii cannot represent; other languages get the same message as the runtime\'s error',
};
/**
 * Warnings the release's packaging decides, not the API: the devDependency on
 * constructs (10.8.1, what the tests run with) is above the peer range's lowest
 * version (^10.5.0), where jsii would have the tests run.
 */
const ACCEPTED_WARNINGS = ['metadata/missing-dev-dependency'];

interface Assembly {
  readonly name: string;
  readonly types: Record<string, { readonly kind: string; readonly datatype?: boolean }>;
}

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'jsii-test-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

test('jsii compiles the public surface without errors or unaccepted warnings, into an assembly holding every exported class', () => {
  const jsii = jsiiBinary();
  if (!jsii) {
    throw new Error('no jsii binary: install the devDependency jsii (npm ci), or set JSII to a jsii 5.9 binary; this test does not skip');
  }
  const scratch = path.join(work, 'project');
  const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [
    path.join(REPO_ROOT, 'tools', 'dev', 'jsii-check.ts'), '--scratch', scratch,
    '--', '--fail-on-warnings', ...ACCEPTED_WARNINGS.flatMap((w) => ['--silence-warnings', w]),
  ], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, JSII: jsii } });
  const output = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) {
    throw new Error(`jsii-check exited ${r.status ?? r.signal}:\n${output}`);
  }
  expect(output).toMatch(/Errors: 0 \| Warnings: 0/);

  const assembly = JSON.parse(fs.readFileSync(path.join(scratch, '.jsii'), 'utf8')) as Assembly;
  expect(assembly.name).toBe('graviton-llm');
  const exportedClasses = Object.entries(publicSurface)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name);
  expect(exportedClasses).toEqual(expect.arrayContaining(['GravitonLlmEndpoint', 'InferenceFleet', 'FleetAlarms']));
  for (const name of exportedClasses) {
    expect({ name, kind: assembly.types[`graviton-llm.${name}`]?.kind }).toEqual({ name, kind: name in TYPESCRIPT_ONLY ? undefined : 'class' });
  }
  // The props are structs (plain data in every language), not behavioural interfaces.
  expect(assembly.types['graviton-llm.GravitonLlmEndpointProps']).toMatchObject({ kind: 'interface', datatype: true });
});
