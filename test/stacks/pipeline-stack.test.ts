import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { registerChecks } from '../../lib/app/checks';
import { addPipelineStack } from '../../lib/app/pipeline-app';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { PipelineStack } from '../../lib/stacks/pipeline-stack';
import { ConfigError } from '../../lib/config/config-error';

const REPO_ROOT = path.join(__dirname, '..', '..');
const cdkJson = () => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;

/** Synthesizes `-c mode=pipeline` as the CLI does (cdk-nag and CloudFormation Validate throw on findings). */
function synthPipeline(baseDir: string = REPO_ROOT, context: Record<string, unknown> = {}) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-pipeline-'));
  const app = new App({ context: { ...cdkJson(), 'aws:cdk:bundling-stacks': [], mode: 'pipeline', ...context }, outdir });
  registerChecks(app);
  const stack = addPipelineStack(app, { baseDir });
  const assembly = app.synth();
  return { stack, assembly, outdir, template: Template.fromStack(stack) };
}

function stageTemplate(stack: PipelineStack, stageId: string): Template {
  const stage = stack.node.findChild(stageId);
  const inference = stage.node.children.find((c) => c instanceof Stack) as Stack;
  return Template.fromStack(inference);
}

describe('pipeline (config/pipeline.json)', () => {
  let s: ReturnType<typeof synthPipeline>;
  beforeAll(() => {
    s = synthPipeline();
  }, 120_000);

  test('source, synth, self-mutation, dev, then an approval before production', () => {
    const pipeline = Object.values(s.template.findResources('AWS::CodePipeline::Pipeline'))[0];
    const stages = pipeline.Properties.Stages.map((st: any) => ({ name: st.Name, actions: st.Actions.map((a: any) => a.Name) }));
    // A wave of one environment is one pipeline stage, named after it.
    expect(stages.map((st: any) => st.name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'dev', 'prod']);
    const dev = stages.find((st: any) => st.name === 'dev');
    expect(dev.actions).toEqual(expect.arrayContaining(['GravitonLlm-dev.Prepare', 'GravitonLlm-dev.Deploy', 'SmokeTest-dev']));
    const prod = pipeline.Properties.Stages.find((st: any) => st.Name === 'prod');
    const approval = prod.Actions.find((a: any) => a.ActionTypeId.Category === 'Approval');
    expect(approval.Name).toBe('PromoteToProduction');
    const deploy = prod.Actions.find((a: any) => a.Name === 'GravitonLlm-prod.Deploy');
    // The approval runs first; the production deploy after it.
    expect(approval.RunOrder).toBeLessThan(deploy.RunOrder);
    // Deploy actions target each environment's own account, through its bootstrap roles.
    expect(JSON.stringify(deploy)).toContain(':iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-us-east-1');
    expect(deploy.Configuration.StackName).toBe('GravitonLlm-prod');
  });

  test('the source is the configured repository and branch through the connection; synth passes the pipeline file back', () => {
    const pipeline = Object.values(s.template.findResources('AWS::CodePipeline::Pipeline'))[0];
    const source = pipeline.Properties.Stages[0].Actions[0];
    expect(source.Configuration).toMatchObject({
      ConnectionArn: 'arn:aws:codeconnections:us-east-1:333333333333:connection/00000000-0000-4000-8000-000000000000',
      FullRepositoryId: 'example-org/graviton-llm',
      BranchName: 'main',
    });
    const synth = buildSpecWith(s.template, 'npx cdk synth');
    expect(synth.phases.build.commands).toEqual(['npm ci', 'npx cdk synth --quiet -c mode=pipeline -c pipelineConfig=config/pipeline.json']);
  });

  test('the smoke test runs npm run smoke against the stage\'s outputs, as the stage\'s smoke role, failing on the TPOT target', () => {
    const spec = buildSpecWith(s.template, 'npm run smoke');
    expect(spec.phases.build.commands).toContain('AWS_PROFILE=smoke npm run smoke -- --target-tpot-ms "$GLLM_TARGET_TPOT_MS" --requests "$GLLM_SMOKE_REQUESTS"');
    const projects = Object.values(s.template.findResources('AWS::CodeBuild::Project'));
    const dev = projects.find((p: any) => JSON.stringify(p.Properties.Source.BuildSpec).includes('npm run smoke')
      && JSON.stringify(p.Properties.Environment.EnvironmentVariables).includes('111111111111')) as any;
    const vars = Object.fromEntries(dev.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));
    expect(vars).toMatchObject({
      AWS_REGION: 'us-east-1',
      GLLM_SMOKE_ROLE_ARN: 'arn:aws:iam::111111111111:role/GravitonLlm-dev-smoke-test',
      GLLM_TARGET_TPOT_MS: '100',
      GLLM_SMOKE_REQUESTS: '4',
    });
    // The endpoint and key name come from the deployed stack's outputs, at run time.
    const pipeline = Object.values(s.template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const smokeAction = pipeline.Properties.Stages.find((st: any) => st.Name === 'dev').Actions.find((a: any) => a.Name === 'SmokeTest-dev');
    const envVars = JSON.parse(smokeAction.Configuration.EnvironmentVariables);
    expect(envVars.map((v: any) => v.name).sort()).toEqual(['GLLM_API_KEY_PARAMETER', 'GLLM_ENDPOINT_URL']);
    expect(JSON.stringify(envVars)).toMatch(/#\{.*\.EndpointUrl\}/);
    // The step may assume exactly the smoke roles, nothing wider.
    const assumes = Object.values(s.template.findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Action === 'sts:AssumeRole' && JSON.stringify(st.Resource).includes('smoke-test'));
    expect(assumes.map((st: any) => st.Resource).sort()).toEqual([
      'arn:aws:iam::111111111111:role/GravitonLlm-dev-smoke-test',
      'arn:aws:iam::222222222222:role/GravitonLlm-prod-smoke-test',
    ]);
  });

  test('each stage deploys the environment\'s stack under its own name, with a smoke role that trusts the pipeline account and reads only the key', () => {
    const dev = stageTemplate(s.stack, 'dev');
    const role = Object.values(dev.findResources('AWS::IAM::Role')).find((r: any) => r.Properties.RoleName === 'GravitonLlm-dev-smoke-test') as any;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::333333333333:root' },
    }]);
    const smokePolicy = Object.entries(dev.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('SmokeTestAccess'))![1] as any;
    expect(smokePolicy.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({ Action: 'ssm:GetParameter', Effect: 'Allow', Resource: expect.anything() }),
    ]);
    expect(JSON.stringify(smokePolicy.Properties.PolicyDocument.Statement[0].Resource)).toContain(':parameter/graviton-llm/GravitonLlm-dev/api-key');
    const inference = s.stack.node.findChild('dev').node.children.find((c) => c instanceof Stack) as Stack;
    expect(inference.stackName).toBe('GravitonLlm-dev');
    expect(inference.account).toBe('111111111111');
    // The environment's settings reach the stage: dev's capacity and its tag.
    const asg = Object.values(dev.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(asg.Properties).toMatchObject({ MinSize: '1', MaxSize: '2' });
    expect(asg.Properties.Tags).toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'graviton-llm:environment', Value: 'dev' })]));
    const prodAsg = Object.values(stageTemplate(s.stack, 'prod').findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(prodAsg.Properties).toMatchObject({ MinSize: '2', MaxSize: '6' });
  });

  test('no stage needs a lookup: availability zones come from Fn::GetAZs', () => {
    expect(s.assembly.manifest.missing ?? []).toEqual([]);
    const dev = JSON.stringify(stageTemplate(s.stack, 'dev').toJSON());
    expect(dev).toContain('Fn::GetAZs');
    expect(dev).not.toContain('dummy1a');
  });
});

describe('pipeline bad input', () => {
  function tempConfig(pipeline: Record<string, unknown>, envs: Record<string, Record<string, unknown>> = { dev: { account: '111111111111', region: 'us-east-1', amiId: 'ami-0123456789abcdef0' } }): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-pipecfg-'));
    fs.mkdirSync(path.join(dir, 'config', 'environments'), { recursive: true });
    for (const [name, cfg] of Object.entries(envs)) fs.writeFileSync(path.join(dir, 'config', 'environments', `${name}.json`), JSON.stringify(cfg));
    fs.writeFileSync(path.join(dir, 'config', 'pipeline.json'), JSON.stringify(pipeline));
    return dir;
  }
  const base = {
    account: '333333333333',
    region: 'us-east-1',
    source: { connectionArn: 'arn:aws:codeconnections:us-east-1:333333333333:connection/00000000-0000-4000-8000-000000000000', repository: 'o/r' },
    testEnvironment: 'dev',
  };
  function problems(dir: string): string {
    const app = new App({ context: { mode: 'pipeline' } });
    try {
      addPipelineStack(app, { baseDir: dir });
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error('expected a ConfigError');
  }

  test('an unknown or repeated environment lists the known ones', () => {
    const msg = problems(tempConfig({ ...base, productionWaves: [['prod'], ['dev']] }));
    expect(msg).toContain('environment: got "prod"; unknown environment; known environments (files in config/environments): dev');
    expect(msg).toContain('environment: got "dev"; each environment may be deployed once per pipeline run');
  });

  test('an environment without account or region cannot be a pipeline stage', () => {
    const msg = problems(tempConfig(base, { dev: { region: 'us-east-1' } }));
    expect(msg).toContain('config/environments/dev.json: account: nothing was given; required for an environment a pipeline deploys');
  });

  test('an environment without amiId cannot be a pipeline stage: its synth, from a fresh checkout, would look the AMI up at every run', () => {
    const msg = problems(tempConfig(base, { dev: { account: '111111111111', region: 'eu-west-1' } }));
    expect(msg).toContain('config/environments/dev.json: amiId: nothing was given; required for an environment a pipeline deploys');
    expect(msg).toContain(`aws ssm get-parameter --region eu-west-1 --name ${AL2023_ARM64_AMI_PARAMETER} --query Parameter.Value --output text`);
  });

  test('malformed fields name the file, the field and what is expected', () => {
    const msg = problems(tempConfig({ ...base, account: '12', source: { ...base.source, connectionArn: 'arn:aws:s3:::x' }, extra: 1 }));
    expect(msg).toContain('config/pipeline.json: account: got "12"; expected a 12-digit AWS account id');
    expect(msg).toContain('config/pipeline.json: source.connectionArn: got "arn:aws:s3:::x"; expected a CodeConnections ARN');
    expect(msg).toContain('unknown field(s) extra');
  });

  test('subnets for the smoke test need their VPC; a missing pipeline file says which path was read', () => {
    expect(problems(tempConfig({ ...base, smokeTest: { subnetIds: ['subnet-0123456789abcdef0'] } }))).toContain('smokeTest.vpcId: nothing was given; required with smokeTest.subnetIds');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-nopipe-'));
    expect(problems(empty)).toMatch(/pipelineConfig: got "config\/pipeline.json"; expected a readable JSON file \(.*config\/pipeline.json\)/);
  });
});

function buildSpecWith(template: Template, needle: string): any {
  const project = Object.values(template.findResources('AWS::CodeBuild::Project'))
    .find((p: any) => JSON.stringify(p.Properties.Source.BuildSpec).includes(needle)) as any;
  expect(project).toBeDefined();
  return JSON.parse(project.Properties.Source.BuildSpec);
}
