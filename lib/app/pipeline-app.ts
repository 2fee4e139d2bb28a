import { App } from 'aws-cdk-lib';
import { AL2023_ARM64_AMI_PARAMETER } from '../catalogs/amazon-linux';
import { ConfigError, ConfigProblem } from '../config/config-error';
import { CONTEXT_OBJECT_KEY, isCdkContextKey, loadConfig } from '../config/load';
import { resolveConfig } from '../config/resolve';
import { DEFAULT_PIPELINE_CONFIG, loadPipelineConfig, PIPELINE_CONFIG_KEY } from '../pipeline/pipeline-config';
import { smokeTestReachProblems } from '../stacks/inference-stage';
import { PipelineEnvironment, PipelineStack } from '../stacks/pipeline-stack';
import { KitEntry, KitEntryOptions, MODE_KEY } from './kit-entry';

/**
 * The pipeline (bin/pipeline.ts, or `-c mode=pipeline`). It reads cdk.json's
 * shared object and its own file: the stages are built from the
 * environments' files alone.
 */
export const PIPELINE_ENTRY: KitEntry<'pipeline'> = {
  mode: 'pipeline',
  deploys: 'the self-mutating pipeline',
  bin: 'bin/pipeline.ts',
  context: { keys: [MODE_KEY, CONTEXT_OBJECT_KEY, PIPELINE_CONFIG_KEY], configurationFields: false },
  build: (app, options) => [addPipelineStack(app, options)],
};

/**
 * The pipeline stack, its stages built from the environments' files alone
 * (command-line fields would differ between a workstation's synth and the
 * pipeline's own).
 */
export function addPipelineStack(app: App, options: KitEntryOptions = {}): PipelineStack {
  const context = app.node.getAllContext();
  const pipeline = loadPipelineConfig(context, options.baseDir);
  const problems: ConfigProblem[] = [];
  const environment = (name: string): PipelineEnvironment => {
    const config = resolveConfig(loadConfig({ ...cdkJsonFields(context), env: name }, options.baseDir, { ignoreCommandLineFields: true }));
    if (!config.account || !config.region) {
      problems.push({
        field: `config/environments/${name}.json: ${!config.account ? 'account' : 'region'}`,
        expected: 'required for an environment a pipeline deploys: a pipeline stage is placed in an explicit account and region',
      });
    }
    problems.push(...smokeTestReachProblems(config).map((p) => ({ ...p, field: `config/environments/${name}.json: ${p.field}` })));
    if (!config.amiId) {
      // The pipeline synthesizes from a fresh checkout: a lookup there would be redone at every run.
      problems.push({
        field: `config/environments/${name}.json: amiId`,
        expected: 'required for an environment a pipeline deploys: the AMI is pinned in the file, so that it changes only by a commit. '
          + `\`aws ssm get-parameter --region ${config.region ?? 'REGION'} --name ${AL2023_ARM64_AMI_PARAMETER} --query Parameter.Value --output text\` prints the current one`,
      });
    }
    return { name, config };
  };
  const testEnvironment = environment(pipeline.testEnvironment);
  const productionWaves = pipeline.productionWaves.map((wave) => wave.map(environment));
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const stackName = `${pipeline.pipelineName.replace(/(^|[^A-Za-z0-9])([a-z0-9])/g, (_, __, c: string) => c.toUpperCase()).replace(/[^A-Za-z0-9]/g, '')}Pipeline`;
  return new PipelineStack(app, stackName, {
    pipeline,
    pipelineConfigFile: (context[PIPELINE_CONFIG_KEY] as string | undefined) ?? DEFAULT_PIPELINE_CONFIG,
    testEnvironment,
    productionWaves,
    env: { account: pipeline.account, region: pipeline.region },
    description: `graviton-llm: self-mutating pipeline for ${[pipeline.testEnvironment, ...pipeline.productionWaves.flat()].join(', ')}`,
  });
}

/** cdk.json's shared configuration object (and feature flags), without command-line fields. */
function cdkJsonFields(context: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(context).filter(([k]) => k === CONTEXT_OBJECT_KEY || isCdkContextKey(k)));
}
