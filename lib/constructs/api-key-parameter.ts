import { Arn, ArnFormat, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { STACK_ID_TAG } from '../../runtime/api-key/owner-tags';
import { handlerEntry } from './handler-entry';
import { nagArn } from './nag-findings';
import { throwIfProblems } from '../base/problems';
import { logRetentionProblems } from './endpoint-checks';
import { formatProblems } from './prop-formats';

export interface ApiKeyParameterProps {
  /** Name of the SSM SecureString parameter, starting with `/`. */
  readonly parameterName: string;
  /** How long the handler's logs are kept. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * The endpoint's API key: a random value generated at deploy time by a custom
 * resource and kept as an SSM SecureString. CloudFormation cannot create
 * SecureStrings, and generating the key in CDK would put it in the template.
 * The key appears in no template, output or log; deleting the stack deletes it.
 */
export class ApiKeyParameter extends Construct {
  readonly parameterName: string;
  readonly parameterArn: string;
  /** The custom resource that writes the key: depend on it to start after the key exists. */
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: ApiKeyParameterProps) {
    super(scope, id);
    // The rules GravitonLlmEndpoint checks its apiKeyParameterName and logRetention with, for a parameter built alone.
    throwIfProblems(`ApiKeyParameter ${this.node.path}`, [
      ...formatProblems({ apiKeyParameterName: props.parameterName }).map((p) => ({ ...p, field: 'parameterName' })),
      ...logRetentionProblems(props.logRetention),
    ]);
    this.parameterName = props.parameterName;
    this.parameterArn = Arn.format({
      service: 'ssm',
      resource: 'parameter',
      // SSM ARNs carry the name without its leading slash.
      resourceName: props.parameterName.replace(/^\//, ''),
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }, Stack.of(this));

    const onEvent = new nodejs.NodejsFunction(this, 'Handler', {
      entry: handlerEntry('api-key'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(30),
      logGroup: new logs.LogGroup(this, 'HandlerLogs', { retention: props.logRetention }),
      bundling: {
        // Bundle the pinned SDK rather than use the runtime's, so the deployed code is the code the tests ran.
        externalModules: [],
        minify: true,
        sourceMap: false,
      },
    });
    const actions = ['ssm:PutParameter', 'ssm:AddTagsToResource', 'ssm:ListTagsForResource', 'ssm:GetParameter', 'ssm:DeleteParameter'];
    onEvent.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.parameterArn] }));
    // After a rename CloudFormation deletes the old parameter (or, on rollback, returns to it)
    // with this policy already naming the new one; the handler tags what it creates with the
    // stack id, so it may still manage those and nothing else.
    onEvent.addToRolePolicy(new iam.PolicyStatement({
      actions,
      resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: '*' })],
      conditions: { StringEquals: { [`aws:ResourceTag/${STACK_ID_TAG}`]: Stack.of(this).stackId } },
    }));

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: onEvent,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: props.logRetention }),
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::GravitonLlmApiKey',
      properties: { ParameterName: props.parameterName },
    });

    for (const fn of [onEvent, provider]) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
      });
    }
    Validations.of(provider).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(onEvent.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The CDK Provider framework may invoke any version of the one handler function it wraps (FUNCTION_ARN:*).',
    });
    Validations.of(onEvent).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${nagArn(Stack.of(this), 'ssm', 'parameter/*')}]`,
      reason: 'Limited by condition to parameters tagged with this stack\'s id, i.e. API keys this handler created; needed to delete or restore the old parameter when the name changes.',
    });
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The Provider framework function\'s runtime is chosen by aws-cdk-lib, not by this kit.',
    });
  }
}

