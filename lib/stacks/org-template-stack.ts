import { Aspects, Aws, CfnResource, CliCredentialsStackSynthesizer, Fn, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { endpointPropsOf } from '../config/endpoint-props';
import { GravitonLlmEndpoint } from '../constructs/graviton-llm-endpoint';
import { PRODUCT_ROLE_PATH, launchRoleKeyStatement } from '../org/launch-role-policy';
import { ResolvedOrgConfig } from '../org/org-config';
import { addOrgTemplateParameters } from '../org/template-parameters';
import { addEndpointOutputs } from './inference-stack';
import { ignoreCfnLint } from '../constructs/cfn-lint-findings';

export interface OrgTemplateStackProps extends Omit<StackProps, 'env' | 'synthesizer'> {
  readonly org: ResolvedOrgConfig;
}

/** Name of an org asset bucket: one per region, the same prefix everywhere. */
export function orgAssetBucketName(prefix: string, region: string): string {
  return `${prefix}-${region}`;
}

/**
 * The inference stack as one template for every account and region of an
 * organization: no account, no region, no lookups; what differs by account
 * (VPC, model, instance type, capacity, client range, alarm address) is a
 * CloudFormation parameter, and everything else comes from the org
 * configuration's kit settings. The same wiring as InferenceStack builds it.
 *
 * Its file assets (Lambda bundles, the boot script) live in the org asset
 * bucket of whichever region it is deployed in (`PREFIX-${AWS::Region}`),
 * readable by every account of the organization, rather than in a
 * per-account bootstrap bucket; the synthesizer adds no bootstrap-version
 * rule, so accounts need no `cdk bootstrap`.
 */
export class OrgTemplateStack extends Stack {
  readonly endpoint: GravitonLlmEndpoint;

  constructor(scope: Construct, id: string, props: OrgTemplateStackProps) {
    super(scope, id, {
      ...props,
      synthesizer: new CliCredentialsStackSynthesizer({
        fileAssetsBucketName: orgAssetBucketName(props.org.assetBucketPrefix, '${AWS::Region}'),
        bucketPrefix: '',
      }),
      // No CDK metadata resource: the template is deployed by StackSets and Service Catalog, not by cdk.
      analyticsReporting: false,
    });
    const inputs = addOrgTemplateParameters(this, props.org);
    const endpointProps = endpointPropsOf(this, inputs.config);
    // `Default` keeps the logical ids the template had before the endpoint was a construct.
    this.endpoint = new GravitonLlmEndpoint(this, 'Default', {
      ...endpointProps,
      // StackSets and Service Catalog name the stacks (StackSet-NAME-ID, SC-ACCOUNT-pp-ID): the fleet's
      // group, its SSM parameters, the boot's cfn-signal and the canary's dimension take the deploy-time
      // name. The stack's own name stays the construct id, which synthesis names the artifact by; a
      // test checks that the id is in no physical name of the template.
      endpointName: Aws.STACK_NAME,
      vpcProps: { ...endpointProps.vpcProps, existingVpcChoice: inputs.existingVpcChoice },
      allowedCidrs: inputs.allowedCidrs,
      machineImage: inputs.machineImage,
      promptCacheMiB: inputs.promptCacheMiB,
      // The asset buckets' names are predictable (PREFIX-REGION): the instances read the boot
      // script only from the one the administrator account owns.
      bootScriptBucketAccount: props.org.administratorAccount,
    });
    addEndpointOutputs(this, this.endpoint);
    // Every role, the custom-resource providers' plain AWS::IAM::Role resources included: the
    // Service Catalog launch role may create roles only with this boundary. An aspect over the whole
    // stack, as aws-cdk-lib's own: it creates the providers' roles (the default security group's, the
    // log retention's) stack-wide and exposes none of them.
    iam.PermissionsBoundary.of(this).apply(iam.ManagedPolicy.fromManagedPolicyArn(this, 'PermissionsBoundaryPolicy', inputs.permissionsBoundaryArn));
    // And, in a Service Catalog launch (where the boundary is set), the kit's role path: the launch role's
    // role actions are on that path only (PRODUCT_ROLE_PATH). The StackSet's stacks keep their roles where
    // they are (a new path replaces a role).
    const rolePath = Fn.conditionIf(inputs.hasPermissionsBoundary.logicalId, PRODUCT_ROLE_PATH, Aws.NO_VALUE);
    Aspects.of(this).add({
      visit: (node) => {
        if (CfnResource.isCfnResource(node) && node.cfnResourceType === 'AWS::IAM::Role') node.addPropertyOverride('Path', rolePath);
      },
    });
    // Every key of the template (the alarm topic's): the launch role manages it through its key policy,
    // having no key action in IAM but kms:CreateKey (see launchRoleKeyStatement).
    for (const key of this.node.findAll().filter((c): c is kms.Key => c instanceof kms.Key)) {
      key.addToResourcePolicy(launchRoleKeyStatement(props.org.serviceCatalog.launchRoleName, inputs.hasPermissionsBoundary));
    }

    Validations.of(this.endpoint.endpoint).acknowledge({
      id: 'AwsSolutions::AwsSolutions-EC23',
      reason: 'The load balancer is internal; the range it admits is the AllowedCidr parameter (held to an IPv4 CIDR by its pattern) or the new VPC\'s own range, which cdk-nag cannot read from a parameter.',
    });
    const subnetsReason = 'Evaluated with the parameters\' defaults (a new VPC), the existing-subnet branch of the Fn::If is empty; the template\'s rules require PrivateSubnetIds whenever VpcId selects that branch.';
    Validations.of(this.endpoint.canary!.function).acknowledge({ id: 'CloudFormation-Validate::W1035', reason: subnetsReason });
    // The same finding, as cfn-lint (which CI runs on every template) reports it: on the load balancer.
    ignoreCfnLint(this.endpoint.endpoint.loadBalancer.node.defaultChild as CfnResource, 'W1035');
    // And on the builder, which runs in the first of the same subnets.
    if (this.endpoint.fleet.builder) ignoreCfnLint(this.endpoint.fleet.builder.instance, 'W1035');
    // cfn-lint 1.51's list of launch template instance types lags its own list of EC2 instance
    // types by i8g.metal-48xl, one of InstanceType's values; it reports that on the parameter,
    // which only a template-wide directive reaches. A template's directive replaces the project's
    // .cfnlintrc.yaml, so it repeats that file's W3005.
    this.templateOptions.metadata = { ...this.templateOptions.metadata, 'cfn-lint': { config: { ignore_checks: ['W1030', 'W3005'] } } };
  }
}
