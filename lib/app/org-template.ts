import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { ORG_ASSETS_MANIFEST, writeRegionalAssetManifest } from '../org/asset-manifest';
import { ResolvedOrgConfig } from '../org/org-config';
import { OrgTemplateStack } from '../stacks/org-template-stack';
import { registerChecks } from './checks';

/** Where, inside the org entry's cloud assembly, the org template's own assembly is written. */
export const ORG_TEMPLATE_DIR = 'org-template';
/** Construct id (and artifact id) of the org template's stack. */
export const ORG_TEMPLATE_STACK_ID = 'GravitonLlmOrgTemplate';

export interface OrgTemplateSynthOptions {
  readonly org: ResolvedOrgConfig;
  /**
   * The template App's context: the org entry's feature flags and settings.
   * Keys of the CDK CLI's own (`aws:cdk:*`) given here are left out; those
   * the CLI passes in the environment are read by the App itself, as for any
   * App the CLI runs.
   */
  readonly context: Record<string, unknown>;
  /** The template's own cloud assembly directory; emptied first. */
  readonly outdir: string;
  /**
   * Bundle the template's Lambda functions, whatever stacks the CLI was asked
   * for (its selection names the org entry's stacks, never the template's).
   * Tests that do not read the bundles turn it off to stay fast.
   * @default true
   */
  readonly bundleAssets?: boolean;
}

/** The org template, synthesized: the file the StackSet and the Service Catalog product upload. */
export interface OrgTemplateAssembly {
  readonly stack: OrgTemplateStack;
  /** The template (JSON). */
  readonly templateFile: string;
  /** The cdk-assets manifest that publishes the template's assets to every region's org asset bucket. */
  readonly assetManifestFile: string;
}

/**
 * The org entry's first step: the environment-agnostic template in an App of
 * its own, with the kit's checks (cdk-nag, CloudFormation Validate),
 * synthesized into `outdir` before the administrator stacks that deploy it are
 * built; they read the file. Also writes the regional manifest
 * `npm run publish-org-assets` publishes.
 */
export function synthesizeOrgTemplate(options: OrgTemplateSynthOptions): OrgTemplateAssembly {
  // The directory is this step's alone: emptied, so that it holds this synth's assets and no earlier one's.
  fs.rmSync(options.outdir, { recursive: true, force: true });
  const context = Object.fromEntries(Object.entries(options.context).filter(([key]) => !key.startsWith('aws:cdk:')));
  const app = new App({
    outdir: options.outdir,
    context,
    // After the CLI's context, which would otherwise select the stacks to bundle by the org entry's names.
    postCliContext: { 'aws:cdk:bundling-stacks': options.bundleAssets === false ? [] : ['**'] },
    // Synthesized here, once; not again when the process exits.
    autoSynth: false,
  });
  registerChecks(app);
  const { org } = options;
  const stack = new OrgTemplateStack(app, ORG_TEMPLATE_STACK_ID, {
    org,
    description: `graviton-llm org template: a private, autoscaled LLM endpoint (llama.cpp ${org.kit.llamaCppRef}); model, instance type, capacity and VPC are parameters`,
  });
  app.synth();
  const assetManifestFile = writeRegionalAssetManifest(options.outdir, stack.artifactId, org.regions);
  if (path.basename(assetManifestFile) !== ORG_ASSETS_MANIFEST) {
    throw new Error(`unexpected manifest ${assetManifestFile}`);
  }
  return { stack, templateFile: path.join(options.outdir, stack.templateFile), assetManifestFile };
}
