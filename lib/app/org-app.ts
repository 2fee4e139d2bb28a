import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { ORG_CONFIG_KEY, ResolvedOrgConfig, loadOrgConfig } from '../org/org-config';
import { OrgAssetBucketStack } from '../stacks/org-asset-bucket-stack';
import { OrgCatalogStack } from '../stacks/org-catalog-stack';
import { OrgStackSetStack } from '../stacks/org-stackset-stack';
import { orgAssetBucketName } from '../stacks/org-template-stack';
import { KitEntry, KitEntryOptions, MODE_KEY } from './kit-entry';
import { ORG_TEMPLATE_DIR, OrgTemplateAssembly, synthesizeOrgTemplate } from './org-template';

/**
 * The org-wide rollout (bin/org.ts, or `-c mode=org`): reads
 * `-c orgConfig=FILE` (default config/org.json).
 */
export const ORG_ENTRY: KitEntry<'org'> = {
  mode: 'org',
  deploys: 'the org template, its StackSet and Service Catalog portfolio',
  bin: 'bin/org.ts',
  context: { keys: [MODE_KEY, ORG_CONFIG_KEY], configurationFields: false },
  build: (app, options) => {
    const org = addOrgStacks(app, options);
    return [...org.assetBuckets, org.stackSet, org.catalog];
  },
};

export interface AddOrgStacksOptions extends KitEntryOptions {
  /** Bundle the template's Lambda functions (see OrgTemplateSynthOptions.bundleAssets). @default true */
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
 * The org entry's two steps, one after the other: the template is
 * synthesized on its own into `<outdir>/org-template/` (synthesizeOrgTemplate),
 * then the administrator account's stacks that deploy that file are added to
 * `app`: an asset bucket per region, the StackSet and the Service Catalog
 * portfolio. The caller registers the checks on `app` (the runner does).
 */
export function addOrgStacks(app: App, options: AddOrgStacksOptions = {}): OrgStacks {
  const org = loadOrgConfig(app.node.getAllContext(), options.baseDir);
  const template = synthesizeOrgTemplate({
    org,
    context: app.node.getAllContext(),
    outdir: path.join(app.outdir, ORG_TEMPLATE_DIR),
    bundleAssets: options.bundleTemplateAssets,
  });
  return { ...addOrgAdministratorStacks(app, org, template), template: template.stack, config: org, templateFile: template.templateFile, assetManifestFile: template.assetManifestFile };
}

/** The administrator account's stacks, which upload a synthesized org template and deploy it. */
export function addOrgAdministratorStacks(app: App, org: ResolvedOrgConfig, template: OrgTemplateAssembly): Pick<OrgStacks, 'stackSet' | 'catalog' | 'assetBuckets'> {
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
    env: home, org, templateFile: template.templateFile, description: 'graviton-llm: StackSet of the org template',
  });
  const catalog = new OrgCatalogStack(app, 'GravitonLlmOrgCatalog', {
    env: home, org, templateFile: template.templateFile, description: 'graviton-llm: Service Catalog portfolio of the org template',
  });
  // `cdk deploy --all` creates the buckets first; publishing into them is a step of its own (docs/org-rollout.md).
  for (const bucket of assetBuckets) {
    stackSet.addStackDependency(bucket, 'the template\'s assets are published to the asset buckets');
    catalog.addStackDependency(bucket, 'the template\'s assets are published to the asset buckets');
  }
  return { stackSet, catalog, assetBuckets };
}
