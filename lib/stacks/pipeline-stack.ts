import * as crypto from 'node:crypto';
import * as cdk from 'aws-cdk-lib';
import { Duration, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { ResolvedConfig } from '../config/resolve';
import { nagArn } from '../constructs/nag-findings';
import { SMOKE_TEST_FUNCTION_TIMEOUT, smokeTestInvokeRoleName } from '../constructs/smoke-test-function';
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
 * tested after it deploys. The smoke test is a Lambda function each stage
 * deploys in its own VPC; the pipeline's step invokes it across accounts. A failed smoke test stops the pipeline there; the
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

    const addEnvironment = (target: pipelines.Wave | pipelines.CodePipeline, env: PipelineEnvironment) => {
      // The step's role exists (the pipeline stack deploys it) before any stage names it in a trust policy.
      const stepRole = this.smokeTestStepRole(cfg, env);
      const stage = new InferenceStage(this, env.name, {
        env: { account: env.config.account, region: env.config.region },
        config: env.config,
        environmentName: env.name,
        smokeTest: {
          invokerRoleArn: stepRole.arn,
          requests: cfg.smokeTest.requests,
          targetTpotMs: cfg.smokeTest.targetTpotMs ?? env.config.tpotP90AlarmMs,
        },
      });
      target.addStage(stage, { post: [this.smokeTest(env, stage, stepRole.role)] });
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
  /** The steps' own roles: CDK Pipelines adds its standard grants to them, outside its own construct. */
  private readonly smokeTestRoles: iam.Role[] = [];

  /**
   * What cdk-nag finds in the resources CDK Pipelines generates, one finding
   * at a time, each with why it stands. The kit's own grants (each smoke-test
   * step's single sts:AssumeRole) carry no wildcard.
   */
  private acknowledgePipelineFindings(projects: codebuild.IProject[]): void {
    const ack = (id: string, reason: string) => {
      for (const scope of [this.pipeline, ...this.smokeTestRoles]) {
        Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${id}]`, reason });
      }
    };
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
   * The role of an environment's smoke-test step, with a fixed name: the
   * stage's invoke role trusts exactly this ARN, and the stage (another
   * account) cannot reference a token of this stack.
   */
  private smokeTestStepRole(cfg: PipelineConfig, env: PipelineEnvironment): { role: iam.Role; arn: string } {
    const roleName = smokeTestStepRoleName(cfg.pipelineName, env.name);
    const role = new iam.Role(this, `SmokeTestRole-${env.name}`, {
      roleName,
      assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com'),
      description: `graviton-llm: the pipeline's smoke-test step for ${env.name}`,
    });
    this.smokeTestRoles.push(role);
    return { role, arn: `arn:${this.partition}:iam::${cfg.account}:role/${roleName}` };
  }

  /**
   * Invokes the stage's smoke-test function (it runs in the stage's VPC, so
   * it reaches an internal endpoint) as the stage's invoke role, and fails
   * the stage on a function error or a verdict that did not pass. The step
   * needs neither the source nor a network of its own.
   */
  private smokeTest(env: PipelineEnvironment, stage: InferenceStage, role: iam.IRole): pipelines.CodeBuildStep {
    const invokeRoleArn = `arn:${this.partition}:iam::${env.config.account}:role/${smokeTestInvokeRoleName(env.config.stackName)}`;
    const step = new pipelines.CodeBuildStep(`SmokeTest-${env.name}`, {
      role,
      envFromCfnOutputs: { GLLM_SMOKE_FUNCTION: stage.smokeTestFunctionOutput },
      env: {
        AWS_REGION: env.config.region!,
        GLLM_SMOKE_ROLE_ARN: invokeRoleArn,
      },
      commands: [...SMOKE_TEST_COMMANDS],
      rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [invokeRoleArn] })],
      // The function's own timeout, and time to start the build and assume the role.
      timeout: SMOKE_TEST_FUNCTION_TIMEOUT.plus(Duration.minutes(5)),
    });
    this.smokeTestSteps.push(step);
    return step;
  }
}

/**
 * Name of an environment's smoke-test step role: the pipeline's name and the
 * environment's, shortened with a hash where IAM's 64 characters run out, so
 * that two pipelines in one account never share a role.
 */
export function smokeTestStepRoleName(pipelineName: string, environmentName: string): string {
  const name = `${pipelineName}-smoke-${environmentName}`;
  if (name.length <= 64) return name;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 55)}-${hash}`;
}

/** Checks the invocation's two answers: the function's status and the verdict it returned. */
const SMOKE_RESULT_CHECK = [
  'const fs = require("fs");',
  'const invoke = JSON.parse(fs.readFileSync("smoke-invoke.json", "utf8"));',
  'const raw = fs.readFileSync("smoke-result.json", "utf8");',
  'let result; try { result = JSON.parse(raw); } catch { result = undefined; }',
  'if (invoke.FunctionError) { console.error(`smoke test FAILED: the smoke-test function failed (${invoke.FunctionError}): ${raw}`); process.exit(1); }',
  'if (!result || typeof result !== "object" || result.passed !== true) { console.error(JSON.stringify(result ?? raw, null, 2)); console.error((result && result.line) || `smoke test FAILED: unexpected result ${raw}`); process.exit(1); }',
  'console.log(JSON.stringify(result, null, 2)); console.log(result.line);',
].join(' ');

/** The step's commands: assume the stage's invoke role, invoke the function, judge what came back. */
export const SMOKE_TEST_COMMANDS: readonly string[] = [
  // The CLI assumes the stage's role from CodeBuild's own credentials.
  'export AWS_CONFIG_FILE="$PWD/.smoke-aws-config"',
  'printf "[profile smoke]\\nrole_arn = %s\\ncredential_source = EcsContainer\\n" "$GLLM_SMOKE_ROLE_ARN" > "$AWS_CONFIG_FILE"',
  // A synchronous invoke lasts as long as the test: the CLI's default 60 s read timeout would cut it short and invoke it again.
  `aws lambda invoke --profile smoke --region "$AWS_REGION" --function-name "$GLLM_SMOKE_FUNCTION" --cli-read-timeout ${SMOKE_TEST_FUNCTION_TIMEOUT.toSeconds() + 60} smoke-result.json > smoke-invoke.json`,
  `node -e '${SMOKE_RESULT_CHECK}'`,
];
