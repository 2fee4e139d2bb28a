import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { registerChecks } from '../../../lib/app/checks';
import { OrgStacks, addOrgStacks } from '../../../lib/app/org-app';
import { REPO_ROOT, cdkJsonContext } from '../../support/synth';

export interface OrgSynthesized {
  readonly app: App;
  readonly org: OrgStacks;
  /** The outer cloud assembly (administrator stacks); the template's own is `<outdir>/org-template`. */
  readonly outdir: string;
  /** The org template, as JSON. */
  readonly template: any;
  /** A synthesized administrator stack's template, by stack id. */
  templateOf(stackId: string): any;
}

/**
 * Builds the org app as `-c mode=org` does (the checks registered as
 * buildKitApp registers them) and synthesizes it: cdk-nag and CloudFormation
 * Validate run on the template (in its own App) and on every administrator
 * stack, and throw on any unacknowledged finding.
 */
export function synthOrg(context: Record<string, unknown> = {}, options: { bundle?: boolean } = {}): OrgSynthesized {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-org-'));
  const app = new App({ context: { ...cdkJsonContext(), ...context }, outdir });
  registerChecks(app);
  const org = addOrgStacks(app, { baseDir: REPO_ROOT, bundleTemplateAssets: options.bundle ?? false });
  app.synth();
  return {
    app,
    org,
    outdir,
    template: JSON.parse(fs.readFileSync(org.templateFile, 'utf8')),
    templateOf: (stackId) => JSON.parse(fs.readFileSync(path.join(outdir, `${stackId}.template.json`), 'utf8')),
  };
}

/** Writes an org configuration to a temporary file, for `-c orgConfig=FILE`. */
export function orgConfigFile(config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-org-config-'));
  const file = path.join(dir, 'org.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

/** The example configuration (config/org.json). */
export function exampleOrgConfig(): any {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config', 'org.json'), 'utf8'));
}
