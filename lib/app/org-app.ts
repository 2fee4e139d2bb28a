import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { ORG_ASSETS_MANIFEST, writeRegionalAssetManifest } from '../org/asset-manifest';
import { ResolvedOrgConfig, loadOrgConfig } from '../org/org-config';
import { OrgAssetBucketStack } from '../stacks/org-asset-bucket-stack';
import { OrgCatalogStack } from '../stacks/org-catalog-stack';
import { OrgStackSetStack } from '../stacks/org-stackset-stack';
import { OrgTemplateStack, orgAssetBucketName } from '../stacks/org-template-stack';
import { registerChecks } from './checks';

/** Where, inside the app's cloud assembly, the org template's own assembly is written. */
export const ORG_TEMPLATE_DIR = 'org-template';
/** Construct id (and artifact id) of the org template's stack. */
export const ORG_TEMPLATE_STACK_ID = 'GravitonLlmOrgTemplate';

export interface AddOrgStacksOptions {
  /** Directory a `-c orgConfig=FILE` path (default config/org.json) is relative to. @default - the current directory */
  readonly baseDir?: string;
  /**
   * Bundle the template's Lambda functions. Tests that do not read the
   * bundles turn it off to stay fast; the CLI always bundles, whatever stacks
   * it was asked for, since the template is a file other stacks upload.
   * @default true
   */
  readonly bundleTemplateAssets?: boolean;
}

export interface OrgStacks {
  /** The org template's stack (in its own App, already synthesized). */
  readonly template: Stack;
  /** The StackSet that deploys it to the OUs. */
  readonly stackSet: Stack;
  /** The Service Catalog portfolio and product. */
  readonly catalog: Stack;
  /** One asset bucket per region, in the administrator account. */
  readonly assetBuckets: Stack[];
  readonly config: ResolvedOrgConfig;
  /** The synthesized template, as the StackSet and the product upload it. */
  readonly templateFile: string;
  /** The cdk-assets manifest that publishes the template's assets to every region's bucket. */
  readonly assetManifestFile: string;
}

/**
 * The org-wide rollout (`-c mode=org`): reads `-c orgConfig=FILE`, synthesizes
 * the environment-agnostic template in an App of its own (with the same
 * cdk-nag and CloudFormation Validate checks) into `<outdir>/org-template/`,
 * writes the manifest `npm run publish-org-assets` publishes, and adds the
 * administrator account's stacks that deploy it: an asset bucket per region,
 * the StackSet and the Service Catalog portfolio. The caller registers the
 * checks on `app` (buildKitApp does).
 */
export function addOrgStacks(app: App, options: AddOrgStacksOptions = {}): OrgStacks {
  const org = loadOrgConfig(app.node.getAllContext(), options.baseDir);
  const { template, templateFile, assetManifestFile } = synthesizeOrgTemplate(app, org, options);

  // Pinned: the template's instances read their boot script only from buckets this account owns.
  const account = org.administratorAccount;
  const assetBuckets = org.regions.map((region) => new OrgAssetBucketStack(app, `GravitonLlmOrgAssets-${region}`, {
    env: { account, region },
    bucketName: orgAssetBucketName(org.assetBucketPrefix, region),
    organizationId: org.organizationId,
    description: `graviton-llm: org asset bucket of ${region} (the org template's code and boot script)`,
  }));
  const home = { account, region: org.homeRegion };
  const stackSet = new OrgStackSetStack(app, 'GravitonLlmOrgStackSet', {
    env: home, org, templateFile, description: 'graviton-llm: StackSet of the org template',
  });
  const catalog = new OrgCatalogStack(app, 'GravitonLlmOrgCatalog', {
    env: home, org, templateFile, description: 'graviton-llm: Service Catalog portfolio of the org template',
  });
  // `cdk deploy --all` creates the buckets first; publishing into them is a step of its own (docs/org-rollout.md).
  for (const bucket of assetBuckets) {
    stackSet.addStackDependency(bucket, 'the template\'s assets are published to the asset buckets');
    catalog.addStackDependency(bucket, 'the template\'s assets are published to the asset buckets');
  }
  return { template, stackSet, catalog, assetBuckets, config: org, templateFile, assetManifestFile };
}

/**
 * The org template in an App of its own, so that it is a plain file the
 * administrator stacks upload: its context is the outer app's feature flags
 * and settings, without the CLI's own `aws:cdk:*` keys (which would select
 * stacks to bundle, or write local paths into the template).
 */
function synthesizeOrgTemplate(app: App, org: ResolvedOrgConfig, options: AddOrgStacksOptions): { template: Stack; templateFile: string; assetManifestFile: string } {
  const outdir = path.join(app.outdir, ORG_TEMPLATE_DIR);
  fs.rmSync(outdir, { recursive: true, force: true });
  const context = Object.fromEntries(Object.entries(app.node.getAllContext()).filter(([key]) => !key.startsWith('aws:cdk:')));
  const inner = new App({
    outdir,
    context: { ...context, ...(options.bundleTemplateAssets === false ? { 'aws:cdk:bundling-stacks': [] } : {}) },
  });
  registerChecks(inner);
  const template = new OrgTemplateStack(inner, ORG_TEMPLATE_STACK_ID, {
    org,
    description: `graviton-llm org template: a private, autoscaled LLM endpoint (llama.cpp ${org.kit.llamaCppRef}); model, instance type, capacity and VPC are parameters`,
  });
  inner.synth();
  const templateFile = path.join(outdir, template.templateFile);
  const assetManifestFile = writeRegionalAssetManifest(outdir, template.artifactId, org.regions);
  if (path.basename(assetManifestFile) !== ORG_ASSETS_MANIFEST) {
    throw new Error(`unexpected manifest ${assetManifestFile}`);
  }
  return { template, templateFile, assetManifestFile };
}
