import * as fs from 'node:fs';
import * as path from 'node:path';
import { duplicateKeyProblem, parseJsonText } from '../base/json-text';
import { closest } from '../base/suggest';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { CONFIG_FILE_KEY, CONTEXT_OBJECT_KEY, ENVIRONMENT_KEY, isCdkContextKey } from '../config/load';
import { CONFIG_KEYS } from '../config/schema';
import { ENDPOINT_ENTRY } from './endpoint-app';
import { GITHUB_OIDC_ENTRY } from './github-oidc-app';
import { EntryContext, KitEntry, MODE_KEY } from './kit-entry';
import { ORG_ENTRY } from './org-app';
import { PIPELINE_ENTRY } from './pipeline-app';

/**
 * Every deployable's entry: one environment's endpoint (the default, cdk.json's
 * app), the pipeline, the org-wide template with its StackSet and Service
 * Catalog stacks, and the GitHub Actions OIDC roles. Each owns its context
 * keys; the check below, its messages and the README's table ("Context keys
 * by mode", checked by a test) all read them from here.
 */
export const KIT_ENTRIES = [ENDPOINT_ENTRY, PIPELINE_ENTRY, ORG_ENTRY, GITHUB_OIDC_ENTRY] as const;
export type AppMode = (typeof KIT_ENTRIES)[number]['mode'];
/** The deployables' names, as `-c mode=` takes them. */
export const APP_MODES: readonly AppMode[] = KIT_ENTRIES.map((e) => e.mode);
/** The context keys each mode reads. A key no mode reads, or one another mode reads, stops synth: a workstation's synth and a pipeline's must not differ by a value one of them ignores. */
export const MODE_CONTEXT = Object.fromEntries(KIT_ENTRIES.map((e) => [e.mode, e.context])) as Readonly<Record<AppMode, EntryContext>>;

/**
 * The entry to build: `entry` when a deployable's own bin runs (which refuses
 * `-c mode=` naming another), else the one `-c mode=...` names, the
 * endpoint's by default. A mode that is not one stops synth with the list.
 */
export function chooseEntry(context: Record<string, unknown>, entry?: KitEntry<AppMode>): KitEntry<AppMode> {
  const mode = appMode(context);
  if (!entry) {
    return KIT_ENTRIES.find((e) => e.mode === mode)!;
  }
  if (context[MODE_KEY] !== undefined && mode !== entry.mode) {
    const named = KIT_ENTRIES.find((e) => e.mode === mode)!;
    throw new ConfigError([{
      field: MODE_KEY,
      given: mode,
      expected: `${entry.bin} builds ${entry.deploys} (mode ${entry.mode}); ${named.bin} builds ${named.deploys}: `
        + `npx cdk synth --app "npx tsx ${named.bin}", or -c mode=${mode} with cdk.json's app`,
    }]);
  }
  return entry;
}

/** Whether a mode reads a context key. */
export function modeReads(mode: AppMode, key: string): boolean {
  const reads = MODE_CONTEXT[mode];
  return reads.keys.includes(key) || (reads.configurationFields && isConfigurationFieldKey(key));
}

/** The mode chosen by `-c mode=...`; a value that is not one stops synth with the list. */
function appMode(context: Record<string, unknown>): AppMode {
  const mode = context[MODE_KEY] ?? 'environment';
  if (typeof mode !== 'string' || !(APP_MODES as readonly string[]).includes(mode)) {
    const near = typeof mode === 'string' ? closest(mode, APP_MODES) : undefined;
    throw new ConfigError([{ field: MODE_KEY, given: mode, expected: `expected one of: ${APP_MODES.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}` }]);
  }
  return mode as AppMode;
}

/**
 * Stops synth on a context key the mode does not read: a typo (with the
 * nearest key), a key of another mode (naming it), or a configuration field
 * placed directly in cdk.json's context rather than under "graviton-llm" (it
 * would apply to `-c` in one mode and be ignored in the others). Keys the CDK
 * CLI and cdk.json set for CDK itself pass, and so do another mode's keys
 * kept in cdk.json (a project's settings for that mode).
 *
 * @param cdkJsonContext cdk.json's `context`, as the CLI merged it into the app's; undefined when there is no cdk.json
 */
export function checkContextKeys(mode: AppMode, context: Record<string, unknown>, cdkJsonContext: Record<string, unknown> | undefined): void {
  const problems: ConfigProblem[] = [];
  for (const [key, given] of Object.entries(context)) {
    if (isCdkContextKey(key)) {
      continue;
    }
    const inCdkJson = cdkJsonContext !== undefined && Object.prototype.hasOwnProperty.call(cdkJsonContext, key);
    if (inCdkJson && isConfigurationFieldKey(key)) {
      problems.push({
        field: key,
        given,
        expected: `a configuration field directly in cdk.json's "context", where only -c would put it: move it into the "${CONTEXT_OBJECT_KEY}" object `
          + `("context": { "${CONTEXT_OBJECT_KEY}": { "${key.split('.')[0]}": ... } }), which every environment and the pipeline's stages read`,
        source: 'cdk.json',
      });
      continue;
    }
    if (modeReads(mode, key)) {
      continue;
    }
    const readers = APP_MODES.filter((m) => modeReads(m, key));
    if (inCdkJson && readers.length > 0) {
      continue;
    }
    problems.push({ field: key, given, expected: unreadKeyExpectation(mode, key, readers), source: inCdkJson ? 'cdk.json' : undefined });
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
}

/**
 * cdk.json's `context` in `baseDir`, or undefined when there is none (or it is
 * not JSON, or not an object: the CDK CLI reports that). Read as the CLI
 * reads it (a byte-order mark at the start is passed over), except that a key
 * given twice in one object stops synth: the CLI keeps the last without a word.
 */
export function readCdkJsonContext(baseDir: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(baseDir, 'cdk.json'), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = parseJsonText(text, { allowByteOrderMark: true });
  if (!parsed.ok) {
    if ('duplicates' in parsed) {
      throw new ConfigError(parsed.duplicates.map((d) => ({ ...duplicateKeyProblem(d), source: 'cdk.json' })));
    }
    return undefined;
  }
  const context: unknown = (parsed.value as { context?: unknown } | null)?.context;
  return typeof context === 'object' && context !== null && !Array.isArray(context) ? context as Record<string, unknown> : undefined;
}

/** How the mode's keys are described in a message and the README: `mode`, `env`, ... and "every configuration field". */
function describeModeKeys(mode: AppMode): string {
  const reads = MODE_CONTEXT[mode];
  return [...reads.keys, ...(reads.configurationFields ? ['every configuration field (-c FIELD=VALUE)'] : [])].join(', ');
}

function unreadKeyExpectation(mode: AppMode, key: string, readers: readonly AppMode[]): string {
  const reads = `${mode} mode reads only: ${describeModeKeys(mode)}`;
  if (readers.length > 0) {
    let why = '';
    if (mode === 'pipeline' && isConfigurationFieldKey(key)) {
      why = `; a pipeline builds each stage from cdk.json's "${CONTEXT_OBJECT_KEY}" object and config/environments/NAME.json alone, so that its synth and yours agree: set it there`;
    } else if (mode === 'pipeline' && (key === ENVIRONMENT_KEY || key === CONFIG_FILE_KEY)) {
      why = '; a pipeline deploys the environments its file (config/pipeline.json, or -c pipelineConfig=FILE) names, each from its own file';
    }
    return `not read in ${mode} mode: ${readers.map((r) => `-c mode=${r}`).join(' and ')} read${readers.length === 1 ? 's' : ''} it${why}. ${reads}`;
  }
  const own = [...MODE_CONTEXT[mode].keys, ...(MODE_CONTEXT[mode].configurationFields ? CONFIG_KEYS : [])];
  const near = closest(key, own);
  if (near) {
    return `unknown context key; did you mean "${near}"? ${reads}`;
  }
  const elsewhere = APP_MODES.flatMap((m) => [...MODE_CONTEXT[m].keys, ...(MODE_CONTEXT[m].configurationFields ? CONFIG_KEYS : [])]);
  const other = closest(key, elsewhere);
  const otherModes = other ? APP_MODES.filter((m) => modeReads(m, other)) : [];
  return `unknown context key${other ? `; did you mean "${other}"? (read in ${otherModes.map((m) => `${m} mode`).join(' and ')})` : ''}. ${reads}`;
}

function isConfigurationFieldKey(key: string): boolean {
  return (CONFIG_KEYS as readonly string[]).includes(key.split('.')[0]);
}
