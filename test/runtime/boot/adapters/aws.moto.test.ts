/**
 * The aws-mode adapters (S3 cache, SSM secrets, reporter; the agent phase
 * reading its configuration from SSM) against moto_server,
 * through the real AWS CLI: the same calls an instance makes, pointed at a
 * local endpoint. moto 5.2 has no CompleteLifecycleAction and no
 * SignalResource; the instance box's box_aws.py adds both with the checks AWS
 * makes (test/runtime/boot/support/moto_aws.py starts it). Skipped, saying
 * why, where moto or the AWS CLI is not installed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsCli } from '../../../../runtime/boot/adapters/aws-cli';
import { AwsReporter } from '../../../../runtime/boot/adapters/aws-reporter';
import { CloudWatchAgent } from '../../../../runtime/boot/adapters/cloudwatch-agent';
import { S3Cache } from '../../../../runtime/boot/adapters/s3-cache';
import { SsmSecrets } from '../../../../runtime/boot/adapters/ssm-secrets';
import { readPinned } from '../../../../runtime/boot/cache/pinned';
import { firstGoodVersion } from '../../../../runtime/boot/cache/policy';
import { Deadline } from '../../../../runtime/boot/core/deadline';
import { Exec } from '../../../../runtime/boot/core/exec';
import { agentPhase } from '../../../../runtime/boot/phases/agent';
import { FakeClock } from '../support/fake-clock';
import { DrainMetric } from '../../../../runtime/boot/adapters/drain-metric';

function unavailable(): string | undefined {
  if (spawnSync('python3', ['-c', 'import moto, boto3'], { timeout: 60_000 }).status !== 0) return 'python3 cannot import moto (pip install "moto[server]>=5")';
  if (spawnSync('aws', ['--version'], { timeout: 60_000 }).status !== 0) return 'the AWS CLI (aws) is not installed';
  return undefined;
}
const skip = unavailable();
if (skip !== undefined) console.warn(`Skipping the boot's AWS adapters against moto_server: ${skip}`);
const describeMoto = skip === undefined ? describe : describe.skip;

const REGION = 'eu-west-1';
const BUCKET = 'gllm-artifacts';
const GROUP = 'Stack-fleet';
const API_KEY = 'moto-api-key-0123456789abcdef';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

describeMoto('the aws-mode adapters against moto_server, through the real AWS CLI', () => {
  let dir: string;
  let state: string;
  let moto: ChildProcess | undefined;
  let endpointEnv: Record<string, string>;
  /** A wrapper that points the real CLI at moto and records each call's arguments in $dir/calls. */
  let aws: string;
  let instanceId: string;

  /** Runs Python with boto3 against moto: `code` sees `c(service)`, a client. */
  function py(code: string): string {
    const r = spawnSync('python3', ['-c', [
      'import boto3, json, os',
      `def c(s): return boto3.client(s, region_name='${REGION}', endpoint_url=os.environ['AWS_ENDPOINT_URL'], aws_access_key_id='testing', aws_secret_access_key='testing')`,
      code,
    ].join('\n')], { env: { ...process.env, ...endpointEnv }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python3: ${r.stderr}`);
    return r.stdout;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gllm-aws-moto-'));
    state = join(dir, 'state');
    spawnSync('mkdir', ['-p', state]);
    const port = await freePort();
    endpointEnv = {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_EC2_METADATA_DISABLED: 'true',
    };
    moto = spawn('python3', [join(__dirname, '..', 'support', 'moto_aws.py'), state, String(port)], { detached: true, stdio: 'ignore' });
    const until = Date.now() + 45_000;
    while (!existsSync(join(state, 'ready'))) {
      if (Date.now() > until || moto.exitCode !== null) throw new Error('moto_aws.py did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const real = spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
    aws = join(dir, 'aws');
    writeFileSync(aws, [
      '#!/bin/sh',
      ...Object.entries(endpointEnv).map(([k, v]) => `export ${k}=${v}`),
      `echo "$*" >>${dir}/calls`,
      `exec "${real}" "$@"`, '',
    ].join('\n'));
    chmodSync(aws, 0o755);
    instanceId = py([
      `s3 = c('s3'); s3.create_bucket(Bucket='${BUCKET}', CreateBucketConfiguration={'LocationConstraint': '${REGION}'})`,
      `s3.put_bucket_versioning(Bucket='${BUCKET}', VersioningConfiguration={'Status': 'Enabled'})`,
      `c('ssm').put_parameter(Name='/graviton-llm/api-key', Value='${API_KEY}', Type='SecureString')`,
      `ec2 = c('ec2'); image = ec2.describe_images(Owners=['amazon'])['Images'][0]['ImageId']`,
      `ec2.create_launch_template(LaunchTemplateName='fleet-lt', LaunchTemplateData={'ImageId': image, 'InstanceType': 'c7g.xlarge'})`,
      `asg = c('autoscaling'); asg.create_auto_scaling_group(AutoScalingGroupName='${GROUP}', LaunchTemplate={'LaunchTemplateName': 'fleet-lt', 'Version': '$Latest'}, MinSize=0, MaxSize=2, DesiredCapacity=1, AvailabilityZones=['${REGION}a'])`,
      `for h in ('launch', 'launch-v1'): asg.put_lifecycle_hook(LifecycleHookName=h, AutoScalingGroupName='${GROUP}', LifecycleTransition='autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout=900, DefaultResult='ABANDON')`,
      `print(asg.describe_auto_scaling_groups(AutoScalingGroupNames=['${GROUP}'])['AutoScalingGroups'][0]['Instances'][0]['InstanceId'])`,
    ].join('\n')).trim();
  }, 120_000);

  afterAll(async () => {
    const child = moto;
    if (child?.pid !== undefined && child.exitCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      process.kill(-child.pid, 'SIGTERM');
      await gone;
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** The calls made since the last look. */
  function takeCalls(): string[] {
    const file = join(dir, 'calls');
    if (!existsSync(file)) return [];
    const all = readFileSync(file, 'utf8').trim().split('\n');
    rmSync(file);
    return all;
  }

  function cliOf(program = aws) {
    const clock = new FakeClock();
    const deadline = new Deadline(clock.now(), 600, clock);
    const lines: string[] = [];
    const cli = new AwsCli({ program, region: REGION, exec: new Exec({ clock }), clock, random: () => 0.5, deadline: () => deadline, log: (m) => lines.push(m) });
    return { cli, lines, clock };
  }
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  function file(name: string, text: string): string {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  }

  describe('S3 cache', () => {
    const cacheOf = (program = aws) => {
      const { cli, lines } = cliOf(program);
      return { cache: new S3Cache({ cli, uri: `s3://${BUCKET}/cache`, log: (m) => lines.push(m) }), lines };
    };

    test('a missing object is a miss at once; a first write is conditional; the object then reads back whole', async () => {
      const { cache, lines } = cacheOf();
      takeCalls();
      const dest = join(dir, 'got');
      await expect(cache.get('builds/k.tar.gz', dest)).resolves.toEqual({ kind: 'miss' });
      expect(takeCalls()).toEqual([`--cli-connect-timeout 10 --cli-read-timeout 30 s3 cp --only-show-errors s3://${BUCKET}/cache/builds/k.tar.gz ${dest}.cache-get.${process.pid} --region ${REGION}`]);
      expect(existsSync(dest) || readdirSync(dir).some((n) => n.startsWith('got.'))).toBe(false);
      const src = file('tarball', 'tarball bytes');
      await expect(cache.put(src, 'builds/k.tar.gz', 'if-absent', sha256('tarball bytes'))).resolves.toEqual({ kind: 'written' });
      // Another instance that compiled at the same time keeps the first version.
      await expect(cache.put(file('other', 'other bytes'), 'builds/k.tar.gz', 'if-absent')).resolves.toEqual({ kind: 'kept-existing' });
      const calls = takeCalls();
      expect(calls.filter((c) => c.includes('put-object') && c.includes('--if-none-match *'))).toHaveLength(2);
      expect(calls.every((c) => c.endsWith(`--region ${REGION}`))).toBe(true);
      await expect(cache.get('builds/k.tar.gz', dest)).resolves.toEqual({ kind: 'hit' });
      expect(readFileSync(dest, 'utf8')).toBe('tarball bytes');
      const listed = await cache.versions('builds/k.tar.gz');
      expect(listed.ok && listed.versions.map((v) => v.size)).toEqual([13]);
      expect(lines).toEqual([]);
    }, 120_000);

    test('versions come oldest first, each read back by its id with the SHA-256 its metadata records', async () => {
      const { cache } = cacheOf();
      await cache.put(file('v1', 'first'), 'quantized/m.gguf', 'always', sha256('first'));
      await cache.put(file('v2', 'second'), 'quantized/m.gguf', 'always');
      // A neighbour sharing the prefix is not a version of the object.
      await cache.put(file('v3', 'neighbour'), 'quantized/m.gguf.old', 'always');
      const listed = await cache.versions('quantized/m.gguf');
      if (!listed.ok) throw new Error(listed.detail);
      expect(listed.versions.map((v) => v.size)).toEqual([5, 6]);
      expect(listed.versions[0].etag).toMatch(/^[0-9a-f]{32}$/);
      const dest = join(dir, 'version');
      await expect(cache.readVersion('quantized/m.gguf', listed.versions[0], dest)).resolves.toEqual({ ok: true, sha256: sha256('first') });
      expect(readFileSync(dest, 'utf8')).toBe('first');
      await expect(cache.readVersion('quantized/m.gguf', listed.versions[1], dest)).resolves.toEqual({ ok: true, sha256: undefined });
      expect(readFileSync(dest, 'utf8')).toBe('second');
      await expect(cache.versions('quantized/none.gguf')).resolves.toEqual({ ok: true, versions: [] });
    }, 120_000);

    test('over the cache policy: a version written later with other contents is not taken while the first passes', async () => {
      const { cache } = cacheOf();
      await cache.put(file('good', 'good build'), 'builds/p.tar.gz', 'if-absent', sha256('good build'));
      await cache.put(file('planted', 'planted'), 'builds/p.tar.gz', 'always', sha256('planted'));
      const lines: string[] = [];
      const dest = join(dir, 'p.tar.gz');
      const out = await firstGoodVersion({ cache, log: (m) => lines.push(m), record: () => undefined }, {
        what: 'build', rel: 'builds/p.tar.gz', dest, instead: 'compiling',
        check: async (f, sha) => (sha256(readFileSync(f, 'utf8')) === sha ? undefined : 'not what it was cached as'),
      });
      expect(out).toMatchObject({ ok: true, taken: expect.stringMatching(/^, version \S+ \(written 1 of 2\)$/) });
      expect(readFileSync(dest, 'utf8')).toBe('good build');
      expect(lines[0]).toMatch(/^WARNING: builds\/p\.tar\.gz has 2 versions: it was written again after it was first cached/);
    }, 120_000);

    test('with a CLI that cannot write only if absent (its skeleton lacks IfNoneMatch), writes are unconditional, said once', async () => {
      const old = join(dir, 'old-aws');
      writeFileSync(old, [
        '#!/bin/sh',
        'for a in "$@"; do case $a in --if-none-match) echo "Unknown options: --if-none-match, *" >&2; exit 252 ;; esac; done',
        `case "$*" in *--generate-cli-skeleton*) "${aws}" "$@" | grep -v IfNoneMatch; exit 0 ;; esac`,
        `exec "${aws}" "$@"`, '',
      ].join('\n'));
      chmodSync(old, 0o755);
      const { cache, lines } = cacheOf(old);
      const src = file('q', 'quantized');
      await expect(cache.put(src, 'quantized/old-cli.gguf', 'if-absent')).resolves.toEqual({ kind: 'written' });
      await expect(cache.put(src, 'quantized/old-cli.gguf', 'if-absent')).resolves.toEqual({ kind: 'written' });
      const listed = await cache.versions('quantized/old-cli.gguf');
      expect(listed.ok && listed.versions).toHaveLength(2);
      expect(lines).toEqual(['this AWS CLI cannot write only if absent (no --if-none-match): cache objects are written unconditionally']);
    }, 120_000);

    test('a version that is not there is a failed read at once (NoSuchVersion), and leaves no file', async () => {
      const { cache } = cacheOf();
      const dest = join(dir, 'absent-version');
      takeCalls();
      const r = await cache.readVersion('builds/k.tar.gz', { id: 'no-such-version-id', etag: '-', size: 1 }, dest);
      // S3's NoSuchVersion is its final answer: one try.
      expect(r).toMatchObject({ ok: false, detail: expect.stringContaining('(NoSuchVersion)') });
      expect(takeCalls()).toHaveLength(1);
      expect(readdirSync(dir).filter((n) => n.startsWith('absent-version'))).toEqual([]);
    }, 120_000);

    test('the builder publishes a new version whatever is there, and learns its id from S3\'s answer', async () => {
      const { cache } = cacheOf();
      const rel = 'builds/publish.tar.gz';
      await expect(cache.put(file('first', 'first bytes'), rel, 'if-absent')).resolves.toEqual({ kind: 'written' });
      takeCalls();
      const published = await cache.publish(file('builder', 'builder bytes'), rel, sha256('builder bytes'));
      expect(published).toEqual({ ok: true, versionId: expect.any(String) });
      expect(takeCalls()).toHaveLength(1);
      const listed = await cache.versions(rel);
      // The id S3 answered is the object's newest version, and it records the digest it was published with.
      expect(listed.ok && listed.versions.map((v) => v.id)).toEqual([expect.any(String), published.ok && published.versionId]);
      const dest = join(dir, 'published');
      await expect(cache.readVersion(rel, { id: published.ok ? published.versionId : '', etag: '-', size: 0 }, dest)).resolves.toEqual({ ok: true, sha256: sha256('builder bytes') });
      expect(readFileSync(dest, 'utf8')).toBe('builder bytes');
    }, 120_000);

    test('a fleet pinned to the builder\'s version reads it, not a later one planted over it, and fails naming a deleted one', async () => {
      const { cache } = cacheOf();
      const rel = 'quantized/pinned.gguf';
      const published = await cache.publish(file('good', 'builder model'), rel, sha256('builder model'));
      if (!published.ok) throw new Error(published.detail);
      // Written as if by a fleet instance, after the builder.
      await expect(cache.put(file('planted', 'planted model'), rel, 'always', sha256('planted model'))).resolves.toEqual({ kind: 'written' });
      const pin = { object: rel, versionId: published.versionId, sha256: sha256('builder model') };
      const dest = join(dir, 'pinned');
      const hash = async (f: string) => sha256(readFileSync(f, 'utf8'));
      await expect(readPinned({ cache, pin, what: 'model', pinsFile: '/etc/graviton-llm/pins.json', dest, sha256: hash })).resolves.toBeUndefined();
      expect(readFileSync(dest, 'utf8')).toBe('builder model');
      py(`c('s3').delete_object(Bucket='${BUCKET}', Key='cache/${rel}', VersionId='${published.versionId}')`);
      takeCalls();
      const gone = await readPinned({ cache, pin, what: 'model', pinsFile: '/etc/graviton-llm/pins.json', dest: join(dir, 'gone'), sha256: hash });
      expect(gone).toMatch(new RegExp(`^pinned model ${rel} version ${published.versionId} cannot be read from s3://${BUCKET}/cache \\(.*\\(NoSuchVersion\\)`));
      // S3's answer is final: one try, and no other version is read in its place.
      expect(takeCalls()).toHaveLength(1);
    }, 120_000);
  });

  describe('SSM secrets', () => {
    test('a SecureString is decrypted into a 0600 file; its value is in no argument vector and no log line', async () => {
      const { cli, lines } = cliOf();
      takeCalls();
      const dest = join(dir, 'api-key');
      await expect(new SsmSecrets(cli).readToFile('/graviton-llm/api-key', dest)).resolves.toEqual({ kind: 'read' });
      expect(readFileSync(dest, 'utf8')).toBe(`${API_KEY}\n`);
      expect(statSync(dest).mode & 0o777).toBe(0o600);
      const calls = takeCalls();
      expect(calls).toEqual([`--cli-connect-timeout 10 --cli-read-timeout 30 ssm get-parameter --name /graviton-llm/api-key --with-decryption --query Parameter.Value --output text --region ${REGION}`]);
      expect([...calls, ...lines].join('\n')).not.toContain(API_KEY);
    }, 120_000);

    test('a parameter that does not exist is not-found at once, and writes nothing', async () => {
      const { cli, lines } = cliOf();
      takeCalls();
      const dest = join(dir, 'absent');
      const r = await new SsmSecrets(cli).readToFile('/graviton-llm/absent', dest);
      expect(r).toMatchObject({ kind: 'not-found', detail: expect.stringContaining('ParameterNotFound') });
      expect(takeCalls()).toHaveLength(1);
      expect(lines).toEqual([]);
      expect(readdirSync(dir).filter((n) => n.startsWith('absent'))).toEqual([]);
    }, 120_000);
  });

  describe('the agent phase', () => {
    test('the stack\'s agent configuration is read from SSM into a root-only file and the agent started with it; a missing scrape parameter is a warning', async () => {
      py(`c('ssm').put_parameter(Name='/graviton-llm/agent', Value='{"agent":{"metrics_collection_interval":60}}', Type='String')`);
      const { cli, lines, clock } = cliOf();
      takeCalls();
      const etc = join(dir, 'agent-etc');
      const ctl = join(dir, 'amazon-cloudwatch-agent-ctl');
      writeFileSync(ctl, `#!/bin/sh\nprintf '%s\\n' "$*" >${dir}/ctl-argv\n`);
      chmodSync(ctl, 0o755);
      const agent = new CloudWatchAgent({
        program: ctl, configFile: join(etc, 'cloudwatch-agent.json'), prometheusConfigFile: join(etc, 'prometheus.yaml'),
        exec: new Exec({ clock }), limitMs: () => clock.now() + 600_000, logFile: join(dir, 'agent-boot.log'),
      });
      await agentPhase.run({
        agentConfigParameter: '/graviton-llm/agent', prometheusConfigParameter: '/graviton-llm/absent-prometheus',
        bootLogGroup: '/gllm/boot', serverLogGroup: '/gllm/server', bootLog: '/var/log/graviton-llm/boot.log', serverLog: '/var/log/graviton-llm/server.log',
        agent, secrets: new SsmSecrets(cli), log: (m) => lines.push(m),
      });
      expect(readFileSync(agent.configFile, 'utf8')).toBe('{"agent":{"metrics_collection_interval":60}}\n');
      expect(statSync(agent.configFile).mode & 0o777).toBe(0o600);
      expect(readdirSync(etc)).toEqual(['cloudwatch-agent.json']);
      expect(readFileSync(join(dir, 'ctl-argv'), 'utf8')).toBe(`-a fetch-config -m ec2 -s -c file:${agent.configFile}\n`);
      expect(takeCalls().map((c) => c.replace(/ --query .*/, ''))).toEqual([
        '--cli-connect-timeout 10 --cli-read-timeout 30 ssm get-parameter --name /graviton-llm/agent --with-decryption',
        '--cli-connect-timeout 10 --cli-read-timeout 30 ssm get-parameter --name /graviton-llm/absent-prometheus --with-decryption',
      ]);
      expect(lines).toEqual([
        expect.stringMatching(/^WARNING: could not read SSM parameter \/graviton-llm\/absent-prometheus \(.*ParameterNotFound.*\); no metrics scraping$/),
        `amazon-cloudwatch-agent started with ${agent.configFile}`,
      ]);
    }, 120_000);
  });

  describe('reporter', () => {
    const reporterOf = (overrides: { metric?: string } = {}) => {
      const { cli, lines } = cliOf();
      const reporter = new AwsReporter({
        cli, platform: { instanceId: async () => ({ ok: true, instanceId }) }, autoScalingGroup: GROUP, lifecycleHooks: ['launch', 'launch-v1'],
        stackName: 'Stack', signalResource: 'Fleet', metricNamespace: 'GravitonLlm', bootFailureMetric: overrides.metric ?? 'BootFailure',
        cfnSignal: join(dir, 'no-cfn-signal'), log: (m) => lines.push(m),
      });
      return { reporter, lines };
    };
    const events = () => readFileSync(join(state, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);

    test('the pending launch is completed; a hook of an earlier version holds none; once done, the group\'s own hook refuses, with a warning', async () => {
      writeFileSync(join(state, 'pending.json'), JSON.stringify([[GROUP, instanceId, 'launch']]));
      // Two throttled answers: the CLI's own retry takes one, the boot's the other.
      writeFileSync(join(state, 'faults.json'), JSON.stringify({ CompleteLifecycleAction: 2 }));
      const first = reporterOf();
      takeCalls();
      // Each hook's outcome too, for the boot's result: the group's own completed, the earlier version's refused.
      await expect(first.reporter.completeLifecycleAction('CONTINUE')).resolves.toEqual({
        kind: 'done',
        hooks: [
          { hook: 'launch', outcome: { kind: 'done' }, atMs: expect.any(Number) },
          { hook: 'launch-v1', outcome: { kind: 'refused', detail: expect.stringContaining('No active Lifecycle Action found') }, atMs: expect.any(Number) },
        ],
      });
      expect(first.lines.filter((l) => !l.includes('try 2/6'))).toEqual([
        'lifecycle action launch completed with CONTINUE',
        'lifecycle hook launch-v1 of an earlier kit version holds no action for this instance',
      ]);
      expect(first.lines.some((l) => /^complete-lifecycle-action launch CONTINUE failed \(exit \d+: An error occurred \(Throttling\)/.test(l))).toBe(true);
      const calls = takeCalls();
      expect(calls).toHaveLength(3);
      expect(calls[0]).toBe(`--cli-connect-timeout 10 --cli-read-timeout 30 autoscaling complete-lifecycle-action --lifecycle-hook-name launch --auto-scaling-group-name ${GROUP} --instance-id ${instanceId} --lifecycle-action-result CONTINUE --region ${REGION}`);
      expect(events().filter((e) => e.api === 'CompleteLifecycleAction' && e.error === undefined)).toEqual([
        expect.objectContaining({ hook: 'launch', instanceId, result: 'CONTINUE' }),
      ]);

      // A reboot of the serving instance: no pending launch.
      const again = reporterOf();
      const r = await again.reporter.completeLifecycleAction('CONTINUE');
      expect(r).toMatchObject({ kind: 'refused', detail: expect.stringContaining('No active Lifecycle Action found') });
      expect(again.lines[0]).toMatch(/^WARNING: could not complete lifecycle action launch with CONTINUE \(/);
      expect(takeCalls()).toHaveLength(2);
    }, 120_000);

    test('the signal is taken while the creation policy waits; after that the stack refuses it, final and no warning', async () => {
      writeFileSync(join(state, 'spec.json'), JSON.stringify({ group: { creationSignals: 1 } }));
      const { reporter, lines } = reporterOf();
      takeCalls();
      await expect(reporter.signal('SUCCESS', 'llama-server healthy')).resolves.toEqual({ kind: 'done' });
      await expect(reporter.signal('FAILURE', 'a re-run failed')).resolves.toMatchObject({ kind: 'refused' });
      expect(lines).toEqual(['signalled SUCCESS to Stack/Fleet', 'the stack takes no signal now (it is not being created); FAILURE not signalled']);
      expect(takeCalls()[0]).toBe(`--cli-connect-timeout 10 --cli-read-timeout 30 cloudformation signal-resource --stack-name Stack --logical-resource-id Fleet --unique-id ${instanceId} --status SUCCESS --region ${REGION}`);
    }, 120_000);

    test('a failed boot counts itself under the fleet\'s dimension; no metric name publishes nothing', async () => {
      const { reporter, lines } = reporterOf();
      await expect(reporter.countFailure()).resolves.toEqual({ kind: 'done' });
      expect(lines).toEqual(['counted the failure in GravitonLlm/BootFailure']);
      const sum = py([
        `cw = c('cloudwatch'); import datetime; now = datetime.datetime.now(datetime.timezone.utc)`,
        `s = cw.get_metric_statistics(Namespace='GravitonLlm', MetricName='BootFailure', Dimensions=[{'Name': 'AutoScalingGroupName', 'Value': '${GROUP}'}], StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1), Period=3600, Statistics=['Sum'])`,
        `print(sum(p['Sum'] for p in s['Datapoints']))`,
      ].join('\n'));
      expect(Number(sum)).toBe(1);
      takeCalls();
      await expect(reporterOf({ metric: '' }).reporter.countFailure()).resolves.toEqual({ kind: 'skipped' });
      expect(takeCalls()).toEqual([]);
    }, 120_000);
  });

  describe('drain metric', () => {
    test('a drain counts itself under the fleet\'s dimension and its Reason, read back from CloudWatch per reason', async () => {
      const { cli, lines } = cliOf();
      const metric = new DrainMetric({ cli: () => cli, namespace: 'GravitonLlm', metricName: 'Drains', autoScalingGroup: GROUP });
      await expect(metric.count('interruption', Date.now() + 60_000)).resolves.toEqual({ ok: true });
      await expect(metric.count('rebalance', Date.now() + 60_000)).resolves.toEqual({ ok: true });
      await expect(metric.count('rebalance', Date.now() + 60_000)).resolves.toEqual({ ok: true });
      expect(lines.filter((l) => /WARNING|ERROR/.test(l))).toEqual([]);
      const sums = py([
        `cw = c('cloudwatch'); import datetime; now = datetime.datetime.now(datetime.timezone.utc)`,
        `def total(reason):`,
        `  s = cw.get_metric_statistics(Namespace='GravitonLlm', MetricName='Drains', Dimensions=[{'Name': 'AutoScalingGroupName', 'Value': '${GROUP}'}, {'Name': 'Reason', 'Value': reason}], StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=1), Period=3600, Statistics=['Sum'])`,
        `  return sum(p['Sum'] for p in s['Datapoints'])`,
        `print(json.dumps({'interruption': total('interruption'), 'rebalance': total('rebalance')}))`,
      ].join('\n'));
      expect(JSON.parse(sums)).toEqual({ interruption: 1, rebalance: 2 });
    }, 120_000);
  });
});
