import * as path from 'node:path';
import { CfnOutput, Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { GravitonInstanceType, GravitonLlmEndpoint, LlamaModel } from 'graviton-llm';

/** A private LLM endpoint, and a function of this app's own that calls it from inside its VPC. */
export class EmbedStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const llm = new GravitonLlmEndpoint(this, 'Llm', {
      model: LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0,
      instanceType: GravitonInstanceType.of('c7g.xlarge'),
    });
    const summarize = new lambda.Function(this, 'Summarize', {
      runtime: lambda.Runtime.NODEJS_24_X,
      code: lambda.Code.fromAsset(path.join(__dirname, '..', 'lambda', 'summarize')),
      handler: 'index.handler',
      timeout: Duration.minutes(2),
      vpc: llm.vpc,
      vpcSubnets: llm.privateSubnets,
      environment: { LLM_URL: llm.endpointUrl, LLM_API_KEY_PARAMETER: llm.apiKeyParameter.parameterName },
    });
    llm.grantReadApiKey(summarize);
    llm.allowFrom(summarize, 'the summarize function');
    const managed = 'arn:<AWS::Partition>:iam::aws:policy/service-role';
    Validations.of(summarize).acknowledge({ id: `AwsSolutions-IAM4[Policy::${managed}/AWSLambdaBasicExecutionRole]`, reason: 'AWS managed: lets the function write its own logs.' });
    Validations.of(summarize).acknowledge({ id: `AwsSolutions-IAM4[Policy::${managed}/AWSLambdaVPCAccessExecutionRole]`, reason: 'AWS managed: lets the function manage its network interfaces in the VPC.' });
    new CfnOutput(this, 'LlmUrl', { value: llm.endpointUrl });
  }
}
