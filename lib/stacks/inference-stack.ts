import { CfnOutput, Fn, Stack, StackProps, Tags, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { endpointPropsOf } from '../config/endpoint-props';
import { ResolvedConfig } from '../config/resolve';
import { GravitonLlmEndpoint } from '../constructs/graviton-llm-endpoint';

/** Tag every resource of a named environment carries. */
export const ENVIRONMENT_TAG = 'graviton-llm:environment';

/**
 * Resource types left untagged: CloudFormation accepts tags on them now, but
 * cfn-lint's schema (1.51, which CI runs) rejects them, and neither bears cost.
 */
const UNTAGGED_TYPES = ['AWS::ElasticLoadBalancingV2::Listener', 'AWS::CloudWatch::Dashboard'];

export interface InferenceStackProps extends StackProps {
  /** A configuration that passed `resolveConfig`. */
  readonly config: ResolvedConfig;
  /**
   * Named environment the stack belongs to, tagged on every resource
   * (`graviton-llm:environment`). @default - no environment tag
   */
  readonly environmentName?: string;
  /**
   * The stack's name. Explicit by default, so that a pipeline's stage deploys
   * the same stack a workstation's `-c env=NAME` does (a stack in a Stage is
   * otherwise named STAGE-ID).
   * @default - the configuration's stackName
   */
  readonly stackName?: string;
  /** @default - the model, its quantization, the instance type and the llama.cpp release */
  readonly description?: string;
}

/**
 * One private, OpenAI-compatible LLM endpoint: llama.cpp's llama-server on a
 * Graviton Auto Scaling group behind an Application Load Balancer, with a
 * generated API key and a cache of builds and models.
 */
export class InferenceStack extends Stack {
  readonly endpoint: GravitonLlmEndpoint;

  /**
   * The region's first two availability zones as `Fn::GetAZs`, as for a stack
   * without an account: with an account and region (a named environment),
   * CDK would otherwise look them up, and synth would need AWS credentials.
   * A lookup result already in the context (cdk.context.json) is used as is.
   */
  get availabilityZones(): string[] {
    if (!Token.isUnresolved(this.account) && !Token.isUnresolved(this.region)
      && this.node.tryGetContext(`availability-zones:account=${this.account}:region=${this.region}`) !== undefined) {
      return super.availabilityZones;
    }
    return [0, 1].map((i) => Fn.select(i, Fn.getAzs()));
  }

  constructor(scope: Construct, id: string, props: InferenceStackProps) {
    const { config, environmentName, ...stackProps } = props;
    super(scope, id, {
      ...stackProps,
      stackName: props.stackName ?? config.stackName,
      description: props.description
        ?? `graviton-llm: ${config.model.displayName} ${config.model.quantization} on ${config.instance.instanceType} (llama.cpp ${config.llamaCppRef})`,
    });
    // `Default`: CDK leaves the id out of logical ids, so the resources keep the ids they had when
    // the stack built them itself, and an upgrade replaces nothing.
    this.endpoint = new GravitonLlmEndpoint(this, 'Default', endpointPropsOf(this, config));
    addEndpointOutputs(this, this.endpoint);
    if (environmentName) {
      Tags.of(this).add(ENVIRONMENT_TAG, environmentName, { excludeResourceTypes: UNTAGGED_TYPES });
    }
  }
}

/** The endpoint's outputs: where to call it, where its key, alarms, dashboard and logs are. */
export function addEndpointOutputs(stack: Stack, endpoint: GravitonLlmEndpoint): void {
  new CfnOutput(stack, 'EndpointUrl', {
    value: endpoint.endpointUrl,
    description: 'OpenAI-compatible base URL (send the API key as a Bearer token)',
  });
  new CfnOutput(stack, 'ApiKeyParameterName', {
    value: endpoint.apiKeyParameter.parameterName,
    description: 'SSM SecureString holding the API key: aws ssm get-parameter --with-decryption --name ...',
  });
  new CfnOutput(stack, 'AlarmTopicArn', { value: endpoint.alarmTopic.topicArn, description: 'SNS topic every alarm notifies' });
  new CfnOutput(stack, 'DashboardName', { value: endpoint.dashboard.dashboardName, description: 'CloudWatch dashboard of the endpoint' });
  new CfnOutput(stack, 'BootLogGroupName', { value: endpoint.fleet.bootLogGroup.logGroupName, description: 'Instance boot logs' });
  new CfnOutput(stack, 'ServerLogGroupName', { value: endpoint.fleet.serverLogGroup.logGroupName, description: 'llama-server logs' });
}
