import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APP_MODES, AppMode, MODE_CONTEXT } from '../../lib/app/mode-context';
import { runKitApp } from '../../lib/app/run-kit-app';
import { CATALOG_MODELS, DEFAULT_MODEL_ID } from '../../lib/catalogs/model-catalog';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { INSTANCE_FAMILIES } from '../../lib/catalogs/graviton-instances';
import { LLAMA_CPP_DEFAULT_REF } from '../../lib/catalogs/llama-cpp-release';
import { CONFIG_KEYS, configSchema, customModelSchema } from '../../lib/config/schema';
import { REPO_ROOT, cdkJsonContext } from '../support/synth';

const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** First-column `code` cells of the Markdown table under a heading or lead-in line. */
function tableKeys(after: string): string[] {
  const start = readme.indexOf(after);
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split('\n').slice(1);
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table.slice(0, table.findIndex((l) => !l.startsWith('|')));
  return rows.slice(2).map((r) => /^\| `([^`]+)`/.exec(r)?.[1]).filter((k): k is string => k !== undefined);
}

test('the configuration reference lists exactly the configuration fields', () => {
  expect(tableKeys('## Configuration').sort()).toEqual([...CONFIG_KEYS].sort());
});

test('the customModel reference lists exactly its fields', () => {
  expect(tableKeys('`customModel` fields:').sort()).toEqual(Object.keys(customModelSchema.shape).sort());
});

test('the model table lists exactly the catalog, and names the default', () => {
  expect(tableKeys('## Models').sort()).toEqual(CATALOG_MODELS.map((m) => m.id).sort());
  expect(readme).toContain(`\`${DEFAULT_MODEL_ID}\` (default)`);
});

test('every catalogued instance family, build flag and the llama.cpp release are documented', () => {
  for (const f of INSTANCE_FAMILIES) {
    expect(readme).toMatch(new RegExp(`\\b${f.family}\\b`));
  }
  for (const g of Object.values(GENERATIONS)) {
    expect(readme).toContain(`| ${g.name} | \`${g.armArch}\` | \`${g.q4_0Repack}\``);
  }
  expect(readme).toContain(`| \`llamaCppRef\` | \`${LLAMA_CPP_DEFAULT_REF}\``);
});

test('literal defaults in the configuration reference are the schema\'s defaults', () => {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const start = readme.indexOf('| `stackName`');
  const rows = readme.slice(start).split('\n').filter((l, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('|')));
  let checked = 0;
  for (const row of rows) {
    const [, key, dflt] = row.split('|').map((c) => c.trim());
    const literal = /^`([^`]+)`$/.exec(dflt);
    if (literal && defaults[key.replace(/`/g, '')] !== undefined) {
      expect(String(defaults[key.replace(/`/g, '')])).toBe(literal[1]);
      checked++;
    }
  }
  expect(checked).toBeGreaterThanOrEqual(14);
});

test('the configuration section\'s messages for a key given twice and an invisible character are what synth prints', () => {
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Context keys by mode'));
  const example = (fragment: string): string => {
    const block = [...section.matchAll(/```\n(Invalid graviton-llm configuration:\n[^`]*?)```/g)].map((m) => m[1].trimEnd()).find((b) => b.includes(fragment));
    expect(block).toBeDefined();
    return block!;
  };
  const printed = (context: Record<string, unknown>, baseDir: string): string => {
    const run = runKitApp({ appProps: { context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context }, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-readme-')) }, baseDir });
    expect(run.exitCode).toBe(1);
    return run.stderr.trimEnd();
  };
  // The file the example describes: maxCapacity on lines 4 and 6.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-readme-twice-'));
  fs.mkdirSync(path.join(dir, 'config', 'environments'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config', 'environments', 'prod.json'), '{\n  "account": "222222222222",\n  "region": "us-east-1",\n  "maxCapacity": 2,\n  "minCapacity": 1,\n  "maxCapacity": 50\n}\n');
  expect(printed({ env: 'prod' }, dir)).toBe(example('the key is given twice'));
  expect(printed({ instanceType: 'c7g.large\u200b' }, REPO_ROOT)).toBe(example('zero-width space'));
});

describe('Context keys by mode', () => {
  const section = readme.slice(readme.indexOf('### Context keys by mode'), readme.indexOf('### The fit check'));

  test('the table lists exactly the keys each mode reads', () => {
    const rows = section.split('\n').filter((l) => /^\| `[a-z-]+`/.test(l));
    expect(rows.map((r) => /^\| `([a-z-]+)`/.exec(r)![1])).toEqual([...APP_MODES]);
    for (const row of rows) {
      const mode = /^\| `([a-z-]+)`/.exec(row)![1] as AppMode;
      const reads = row.split('|')[2];
      expect([...reads.matchAll(/`([^`]+)`/g)].map((m) => m[1]).filter((k) => k !== '-c FIELD=VALUE')).toEqual([...MODE_CONTEXT[mode].keys]);
      expect(reads.includes('every configuration field')).toBe(MODE_CONTEXT[mode].configurationFields);
    }
  });

  test('each example message is what synth prints for that command line', () => {
    const examples = section.slice(section.indexOf('```\n$ ')).split('```')[1].split('\n$ ').filter((e) => e.trim() !== '');
    expect(examples.map((e) => /-c mode=([a-z-]+)/.exec(e)?.[1] ?? 'environment').sort()).toEqual([...APP_MODES].sort());
    for (const example of examples) {
      const [command, ...printed] = example.trimEnd().split('\n');
      const flags = Object.fromEntries(command.split(' -c ').slice(1).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
      const run = runKitApp({ appProps: { context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...flags }, outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-readme-')) }, baseDir: REPO_ROOT });
      expect(run.exitCode).toBe(1);
      expect(run.stderr.trimEnd()).toBe(printed.join('\n'));
    }
  });
});

test('the library\'s props table lists exactly GravitonLlmEndpointProps, each with its @default as the code documents it', () => {
  const source = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'constructs', 'graviton-llm-endpoint.ts'), 'utf8');
  const block = source.slice(source.indexOf('export interface GravitonLlmEndpointProps {'));
  const documented = [...block.slice(0, block.indexOf('\n}\n')).matchAll(/\/\*\*([\s\S]*?)\*\/\s*readonly (\w+)\??:/g)].map(([, doc, name]) => {
    const text = doc.split('\n').map((l) => l.trim().replace(/^\*\s?/, '')).join(' ').trim();
    return [name, /@default\s+(.*)$/.exec(text)?.[1] ?? 'required'];
  });
  const section = readme.slice(readme.indexOf('## Use as a library'), readme.indexOf('## Architecture'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'))
    .map((l) => /^\| `(\w+)` \| (.*?) \| /.exec(l)!.slice(1, 3).map((c) => c.replace(/\\\|/g, '|')));
  expect(rows).toEqual(documented);
  expect(documented.length).toBeGreaterThan(30);
});
