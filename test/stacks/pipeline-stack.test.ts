import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { registerChecks } from '../../lib/app/checks';
import { addPipelineStack } from '../../lib/app/pipeline-app';
import { AL2023_ARM64_AMI_PARAMETER } from '../../lib/catalogs/amazon-linux';
import { PipelineStack, SMOKE_TEST_COMMANDS, smokeTestStepRoleName } from '../../lib/stacks/pipeline-stack';
import { ConfigError } from '../../lib/config/config-error';
import { loadConfig } from '../../lib/config/load';
import { resolveConfig } from '../../lib/config/resolve';
import { PropsError } from '../../lib/base/problems';
import { InferenceStage } from '../../lib/stacks/inference-stage';
import { handler as smokeHandler } from '../../runtime/smoke-test/handler';
import { type ScriptedServer, startScriptedServer } from '../tools/support/scripted-sse-server';

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

function stageStack(stack: PipelineStack, stageId: string): Stack {
  return stack.node.findChild(stageId).node.children.find((c) => c instanceof Stack) as Stack;
}

function stageTemplate(stack: PipelineStack, stageId: string): Template {
  return Template.fromStack(stageStack(stack, stageId));
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

  test('each smoke-test step invokes its stage\'s function as the stage\'s invoke role, and may assume only that role', () => {
    const spec = buildSpecWith(s.template, 'aws lambda invoke');
    expect(spec.phases.build.commands).toEqual(SMOKE_TEST_COMMANDS);
    // No npm ci, no source needed: the step only calls the function.
    expect(JSON.stringify(spec)).not.toContain('npm');
    const project = smokeProject(s.template, '111111111111');
    const vars = Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));
    expect(vars).toEqual({ AWS_REGION: 'us-east-1', GLLM_SMOKE_ROLE_ARN: 'arn:aws:iam::111111111111:role/GravitonLlm-dev-smoke-invoke' });
    // Neither the old smoke-test network nor any VPC: the function in the stage is what reaches the endpoint.
    expect(project.Properties.VpcConfig).toBeUndefined();
    // The function comes from the deployed stack's output, at run time.
    const pipeline = Object.values(s.template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const smokeAction = pipeline.Properties.Stages.find((st: any) => st.Name === 'dev').Actions.find((a: any) => a.Name === 'SmokeTest-dev');
    const envVars = JSON.parse(smokeAction.Configuration.EnvironmentVariables);
    expect(envVars).toEqual([expect.objectContaining({ name: 'GLLM_SMOKE_FUNCTION', value: expect.stringMatching(/^#\{.*\.SmokeTestFunctionArn\}$/) })]);
    // The project runs as a role of fixed name, the one the stage trusts.
    const roles = s.template.findResources('AWS::IAM::Role');
    const serviceRole = roles[project.Properties.ServiceRole['Fn::GetAtt'][0]];
    expect(serviceRole.Properties.RoleName).toBe('graviton-llm-smoke-dev');
    expect(serviceRole.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'codebuild.amazonaws.com' } },
    ]);
    // The steps may assume exactly the stages' invoke roles; nothing in the pipeline account reads keys or invokes functions.
    const statements = Object.values(s.template.findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const assumes = statements.filter((st: any) => st.Action === 'sts:AssumeRole' && JSON.stringify(st.Resource).includes('smoke'));
    expect(assumes.map((st: any) => st.Resource).sort()).toEqual([
      'arn:aws:iam::111111111111:role/GravitonLlm-dev-smoke-invoke',
      'arn:aws:iam::222222222222:role/GravitonLlm-prod-smoke-invoke',
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/ssm:GetParameter|lambda:InvokeFunction/);
  });

  test('each stage runs the smoke-test function in its private subnets, admitted by the load balancer, reading only its key', () => {
    const dev = stageTemplate(s.stack, 'dev');
    const fn = Object.entries(dev.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('SmokeTestFunction'))!;
    const [fnId, fnResource] = fn as [string, any];
    // The same subnets as the instances: the private ones, which reach the internal load balancer.
    const asg = Object.values(dev.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(fnResource.Properties.VpcConfig.SubnetIds).toEqual(asg.Properties.VPCZoneIdentifier);
    expect(JSON.stringify(asg.Properties.VPCZoneIdentifier)).toMatch(/privateSubnet/i);
    const [sgRef] = fnResource.Properties.VpcConfig.SecurityGroupIds;
    const sgId = sgRef['Fn::GetAtt'][0];
    expect(sgId).toMatch(/^SmokeTestSecurityGroup/);
    // The internal load balancer admits the function's group on its listener.
    const lbSg = (Object.values(dev.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'))[0] as any).Properties.SecurityGroups[0]['Fn::GetAtt'][0];
    dev.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [lbSg, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] },
      IpProtocol: 'tcp', FromPort: 80, ToPort: 80,
    });
    // And lets out only that, and HTTPS for SSM: no all-protocols rule.
    const egress = [
      ...(dev.toJSON().Resources[sgId].Properties.SecurityGroupEgress ?? []),
      ...Object.values(dev.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { GroupId: { 'Fn::GetAtt': [sgId, 'GroupId'] } } }))
        .map((r: any) => r.Properties),
    ].map((r: any) => `${r.IpProtocol}:${r.FromPort}-${r.ToPort}:${r.CidrIp ?? r.DestinationSecurityGroupId?.['Fn::GetAtt']?.[0]}`);
    expect(egress.sort()).toEqual(['tcp:443-443:0.0.0.0/0', `tcp:80-80:${lbSg}`]);
    expect(fnResource.Properties.Environment.Variables).toEqual({
      ENDPOINT_URL: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.stringMatching(/^EndpointLoadBalancer/), 'DNSName'] }, '/v1']] },
      API_KEY_PARAMETER: '/graviton-llm/GravitonLlm-dev/api-key',
      REQUESTS: '4',
      TARGET_TPOT_MS: '100',
    });
    const fnRole = fnResource.Properties.Role['Fn::GetAtt'][0];
    const fnPolicy = Object.values(dev.findResources('AWS::IAM::Policy')).find((p: any) => p.Properties.Roles[0].Ref === fnRole) as any;
    expect(fnPolicy.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: 'arn:aws:ssm:us-east-1:111111111111:parameter/graviton-llm/GravitonLlm-dev/api-key' },
    ]);
    // The pipeline reads the function from this output.
    expect(dev.toJSON().Outputs.SmokeTestFunctionArn.Value).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
  });

  test('the invoke role trusts exactly the pipeline step\'s role (no account root anywhere) and may only invoke the function', () => {
    const pipelineRoleNames = Object.values(s.template.findResources('AWS::IAM::Role')).map((r: any) => r.Properties.RoleName);
    for (const [env, account] of [['dev', '111111111111'], ['prod', '222222222222']]) {
      const t = stageTemplate(s.stack, env);
      const roles = t.findResources('AWS::IAM::Role');
      const [invokeId, invoke] = Object.entries(roles).find(([, r]: any) => r.Properties.RoleName === `GravitonLlm-${env}-smoke-invoke`) as [string, any];
      expect(invoke.Properties.AssumeRolePolicyDocument.Statement).toEqual([{
        Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::333333333333:role/graviton-llm-smoke-${env}` },
      }]);
      // That ARN is the role the pipeline stack creates for this stage's step.
      expect(pipelineRoleNames).toContain(`graviton-llm-smoke-${env}`);
      const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p: any) => p.Properties.Roles[0].Ref === invokeId) as any;
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SmokeTestFunction/), 'Arn'] } },
      ]);
      // No role of the stage trusts a whole account, and none outside it but the invoke role trusts anyone in another one.
      const trusts = Object.values(roles).flatMap((r: any) => r.Properties.AssumeRolePolicyDocument.Statement);
      expect(JSON.stringify(trusts)).not.toContain(':root');
      expect(trusts.filter((st: any) => st.Principal.AWS).map((st: any) => st.Principal.AWS)).toEqual([`arn:aws:iam::333333333333:role/graviton-llm-smoke-${env}`]);
      expect(stageStack(s.stack, env).account).toBe(account);
    }
  });

  test('each stage deploys the environment\'s stack under its own name and settings', () => {
    const dev = stageTemplate(s.stack, 'dev');
    const inference = stageStack(s.stack, 'dev');
    expect(inference.stackName).toBe('GravitonLlm-dev');
    expect(inference.account).toBe('111111111111');
    // The environment's settings reach the stage: dev's capacity and its tag.
    const asg = Object.values(dev.findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(asg.Properties).toMatchObject({ MinSize: '1', MaxSize: '2' });
    expect(asg.Properties.Tags).toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'graviton-llm:environment', Value: 'dev' })]));
    const prodAsg = Object.values(stageTemplate(s.stack, 'prod').findResources('AWS::AutoScaling::AutoScalingGroup'))[0] as any;
    expect(prodAsg.Properties).toMatchObject({ MinSize: '2', MaxSize: '6' });
  });

  describe('the smoke-test step, run as CodeBuild runs it, on what the function returns', () => {
    let server: ScriptedServer;
    let dir: string;
    const ssmMock = mockClient(SSMClient);
    const savedEnv = { ...process.env };
    beforeAll(async () => {
      server = await startScriptedServer({ ttftMs: 5, gapMs: 5, tokens: 4, promptTokens: 7 });
      ssmMock.on(GetParameterCommand).resolves({ Parameter: { Name: '/k', Type: 'SecureString', Value: 'pipeline-test-key' } });
      // A stand-in for the AWS CLI: records its arguments and the profile it was given, writes the
      // function's payload to the output file (its last argument) and prints the invoke response.
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-smoke-step-'));
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'aws'), [
        '#!/bin/bash',
        'printf "%s\\n" "$@" > "$FAKE_AWS/args"',
        'cp "$AWS_CONFIG_FILE" "$FAKE_AWS/config"',
        'if [ -n "$FAKE_AWS_DENY" ]; then echo "An error occurred (AccessDenied) when calling the AssumeRole operation" >&2; exit 254; fi',
        'cp "$FAKE_AWS/payload.json" "${@: -1}"',
        'cat "$FAKE_AWS/invoke.json"',
      ].join('\n'), { mode: 0o755 });
    });
    afterAll(async () => {
      ssmMock.restore();
      process.env = savedEnv;
      await server.close();
    });

    /** The function's real answer for an endpoint behind `script` (the scripted server's path). */
    async function functionResult(script: string): Promise<unknown> {
      Object.assign(process.env, { ENDPOINT_URL: server.base(script), API_KEY_PARAMETER: '/k', REQUESTS: '3', TARGET_TPOT_MS: '1000' });
      jest.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        return await smokeHandler({}, { getRemainingTimeInMillis: () => 60_000 });
      } finally {
        jest.restoreAllMocks();
      }
    }

    /** Runs the dev step's build commands, from the template, in one shell as CodeBuild does. */
    function runStep(payload: unknown, invoke: unknown, extraEnv: Record<string, string> = {}) {
      const work = fs.mkdtempSync(path.join(dir, 'run-'));
      fs.writeFileSync(path.join(dir, 'payload.json'), JSON.stringify(payload));
      fs.writeFileSync(path.join(dir, 'invoke.json'), JSON.stringify(invoke));
      const project = smokeProject(s.template, '111111111111');
      const commands: string[] = JSON.parse(project.Properties.Source.BuildSpec).phases.build.commands;
      const env = Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));
      const run = spawnSync('bash', ['-e', '-c', commands.join('\n')], {
        cwd: work,
        encoding: 'utf8',
        env: {
          PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`,
          ...env,
          GLLM_SMOKE_FUNCTION: 'arn:aws:lambda:us-east-1:111111111111:function:GravitonLlm-dev-SmokeTest',
          FAKE_AWS: dir,
          ...extraEnv,
        },
      });
      return { status: run.status, out: run.stdout + run.stderr };
    }
    const OK = { StatusCode: 200, ExecutedVersion: '$LATEST' };

    test('a passing verdict passes the step; the invoke is made as the stage\'s role, with a read timeout above the function\'s', async () => {
      const result = await functionResult('ok');
      expect(result).toMatchObject({ passed: true, requests: 3, succeeded: 3 });
      const run = runStep(result, OK);
      expect(run.status).toBe(0);
      expect(run.out).toContain('smoke test PASSED: 3/3 requests');
      const args = fs.readFileSync(path.join(dir, 'args'), 'utf8').trim().split('\n');
      expect(args).toEqual(['lambda', 'invoke', '--profile', 'smoke', '--region', 'us-east-1',
        '--function-name', 'arn:aws:lambda:us-east-1:111111111111:function:GravitonLlm-dev-SmokeTest',
        '--cli-read-timeout', '660', 'smoke-result.json']);
      expect(fs.readFileSync(path.join(dir, 'config'), 'utf8')).toBe(
        '[profile smoke]\nrole_arn = arn:aws:iam::111111111111:role/GravitonLlm-dev-smoke-invoke\ncredential_source = EcsContainer\n');
    });

    test('a failed verdict fails the step and says why', async () => {
      const result = await functionResult('busy');
      expect(result).toMatchObject({ passed: false });
      const run = runStep(result, OK);
      expect(run.status).toBe(1);
      expect(run.out).toContain('smoke test FAILED: 3 of 3 requests failed, first with http_5xx: HTTP 503: busy');
    });

    test('a function error (a timeout, a crash) fails the step', () => {
      const run = runStep({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 600.00 seconds' }, { ...OK, FunctionError: 'Unhandled' });
      expect(run.status).toBe(1);
      expect(run.out).toContain('smoke test FAILED: the smoke-test function failed (Unhandled): {"errorType":"Sandbox.Timedout"');
    });

    test('a payload that is no verdict, or an invoke the CLI could not make, fails the step', () => {
      expect(runStep({ hello: 'world' }, OK).status).toBe(1);
      const denied = runStep({}, OK, { FAKE_AWS_DENY: '1' });
      expect(denied.status).not.toBe(0);
      expect(denied.out).toContain('AccessDenied');
    });
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
    // An unknown key is named by its own path, without the rest of the file.
    expect(msg).toContain('config/pipeline.json: extra: got 1; unknown field Allowed: pipelineName, account, region, source, testEnvironment');
    expect(msg).not.toContain('"pipelineName"');
  });

  test('the removed smoke-test network fields are refused by name, saying where the smoke test runs now; a missing pipeline file says which path was read', () => {
    const msg = problems(tempConfig({ ...base, smokeTest: { requests: 2, vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] } }));
    expect(msg).toContain('config/pipeline.json: smokeTest.vpcId: got "vpc-0123456789abcdef0"; no longer used: the smoke test now runs as a Lambda function in each environment\'s own VPC');
    expect(msg).toContain('config/pipeline.json: smokeTest.subnetIds: got ["subnet-0123456789abcdef0"]; no longer used');
    expect(msg).not.toContain('unknown field');
    // Other problems of the file are still reported alongside.
    expect(problems(tempConfig({ ...base, account: '12', smokeTest: { vpcId: 'vpc-0123456789abcdef0' } }))).toMatch(/smokeTest\.vpcId[\s\S]*account: got "12"/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-nopipe-'));
    expect(problems(empty)).toMatch(/pipelineConfig: got "config\/pipeline.json"; expected a readable JSON file \(.*config\/pipeline.json\)/);
  });

  test('an internet-facing environment needs canaryUrl: the smoke test calls it by the certificate\'s name', () => {
    const internetFacing = {
      account: '111111111111', region: 'us-east-1', internetFacing: true, allowedCidrs: ['0.0.0.0/0'],
      certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000',
    };
    expect(problems(tempConfig(base, { dev: internetFacing }))).toContain(
      'config/environments/dev.json: canaryUrl: nothing was given; required for an internet-facing environment a pipeline deploys: its smoke test runs in the environment\'s VPC');
  });

  test('an InferenceStage built without the pipeline app refuses the same environment, naming the prop', () => {
    const config = resolveConfig(loadConfig({
      account: '111111111111', region: 'us-east-1', internetFacing: true, allowedCidrs: ['0.0.0.0/0'],
      certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000',
    }, REPO_ROOT));
    const build = () => new InferenceStage(new App({ context: { ...cdkJson(), 'aws:cdk:bundling-stacks': [] } }), 'dev', {
      env: { account: '111111111111', region: 'us-east-1' },
      config,
      environmentName: 'dev',
      smokeTest: { invokerRoleArn: 'arn:aws:iam::333333333333:role/step', requests: 3, targetTpotMs: 100 },
    });
    expect(build).toThrow(PropsError);
    expect(build).toThrow(/InferenceStage dev: invalid props:\n  - canaryUrl: nothing was given; required for an internet-facing environment a pipeline deploys/);
  });

  test('step role names stay within IAM\'s 64 characters and apart for pipelines whose long names differ only at the end', () => {
    expect(smokeTestStepRoleName('graviton-llm', 'dev')).toBe('graviton-llm-smoke-dev');
    const a = smokeTestStepRoleName(`${'p'.repeat(90)}-a`, 'production-eu');
    const b = smokeTestStepRoleName(`${'p'.repeat(90)}-b`, 'production-eu');
    expect(a.length).toBeLessThanOrEqual(64);
    expect(b.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
  });
});

/** The CodeBuild project of the smoke-test step for the environment in `account`. */
function smokeProject(template: Template, account: string): any {
  return Object.values(template.findResources('AWS::CodeBuild::Project')).find((p: any) => JSON.stringify(p.Properties.Source.BuildSpec).includes('aws lambda invoke')
    && JSON.stringify(p.Properties.Environment.EnvironmentVariables).includes(account));
}

function buildSpecWith(template: Template, needle: string): any {
  const project = Object.values(template.findResources('AWS::CodeBuild::Project'))
    .find((p: any) => JSON.stringify(p.Properties.Source.BuildSpec).includes(needle)) as any;
  expect(project).toBeDefined();
  return JSON.parse(project.Properties.Source.BuildSpec);
}
