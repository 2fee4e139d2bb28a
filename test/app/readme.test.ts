import * as fs from 'node:fs';
import * as path from 'node:path';
import { CATALOG_MODELS, DEFAULT_MODEL_ID } from '../../lib/catalogs/model-catalog';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { INSTANCE_FAMILIES } from '../../lib/catalogs/graviton-instances';
import { LLAMA_CPP_DEFAULT_REF } from '../../lib/catalogs/llama-cpp-release';
import { CONFIG_KEYS, configSchema, customModelSchema } from '../../lib/config/schema';
import { REPO_ROOT } from '../support/synth';

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
