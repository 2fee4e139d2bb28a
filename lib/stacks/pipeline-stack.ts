import * as cdk from 'aws-cdk-lib';
import { Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { ResolvedConfig } from '../config/resolve';
import { nagArn } from '../constructs/nag-findings';
import { smokeTestRoleName } from '../constructs/smoke-test-access';
import { PipelineConfig } from '../pipeline/pipeline-config';
import { InferenceStage } from './inference-stage';

/** One environment the pipeline deploys, already loaded and checked. */
export interface PipelineEnvironment {
  readonly name: string;
  readonly config: ResolvedConfig;
}

export interface PipelineStackProps extends StackProps {
  readonly pipeline: PipelineConfig;
  /** The pipeline's file, as the synth step passes it back to the app. */
  readonly pipelineConfigFile: string;
  /** The test environment, deployed and smoke-tested first. */
  readonly testEnvironment: PipelineEnvironment;
  /** Production waves, after the manual approval; the environments of a wave deploy in parallel. */
  readonly productionWaves: readonly (readonly PipelineEnvironment[])[];
}

/** Build image with Node 20, the version the kit is tested with. */
const BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0;

/**
 * CDK Pipelines, self-mutating: source, synth (which also runs the kit's
 * cdk-nag and template checks), the test environment with a post-deploy smoke
 * test, a manual approval, then the production waves, each environment smoke
 * tested after it deploys. A failed smoke test stops the pipeline there; the
 * deploy itself rolls back on its own when new instances fail to boot or trip
 * the rollback alarms.
 */
export class PipelineStack extends Stack {
  readonly pipeline: pipelines.CodePipeline;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const { pipeline: cfg } = props;
    const source = pipelines.CodePipelineSource.connection(cfg.source.repository, cfg.source.branch, {
      connectionArn: cfg.source.connectionArn,
    });

    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      pipelineName: cfg.pipelineName,
      // Stages in other accounts need a customer-managed key for the artifact bucket.
      crossAccountKeys: true,
      enableKeyRotation: true,
      synth: new pipelines.ShellStep('Synth', {
        input: source,
        commands: ['npm ci', `npx cdk synth --quiet -c mode=pipeline -c pipelineConfig=${props.pipelineConfigFile}`],
      }),
      codeBuildDefaults: { buildEnvironment: { buildImage: BUILD_IMAGE } },
    });

    const smokeNetwork = this.smokeTestNetwork(cfg);
    const addEnvironment = (target: pipelines.Wave | pipelines.CodePipeline, env: PipelineEnvironment) => {
      const stage = new InferenceStage(this, env.name, {
        env: { account: env.config.account, region: env.config.region },
        config: env.config,
        environmentName: env.name,
        pipelineAccount: cfg.account,
      });
      target.addStage(stage, { post: [this.smokeTest(source, env, stage, cfg, smokeNetwork)] });
    };

    addEnvironment(this.pipeline, props.testEnvironment);
    props.productionWaves.forEach((wave, i) => {
      const pre = i === 0
        ? [new pipelines.ManualApprovalStep('PromoteToProduction', {
          comment: `${props.testEnvironment.name} deployed and passed its smoke test. Promote to ${props.productionWaves.flat().map((e) => e.name).join(', ')}?`,
        })]
        : [];
      const target = this.pipeline.addWave(`Production${i + 1}`, { pre });
      wave.forEach((env) => addEnvironment(target, env));
    });
    this.pipeline.buildPipeline();
    // CDK Pipelines writes the deploy actions' role ARNs as Fn::Join, which cfn-lint's E3703 would
    // have as Fn::Sub: the same value, a style rule on generated code, waived on this resource only.
    (this.pipeline.pipeline.node.defaultChild as cdk.CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['E3703'] } });
    this.acknowledgePipelineFindings([this.pipeline.synthProject, this.pipeline.selfMutationProject, ...this.smokeTestSteps.map((step) => step.project)]);
  }

  private readonly smokeTestSteps: pipelines.CodeBuildStep[] = [];

  /**
   * What cdk-nag finds in the resources CDK Pipelines generates, one finding
   * at a time, each with why it stands. The kit's own grants (the smoke test's
   * single sts:AssumeRole) carry no wildcard.
   */
  private acknowledgePipelineFindings(projects: codebuild.IProject[]): void {
    const ack = (id: string, reason: string) => Validations.of(this.pipeline).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${id}]`, reason });
    Validations.of(this.pipeline).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'The artifact bucket holds only the pipeline\'s own intermediate artifacts (source zip, cloud assembly), encrypted with its KMS key and written by its roles alone; its access is in CloudTrail.',
    });
    const artifactBucket = this.pipeline.pipeline.artifactBucket;
    const bucketId = this.getLogicalId(artifactBucket.node.defaultChild as cdk.CfnElement);
    for (const action of ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*']) {
      ack(`Action::${action}`, `CDK Pipelines grants its roles S3's ${action} action group on its own artifact bucket and nothing else.`);
    }
    ack(`Resource::<${bucketId}.Arn>/*`, 'Objects of the pipeline\'s own artifact bucket: artifact names are generated per execution.');
    for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
      ack(`Action::${action}`, `CDK Pipelines grants ${action} on the pipeline's own artifact key only, to read and write encrypted artifacts.`);
    }
    for (const project of projects) {
      const id = this.getLogicalId(project.node.defaultChild as cdk.CfnElement);
      ack(`Resource::${nagArn(this, 'logs', `log-group:/aws/codebuild/<${id}>:*`)}`, 'CodeBuild\'s standard grant: the log streams of this project\'s own log group.');
      ack(`Resource::${nagArn(this, 'codebuild', `report-group/<${id}>-*`)}`, 'CodeBuild\'s standard grant: the test report groups named after this project.');
    }
    ack(`Resource::arn:*:iam::${this.account}:role/*`, 'Self-mutation assumes the CDK bootstrap roles (a condition on the aws-cdk:bootstrap-role tag limits it to them); which ones is decided by each target account\'s bootstrap trust.');
    ack('Resource::*', 'Self-mutation reads CloudFormation stacks and the asset step lists buckets, actions without resource-level scoping; the asset role otherwise only assumes the bootstrap publishing roles.');
    ack(`Resource::${nagArn(this, 'logs', 'log-group:/aws/codebuild/*')}`, 'The shared asset-publishing role writes the logs of the asset projects CDK Pipelines creates, whose names are generated.');
    ack(`Resource::${nagArn(this, 'codebuild', 'report-group/*')}`, 'The shared asset-publishing role may write report groups of the asset projects CDK Pipelines creates, whose names are generated.');
  }

  /**
   * `npm run smoke` against the stage's new endpoint, as the role the stage
   * created for it (the API key stays in the stage's account). It fails the
   * stage on any failed request or a p90 time per output token above target.
   */
  private smokeTest(
    source: pipelines.IFileSetProducer,
    env: PipelineEnvironment,
    stage: InferenceStage,
    cfg: PipelineConfig,
    network: { vpc: ec2.IVpc; subnets: ec2.SubnetSelection } | undefined,
  ): pipelines.CodeBuildStep {
    const roleArn = `arn:${this.partition}:iam::${env.config.account}:role/${smokeTestRoleName(env.config.stackName)}`;
    const targetTpotMs = cfg.smokeTest.targetTpotMs ?? env.config.tpotP90AlarmMs;
    const step = new pipelines.CodeBuildStep(`SmokeTest-${env.name}`, {
      input: source,
      envFromCfnOutputs: {
        GLLM_ENDPOINT_URL: stage.endpointUrlOutput,
        GLLM_API_KEY_PARAMETER: stage.apiKeyParameterNameOutput,
      },
      env: {
        AWS_REGION: env.config.region!,
        GLLM_SMOKE_ROLE_ARN: roleArn,
        GLLM_TARGET_TPOT_MS: String(targetTpotMs),
        GLLM_SMOKE_REQUESTS: String(cfg.smokeTest.requests),
      },
      commands: [
        'npm ci',
        // The SDK assumes the stage's role from CodeBuild's own credentials.
        'export AWS_CONFIG_FILE="$PWD/.smoke-aws-config"',
        'printf "[profile smoke]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n" "$GLLM_SMOKE_ROLE_ARN" > "$AWS_CONFIG_FILE"',
        'AWS_PROFILE=smoke npm run smoke -- --target-tpot-ms "$GLLM_TARGET_TPOT_MS" --requests "$GLLM_SMOKE_REQUESTS"',
      ],
      rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [roleArn] })],
      timeout: Duration.minutes(15),
      ...(network ? { vpc: network.vpc, subnetSelection: network.subnets } : {}),
    });
    this.smokeTestSteps.push(step);
    return step;
  }

  private smokeTestNetwork(cfg: PipelineConfig): { vpc: ec2.IVpc; subnets: ec2.SubnetSelection } | undefined {
    const { vpcId, subnetIds } = cfg.smokeTest;
    if (!vpcId || !subnetIds) {
      return undefined;
    }
    // From ids, not a lookup: the pipeline's synth needs no credentials either.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'SmokeTestVpc', {
      vpcId,
      availabilityZones: subnetIds.map((_, i) => `${cfg.region}${'abcdef'[i % 6]}`),
    });
    return { vpc, subnets: { subnets: subnetIds.map((id, i) => ec2.Subnet.fromSubnetId(this, `SmokeTestSubnet${i}`, id)) } };
  }
}
