import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudformation from 'aws-cdk-lib/aws-cloudformation';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { ResolvedOrgConfig } from '../org/org-config';
import { ORG_PARAMETERS } from '../org/template-parameters';

export interface OrgStackSetStackProps extends StackProps {
  readonly org: ResolvedOrgConfig;
  /** The synthesized org template (JSON). */
  readonly templateFile: string;
}

/**
 * The StackSet that rolls the org template out to every account of the
 * configured OUs, in every configured region, and to accounts that join those
 * OUs later; stacks are removed from accounts that leave them. Service-managed
 * permissions: deploy this stack in the management account (callAs SELF) or in
 * a delegated administrator for CloudFormation StackSets (DELEGATED_ADMIN).
 */
export class OrgStackSetStack extends Stack {
  readonly stackSet: cloudformation.CfnStackSet;
  readonly templateAsset: s3assets.Asset;

  constructor(scope: Construct, id: string, props: OrgStackSetStackProps) {
    super(scope, id, props);
    const { org } = props;
    // A normal asset of this stack (the administrator account's bootstrap bucket): StackSets
    // reads the template from there with this stack's deployment role.
    this.templateAsset = new s3assets.Asset(this, 'OrgTemplate', { path: props.templateFile });
    const op = org.operationPreferences;

    this.stackSet = new cloudformation.CfnStackSet(this, 'StackSet', {
      stackSetName: org.stackSetName,
      description: `graviton-llm: a private, autoscaled LLM endpoint in every account of ${org.organizationalUnitIds.join(', ')}`,
      permissionModel: 'SERVICE_MANAGED',
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      callAs: org.callAs,
      // One operation at a time, queued rather than failed while another runs.
      managedExecution: { Active: true },
      operationPreferences: {
        regionConcurrencyType: op.regionConcurrencyType,
        maxConcurrentPercentage: op.maxConcurrentPercentage,
        failureTolerancePercentage: op.failureTolerancePercentage,
        concurrencyMode: op.concurrencyMode,
      },
      // The template creates IAM roles (unnamed); no macros, no nested stacks, no named IAM resources.
      capabilities: ['CAPABILITY_IAM'],
      templateUrl: this.templateAsset.httpUrl,
      parameters: orgParameterValues(org).map(([parameterKey, parameterValue]) => ({ parameterKey, parameterValue })),
      stackInstancesGroup: [{
        deploymentTargets: { organizationalUnitIds: org.organizationalUnitIds },
        regions: org.regions,
      }],
    });

    new CfnOutput(this, 'StackSetName', { value: org.stackSetName, description: 'StackSet of the org template' });
    new CfnOutput(this, 'StackSetId', { value: this.stackSet.attrStackSetId });
  }
}

/** The org-wide parameter values, as the StackSet passes them (the template's defaults are the same). */
export function orgParameterValues(org: ResolvedOrgConfig): [string, string][] {
  const p = org.parameters;
  const values: [string, string | undefined][] = [
    [ORG_PARAMETERS.model, p.model],
    [ORG_PARAMETERS.instanceType, p.instanceType],
    [ORG_PARAMETERS.minCapacity, String(p.minCapacity)],
    [ORG_PARAMETERS.maxCapacity, String(p.maxCapacity)],
    [ORG_PARAMETERS.allowedCidr, p.allowedCidr],
    [ORG_PARAMETERS.alarmEmail, p.alarmEmail],
    // The StackSet's execution role is not held to the Service Catalog launch role's boundary,
    // and member accounts need not hold the boundary policy.
    [ORG_PARAMETERS.permissionsBoundary, ''],
  ];
  return values.filter((v): v is [string, string] => v[1] !== undefined);
}
