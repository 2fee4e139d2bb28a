/**
 * The instance in a box (x86_64): the synthesized user data of a stack,
 * tokens resolved, run as cloud-init runs it in a booted systemd 252 machine,
 * against the box's AWS (moto and an IMDSv2 stand-in) in a network namespace
 * that reaches nothing else. Every assertion is on what the box observed:
 * moto's recorded API calls and metrics, systemd's unit state, the server's
 * answers, Prometheus's scrape, and the boot's own result (boot-result.json,
 * parsed with its schema). The boot log is asserted only where a test is
 * about what it tells a person.
 *
 * The instances are launches of one stack, in order: a cold boot that
 * compiles, a reboot (the per-boot path), then two updates whose instances
 * fail (a model whose SHA-256 does not match; a model that llama-server
 * cannot load), both taking the build from the S3 cache the first filled.
 *
 * These stacks have no builder (trustedBuilder: false): the fleet compiles and
 * the cache's rules (the oldest version that passes its checks) are what is
 * under test. The builder and the pinned fleet: instance-box-builder.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { LLAMA_CPP_RELEASE_COMMITS, LLAMA_CPP_REPOSITORY } from '../../lib/catalogs/llama-cpp-release';
import { BOOT_HOOK_NAME, LEGACY_BOOT_HOOK_NAMES } from '../../lib/constructs/inference-fleet';
import { bootBundleFile } from '../../lib/boot/boot-bundle-file';
import { systemClock } from '../../runtime/boot/core/clock';
import { Exec } from '../../runtime/boot/core/exec';
import { INSTANCE_FILES } from '../../runtime/boot/layout';
import { SERVICE_USER } from '../../runtime/boot/server/unit';
import { BOX_AWS_CALLS_LOG, BoxAws, BoxEvent, BoxObservation, boxUnavailableReason, BoxBootRun, InstanceBox } from '../support/instance-box/box';
import { WITHOUT_BUILD_TOOLS } from '../support/instance-box/rootfs';
import { BOX_PROMETHEUS_URL, ensureBoxGitRepository, standIns } from '../support/instance-box/stand-ins';
import { boxStackOptions } from '../support/instance-box/box-stack';
import { S3File, s3File, StackInstance, stackInstance } from '../support/instance-box/stack-instance';
import { cacheRoot, ensureLlamaCppSource } from '../support/llama-cpp-source';
import { synthWith } from '../support/synth';
import { ensureTinyQ4Model } from '../support/tiny-model';
import { BOOT_RESULT_PATHS, BootResult } from '../../runtime/boot/result';

const API_KEY = 'box-api-key-0123456789abcdef';
const MODEL_BUCKET = 'box-models';
// A cold boot compiles llama-server in the box on however few cores the machine has.
const COLD_BOOT_MS = 45 * 60 * 1000;
const BOOT_MS = 5 * 60 * 1000;
const unavailable = boxUnavailableReason();
/** A stack that serves `model` (configured with `sha256`) from the box's model bucket (box-stack.ts). */
function synthStack(model: S3File, sha256 = model.sha256, extraObjects: S3File[] = []): StackInstance {
  return stackInstance(boxStackOptions(model, API_KEY, sha256, extraObjects, false));
}

function bootLog(box: InstanceBox): string {
  return box.read('/var/log/graviton-llm/boot.log');
}

/** The phases a boot ran, with their outcomes. */
const phaseOutcomes = (r: BootResult) => r.phases.map((p) => `${p.name} ${p.outcome}`);

/** The instance's lifecycle actions on a hook: the group's own launch hook unless named. */
function lifecycleActions(events: BoxEvent[], instanceId: string, hook = BOOT_HOOK_NAME): BoxEvent[] {
  return events.filter((e) => e.api === 'CompleteLifecycleAction' && e.instanceId === instanceId && e.hook === hook);
}

/** BootFailure counted so far: the metric is the box's, shared by every instance it launched. */
const bootFailures = (o: BoxObservation) => o.metrics.find((m) => m.name === 'BootFailure')?.sum ?? 0;

if (unavailable) {
  test('instance box', () => {
    console.log(`instance box skipped: ${unavailable}`);
    // CI runs as root with .ci/setup's packages: there the box must run.
    expect(process.env.CI ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe('instance in a box (x86_64, systemd 252)', () => {
    let aws: BoxAws;
    let good: S3File;
    let garbage: S3File;
    let box: InstanceBox;
    let stack: StackInstance;
    let instanceId: string;
    let first: BoxBootRun;
    const boxes: InstanceBox[] = [];
    let common: ReturnType<typeof standIns>;

    async function launch(name: string, s: StackInstance, removePaths: readonly string[] = []): Promise<{ box: InstanceBox; instanceId: string }> {
      const id = await aws.launchInstance(s.awsSpec);
      const b = await InstanceBox.create(aws, {
        arch: 'amd64',
        name,
        userData: s.userData,
        cloudInitEnvironment: { GLLM_TEST_BOX_ALLOW_X86: '1' },
        files: common.files,
        binds: common.binds,
        removePaths,
      });
      boxes.push(b);
      return { box: b, instanceId: id };
    }

    beforeAll(async () => {
      const source = await ensureLlamaCppSource();
      good = s3File(MODEL_BUCKET, 'tiny-q4_0.gguf', (await ensureTinyQ4Model(source)).path);
      // Verifies (its hash is the configured one) but is no GGUF: llama-server exits at load.
      const garbageFile = path.join(cacheRoot(), 'box', 'not-a-model.gguf');
      mkdirSync(path.dirname(garbageFile), { recursive: true });
      writeFileSync(garbageFile, randomBytes(256 * 1024));
      garbage = s3File(MODEL_BUCKET, 'not-a-model.gguf', garbageFile);
      common = standIns({ gitRepository: await ensureBoxGitRepository(source), upstreamRepository: LLAMA_CPP_REPOSITORY, prometheus: true });
      aws = await BoxAws.create('x86');
      stack = synthStack(good);
      ({ box, instanceId } = await launch('gllm-cold', stack));
      first = await box.boot(COLD_BOOT_MS);
      console.log(`instance box: cold boot (user data, compile in the box) took ${first.seconds.toFixed(1)} s, exit ${first.status}`);
    }, COLD_BOOT_MS + 10 * 60 * 1000);

    afterAll(async () => {
      for (const b of boxes) await b.destroy();
      aws?.destroySync();
    }, 5 * 60 * 1000);

    describe('first boot of a new instance', () => {
      test('the synthesized user data never opens the x86 door the box uses', () => {
        expect(stack.userData).not.toContain('GLLM_TEST_');
        expect(stack.userData.startsWith('#!/bin/bash\n')).toBe(true);
      });

      test('the user data fetched the boot program from S3 and the boot succeeded, every phase in order, root alone reading its result', () => {
        // The output is there to be shown when the status is not 0.
        expect({ status: first.status, output: first.output.slice(-1500) }).toEqual({ status: 0, output: expect.any(String) });
        expect(box.read(INSTANCE_FILES.bootProgram)).toBe(readFileSync(bootBundleFile(), 'utf8'));
        const result = box.bootResult();
        expect({ mode: result.mode, failure: result.failure }).toEqual({ mode: 'aws', failure: null });
        expect(phaseOutcomes(result)).toEqual(['config', 'deps', 'agent', 'cpu', 'build', 'model', 'api-key', 'preflight', 'serve', 'health', 'drain-watch', 'report'].map((p) => `${p} ok`));
        expect(box.exec(['stat', '-c', '%a %U', BOOT_RESULT_PATHS.instance]).stdout.trim()).toBe('600 root');
      });

      test('it compiled llama.cpp from the cloned release and cached the build in S3', async () => {
        const { build, model, cacheWrites } = box.bootResult();
        expect(build).toMatchObject({ from: 'compile', cacheVersion: null, discarded: [] });
        // The commit the boot checked it fetched, in the manifest later boots check the build against.
        expect(box.read(`/opt/graviton-llm/llama.cpp/${build!.key}/manifest.txt`)).toContain(`llama.cpp-commit=${LLAMA_CPP_RELEASE_COMMITS['v0.5.0']}\n`);
        expect(model).toEqual({ source: 'download', quantized: null });
        expect(cacheWrites).toEqual([
          { object: `builds/${build!.key}.tar.gz`, outcome: 'written' },
          { object: `models/${good.sha256}.gguf`, outcome: 'written' },
        ]);
        const observed = await aws.observe();
        expect(observed.objects[stack.bootEnv.GLLM_CACHE_URI.split('/')[2]]).toEqual(expect.arrayContaining([`cache/builds/${build!.key}.tar.gz`, `cache/models/${good.sha256}.gguf`]));
      });

      test('every AWS CLI call, the user data\'s and the boot\'s, named the stack\'s region', () => {
        // Without --region the CLI sends S3 requests to the global endpoint, which an in-region
        // gateway endpoint does not cover.
        const calls = box.read(BOX_AWS_CALLS_LOG).trim().split('\n');
        expect(calls).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^s3 cp .* s3://.*/[0-9a-f]{64}\\.js ${INSTANCE_FILES.bootProgram}$`))]));
        expect(calls.length).toBeGreaterThan(5);
        expect(calls.filter((c) => !c.includes(`--region ${stack.bootEnv.GLLM_REGION}`))).toEqual([]);
      });

      test('it used IMDSv2 only: a token first, never a read without one', async () => {
        const imds = (await aws.observe()).events.filter((e) => e.api === 'IMDS');
        expect(imds.map((e) => e.path)).toContain('PUT /latest/api/token');
        expect(imds.map((e) => e.path)).toContain('GET /latest/meta-data/instance-id');
        expect(imds.filter((e) => e.error)).toEqual([]);
      });

      test('the preflight ran the server with its arguments, and the lock flag is the one this release takes', () => {
        expect(phaseOutcomes(box.bootResult())).toContain('preflight ok');
        const execStart = /^ExecStart=(.*)$/m.exec(box.read('/etc/systemd/system/graviton-llm.service'))![1];
        expect(execStart).toContain(' --load-mode mmap+mlock');
      });

      test('systemd runs the kit\'s unit, hardened, as its own user, with the key as a credential', () => {
        const p = box.unitProperties('graviton-llm.service', [
          'ActiveState', 'SubState', 'NRestarts', 'User', 'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp',
          'CapabilityBoundingSet', 'LimitMEMLOCK', 'LimitNOFILE', 'LoadCredential', 'ExecStart', 'MainPID',
        ]);
        expect(p).toMatchObject({
          ActiveState: 'active', SubState: 'running', NRestarts: '0', User: 'llama', NoNewPrivileges: 'yes',
          ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', CapabilityBoundingSet: '',
        });
        console.log(`instance box: unit limits as configured: LimitMEMLOCK=${p.LimitMEMLOCK} LimitNOFILE=${p.LimitNOFILE}`);
        expect(p.ExecStart).toContain('--load-mode mmap+mlock');
        // The process itself runs as llama, and llama cannot read the root-only key file the credential comes from.
        const ps = box.exec(['ps', '-o', 'user=', '-p', p.MainPID]);
        expect(ps.stdout.trim()).toBe('llama');
        // systemd handed the key over as a credential, and the running server reads it from there.
        const credential = '/run/credentials/graviton-llm.service/api-key';
        expect(box.exec(['cat', credential]).stdout.trim()).toBe(API_KEY);
        const argv = box.exec(['cat', `/proc/${p.MainPID}/cmdline`]).stdout.split('\0');
        expect(argv[argv.indexOf('--api-key-file') + 1]).toBe(credential);
        const readKey = box.exec(['systemd-run', '--wait', '--pipe', '--quiet', '--property=User=llama', 'cat', '/etc/graviton-llm/api-key']);
        expect(readKey.status).not.toBe(0);
      });

      test('the unit denies the server the instance metadata service, and the boot says whether this host enforces it', () => {
        const token = ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '3', '-X', 'PUT',
          '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60', 'http://169.254.169.254/latest/api/token'];
        expect(box.exec(token).stdout).toBe('200');
        // The filter systemd loaded for the unit, applied by systemd to the same request as the unit's user.
        const deny = box.unitProperties('graviton-llm.service', ['IPAddressDeny']).IPAddressDeny;
        expect(deny.split(' ').sort()).toEqual(['169.254.169.254/32', 'fd00:ec2::254/128']);
        const asUnit = box.exec(['systemd-run', '--wait', '--pipe', '--quiet', '--property=User=llama', `--property=IPAddressDeny=${deny}`, ...token]);
        // systemd enforces it only with its BPF firewall (cgroup v2, as on Amazon Linux 2023); this host may lack it.
        const enforced = asUnit.stdout === '000';
        console.log(`instance box: IPAddressDeny ${enforced ? 'enforced' : 'not enforced'} here (metadata answered ${asUnit.stdout} under the filter)`);
        expect(bootLog(box)).toContain(enforced
          ? "llama-server's unit cannot reach the instance metadata service (IPAddressDeny enforced)"
          : `WARNING: systemd does not enforce IPAddressDeny on this host (the metadata service answered ${asUnit.stdout} under the unit's filter)`);
      });

      test('/slots, which shows every client\'s prompt, is off even with the key', async () => {
        const r = await aws.http(`http://127.0.0.1:${stack.bootEnv.GLLM_PORT}/slots`, { headers: { Authorization: `Bearer ${API_KEY}` } });
        expect({ status: r.status, body: r.body }).toEqual({ status: 501, body: expect.stringContaining('does not support slots endpoint') });
      });

      test('llama-server\'s log is kept under 100 MiB by a timer, one previous copy beside it; the server writes on', async () => {
        const log = '/var/log/graviton-llm/server.log';
        expect(box.unitProperties('graviton-llm-log-rotate.timer', ['ActiveState']).ActiveState).toBe('active');
        const size = (f: string) => Number(box.exec(['stat', '-c', '%s', f]).stdout.trim());
        // Under the limit nothing moves.
        expect(box.exec(['systemctl', 'start', 'graviton-llm-log-rotate.service']).status).toBe(0);
        expect(box.exists(`${log}.1`)).toBe(false);
        box.exec(['sh', '-c', `head -c ${101 * 1024 * 1024} /dev/zero | tr '\\0' x >>${log}`]);
        const before = size(log);
        expect(before).toBeGreaterThan(100 * 1024 * 1024);
        expect(box.exec(['systemctl', 'start', 'graviton-llm-log-rotate.service']).status).toBe(0);
        expect(size(`${log}.1`)).toBeGreaterThanOrEqual(before);
        expect(size(log)).toBeLessThan(1024 * 1024);
        // The server's next lines land at the start of the truncated file, not after a hole.
        const body = JSON.stringify({ messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 4 });
        expect((await aws.http(`http://127.0.0.1:${stack.bootEnv.GLLM_PORT}/v1/chat/completions`, { body, headers: { Authorization: `Bearer ${API_KEY}` } })).status).toBe(200);
        const after = box.read(log);
        expect(after.length).toBeGreaterThan(0);
        expect(after.length).toBeLessThan(1024 * 1024);
        expect(after.startsWith('x')).toBe(false);
        expect(after.includes('\0')).toBe(false);
      });

      test('/health answers through the port; a chat completion needs the key (401 without, 200 with)', async () => {
        const url = `http://127.0.0.1:${stack.bootEnv.GLLM_PORT}`;
        expect((await aws.http(`${url}/health`)).status).toBe(200);
        const body = JSON.stringify({ messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 4 });
        expect((await aws.http(`${url}/v1/chat/completions`, { body })).status).toBe(401);
        expect((await aws.http(`${url}/v1/chat/completions`, { body, headers: { Authorization: 'Bearer wrong-key' } })).status).toBe(401);
        const ok = await aws.http(`${url}/v1/chat/completions`, { body, headers: { Authorization: `Bearer ${API_KEY}` } });
        expect(ok.status).toBe(200);
        expect(JSON.parse(ok.body).usage.completion_tokens).toBeGreaterThan(0);
      });

      test('it completed the lifecycle action with CONTINUE and signalled SUCCESS, as the instance', async () => {
        const { events } = await aws.observe();
        expect(stack.awsSpec.group.hooks.map((h) => h.name)).toEqual([BOOT_HOOK_NAME]);
        expect(lifecycleActions(events, instanceId)).toEqual([expect.objectContaining({
          group: stack.awsSpec.group.name, hook: BOOT_HOOK_NAME, result: 'CONTINUE',
        })]);
        expect(lifecycleActions(events, instanceId)[0].error).toBeUndefined();
        // The hook of earlier kit versions is asked for too; a group without it refuses, which is final.
        const [legacy] = LEGACY_BOOT_HOOK_NAMES;
        expect(lifecycleActions(events, instanceId, legacy).map((a) => a.error)).toEqual(['no such hook']);
        expect(events.filter((e) => e.api === 'SignalResource')).toEqual([expect.objectContaining({
          stackName: stack.bootEnv.GLLM_STACK_NAME, logicalResourceId: stack.bootEnv.GLLM_SIGNAL_RESOURCE, uniqueId: instanceId, status: 'SUCCESS',
        })]);
        // What the boot made of AWS's answers: the refusal of the earlier version's hook is final, not a failure.
        expect(box.bootResult().report).toEqual({
          lifecycleActions: [
            { hook: BOOT_HOOK_NAME, result: 'CONTINUE', outcome: 'completed', atMs: expect.any(Number) },
            { hook: legacy, result: 'CONTINUE', outcome: 'refused', atMs: expect.any(Number) },
          ],
          signal: { status: 'SUCCESS', outcome: 'sent' },
          failureMetric: null,
        });
      });

      test('the kit\'s Prometheus configuration passes promtool and a real Prometheus scrapes /metrics with the key file', async () => {
        const agent = JSON.parse(box.read('/var/lib/box/agent.json'));
        const promPath = agent.config.logs.logs_collected.prometheus.prometheus_config_path;
        const check = box.exec(['/usr/local/bin/promtool', 'check', 'config', promPath]);
        expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
        // The scrape interval is the kit's 15 s: wait for a successful scrape.
        let result: any[] = [];
        for (let i = 0; i < 60 && result.length === 0; i++) {
          const q = await aws.http(`${BOX_PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent('llamacpp:requests_processing')}`);
          if (q.status === 200) result = JSON.parse(q.body).data.result;
          if (result.length === 0) await new Promise((r) => setTimeout(r, 1000));
        }
        expect(result).toEqual([expect.objectContaining({
          metric: expect.objectContaining({ job: 'llama-server', AutoScalingGroupName: stack.awsSpec.group.name }),
        })]);
        const up = JSON.parse((await aws.http(`${BOX_PROMETHEUS_URL}/api/v1/query?query=up`)).body).data.result;
        expect(up.map((s: any) => s.value[1])).toEqual(['1']);
      });
    });

    describe('a reboot of the serving instance (the per-boot path)', () => {
      let reboot: BoxBootRun;
      let logBefore: number;
      let firstResult: BootResult;

      beforeAll(async () => {
        logBefore = bootLog(box).length;
        firstResult = box.bootResult();
        await box.shutdown();
        reboot = await box.boot(BOOT_MS);
        console.log(`instance box: reboot took ${reboot.seconds.toFixed(1)} s, exit ${reboot.status}`);
      }, BOOT_MS + 2 * 60 * 1000);

      test('serves again from its own disk: no download, no compile', async () => {
        expect(reboot.status).toBe(0);
        expect(reboot.output).toContain('== per-boot /var/lib/cloud/scripts/per-boot/graviton-llm.sh');
        const result = box.bootResult();
        // This boot's result, not the first boot's (which compiled and downloaded).
        expect(result.startedAtMs).toBeGreaterThan(firstResult.endedAtMs);
        expect(result).toMatchObject({ failure: null, build: { from: 'installed' }, model: { source: 'installed', quantized: null }, cacheWrites: [] });
        expect((await aws.http(`http://127.0.0.1:${stack.bootEnv.GLLM_PORT}/health`)).status).toBe(200);
      });

      test('finds no pending launch to complete, as AWS answers after the first, and keeps serving', async () => {
        const actions = lifecycleActions((await aws.observe()).events, instanceId);
        expect(actions.map((a) => a.error ?? a.result)).toEqual(['CONTINUE', 'no active lifecycle action']);
        expect(box.bootResult().report!.lifecycleActions[0]).toMatchObject({ hook: BOOT_HOOK_NAME, result: 'CONTINUE', outcome: 'refused' });
        // An operator reading the log is told too.
        expect(bootLog(box).slice(logBefore)).toContain(`WARNING: could not complete lifecycle action ${BOOT_HOOK_NAME} with CONTINUE`);
        expect(box.unitProperties('graviton-llm.service', ['ActiveState']).ActiveState).toBe('active');
      });

      test('its signal is refused, as CloudFormation refuses one after creation, and not retried', async () => {
        const signals = (await aws.observe()).events.filter((e) => e.api === 'SignalResource' && e.uniqueId === instanceId);
        expect(signals.map((e) => e.error ?? e.status)).toEqual(['SUCCESS', 'not waiting for signals']);
        expect(box.bootResult().report!.signal).toEqual({ status: 'SUCCESS', outcome: 'refused' });
      });
    });

    describe('scale-out instances from an image without build tools (the build from the cache)', () => {
      // The box's image carries the compiler, as an instance has once the boot installed it: these
      // instances lack it, as a fresh AL2023 instance does, and the box has no package repository.
      const BUILD_TOOLS = WITHOUT_BUILD_TOOLS;
      const LIBGOMP = ['/usr/lib/x86_64-linux-gnu/libgomp.so.1', '/usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0'];

      test('one serves, having installed nothing; the warm path\'s time runs from user data to CONTINUE', async () => {
        await box.shutdown();
        const launched = await launch('gllm-scaleout', stack, BUILD_TOOLS);
        expect(launched.box.exists('/usr/bin/g++')).toBe(false);
        const result = await launched.box.boot(BOOT_MS);
        const boot = launched.box.bootResult();
        expect(result.status).toBe(0);
        expect(boot).toMatchObject({ failure: null, build: { from: 'cache', cacheVersion: { position: 1, of: 1 }, discarded: [] }, cacheWrites: [] });
        // The build brought its own list of the libraries it loads (a cache hit has no compiler to ask).
        expect(launched.box.read(`/opt/graviton-llm/llama.cpp/${boot.build!.key}/runtime-libraries.txt`)).toMatch(/^libgomp\.so\.1$/m);
        // Nothing installed: no package manager ran.
        expect(['apt.log', 'dnf.log'].filter((f) => launched.box.exists(`/var/log/graviton-llm/${f}`))).toEqual([]);
        expect(lifecycleActions((await aws.observe()).events, launched.instanceId)).toEqual([expect.objectContaining({ result: 'CONTINUE' })]);
        const started = Number(launched.box.read('/var/lib/box/user-data-started'));
        const continued = boot.report!.lifecycleActions.find((a) => a.hook === BOOT_HOOK_NAME && a.outcome === 'completed')!.atMs / 1000;
        const phases = boot.phases.map((p) => `${p.name} ${((p.endedAtMs - p.startedAtMs) / 1000).toFixed(3)} s`).join(', ');
        console.log(`instance box: warm scale-out, user data start to lifecycle CONTINUE: ${(continued - started).toFixed(1)} s (${phases})`);
        expect(continued).toBeGreaterThan(started);
        expect((await aws.http(`http://127.0.0.1:${stack.bootEnv.GLLM_PORT}/health`)).status).toBe(200);
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('one launched during an existing stack\'s upgrade, while the old hook resource still holds it too, completes both hooks', async () => {
        // CloudFormation deletes the separate hook of earlier kit versions only in the update's
        // clean-up, after the instance refresh: until then the group has both hooks.
        const [legacy] = LEGACY_BOOT_HOOK_NAMES;
        const group = { ...stack.awsSpec.group, hooks: [...stack.awsSpec.group.hooks, { ...stack.awsSpec.group.hooks[0], name: legacy }] };
        const launched = await launch('gllm-upgrade', { ...stack, awsSpec: { ...stack.awsSpec, group } }, BUILD_TOOLS);
        const result = await launched.box.boot(BOOT_MS);
        expect(result.status).toBe(0);
        const events = (await aws.observe()).events;
        expect(lifecycleActions(events, launched.instanceId)).toEqual([expect.objectContaining({ result: 'CONTINUE' })]);
        expect(lifecycleActions(events, launched.instanceId, legacy)).toEqual([expect.objectContaining({ result: 'CONTINUE' })]);
        expect(lifecycleActions(events, launched.instanceId, legacy)[0].error).toBeUndefined();
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('one whose image lacks the OpenMP library the build loads discards that build, naming the library, and compiles instead', async () => {
        const bucket = stack.bootEnv.GLLM_CACHE_URI.replace(/^s3:\/\//, '').split('/')[0];
        const before = await aws.observe();
        const objectKey = before.objects[bucket].find((k) => /^cache\/builds\/[0-9a-f]{32}\.tar\.gz$/.test(k))!;
        const launched = await launch('gllm-nolibgomp', stack, [...BUILD_TOOLS, ...LIBGOMP]);
        const result = await launched.box.boot(BOOT_MS);
        const boot = launched.box.bootResult();
        // A library no repository offers must not fail every boot that reads the object: the version
        // is discarded like any other that fails its checks, and a build is compiled here.
        expect(boot.build).toMatchObject({
          from: 'compile',
          discarded: [{ version: expect.any(String), problem: expect.stringMatching(/^it loads libgomp\.so\.1, which this machine lacks and could not install/) }],
        });
        // This box reaches no package repository, so the compiler cannot be installed either; an instance
        // that reaches its repositories compiles. Nothing is served, replaced or downloaded.
        expect(result.status).not.toBe(0);
        expect(boot.failure).toEqual({ phase: 'build', reason: expect.stringContaining('install of the build tools failed') });
        expect({ model: boot.model, cacheWrites: boot.cacheWrites }).toEqual({ model: null, cacheWrites: [] });
        expect((await aws.observe()).versions[bucket][objectKey]).toBe(before.versions[bucket][objectKey]);
        expect(lifecycleActions((await aws.observe()).events, launched.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('a build overwritten after it was first cached is not run: the version first written is, as the service user', async () => {
        const bucket = stack.bootEnv.GLLM_CACHE_URI.replace(/^s3:\/\//, '').split('/')[0];
        const objectKey = (await aws.observe()).objects[bucket].find((k) => /^cache\/builds\/[0-9a-f]{32}\.tar\.gz$/.test(k))!;
        const buildKey = /([0-9a-f]{32})\.tar\.gz$/.exec(objectKey)![1];
        // What anyone holding an instance's credentials could write: a build that passes every check
        // and serves (it runs the real server), but marks every run of it.
        const work = path.join(cacheRoot(), 'box', 'overwritten-build');
        spawnSync('rm', ['-rf', work]);
        mkdirSync(work, { recursive: true });
        const installed = path.join(box.dir, 'upper', 'opt', 'graviton-llm', 'llama.cpp', buildKey);
        expect(spawnSync('cp', ['-a', `${installed}/.`, work]).status).toBe(0);
        expect(spawnSync('mv', [path.join(work, 'bin', 'llama-server'), path.join(work, 'bin', 'llama-server.real')]).status).toBe(0);
        writeFileSync(path.join(work, 'bin', 'llama-server'), '#!/bin/sh\necho "$(id -un) $*" >>/tmp/overwritten-build-ran\nexec "$0.real" "$@"\n', { mode: 0o755 });
        const tarball = `${work}.tar.gz`;
        expect(spawnSync('tar', ['-czf', tarball, '-C', work, '.']).status).toBe(0);
        await aws.putObject(bucket, objectKey, tarball);
        expect((await aws.observe()).versions[bucket][objectKey]).toBe(2);

        const launched = await launch('gllm-overwritten', stack, BUILD_TOOLS);
        const result = await launched.box.boot(BOOT_MS);
        expect(result.status).toBe(0);
        // The operator is warned in the log, which the CloudWatch agent ships.
        expect(bootLog(launched.box)).toContain(`WARNING: builds/${buildKey}.tar.gz has 2 versions: it was written again after it was first cached`);
        expect(launched.box.bootResult().build).toEqual({
          key: buildKey, from: 'cache', cacheVersion: { id: expect.any(String), position: 1, of: 2 }, discarded: [],
        });
        expect(launched.box.exists('/tmp/overwritten-build-ran')).toBe(false);
        expect(launched.box.exists(`/opt/graviton-llm/llama.cpp/${buildKey}/bin/llama-server.real`)).toBe(false);
        expect((await aws.http(`http://127.0.0.1:${stack.bootEnv.GLLM_PORT}/health`)).status).toBe(200);
        // The checks that run a build's programs do so as the service's user, not as root: the command line
        // the boot's own Exec gives such a program (as an instance's boot makes it), run in the box as root.
        const asService = new Exec({ clock: systemClock, serviceUser: SERVICE_USER }).argv({ step: 'build', program: 'id', args: ['-un'], asServiceUser: true, limitMs: 0 });
        const who = launched.box.exec(asService);
        expect({ status: who.status, user: who.stdout.trim() }).toEqual({ status: 0, user: 'llama' });
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);
    });

    describe('a throttled lifecycle API, then a server that keeps crashing', () => {
      let launched: { box: InstanceBox; instanceId: string };
      let result: BoxBootRun;
      // More than one AWS CLI call retries by itself (the standard retry mode tries 3 times).
      const THROTTLED = 6;

      beforeAll(async () => {
        await box.shutdown();
        aws.injectFaults('CompleteLifecycleAction', THROTTLED);
        launched = await launch('gllm-throttled', stack);
        result = await launched.box.boot(BOOT_MS);
        console.log(`instance box: boot with ${THROTTLED} throttled lifecycle calls took ${result.seconds.toFixed(1)} s, exit ${result.status}`);
      }, BOOT_MS + 2 * 60 * 1000);

      afterAll(() => launched?.box.shutdown(), 2 * 60 * 1000);

      test('the boot retries complete-lifecycle-action until AWS takes it, and the instance serves', async () => {
        expect(result.status).toBe(0);
        const actions = lifecycleActions((await aws.observe()).events, launched.instanceId);
        expect(actions.map((a) => a.error ?? a.result)).toEqual([...Array(THROTTLED).fill('injected throttling'), 'CONTINUE']);
        // The log says each retry and its wait, for a person wondering why the boot took longer.
        expect(bootLog(launched.box)).toMatch(new RegExp(`complete-lifecycle-action ${BOOT_HOOK_NAME} CONTINUE failed \\(exit \\d+[^\\n]*\\); try 2/6 in [\\d.]+ s`));
        expect(launched.box.bootResult().report!.lifecycleActions[0]).toMatchObject({ hook: BOOT_HOOK_NAME, result: 'CONTINUE', outcome: 'completed' });
      });

      test('a server killed five times is left failed by systemd, for the load balancer to notice', async () => {
        const unit = () => launched.box.unitProperties('graviton-llm.service', ['ActiveState', 'Result', 'MainPID', 'NRestarts']);
        let kills = 0;
        for (let waited = 0; unit().ActiveState !== 'failed' && waited < 120; waited++) {
          const p = unit();
          if (p.ActiveState === 'active' && p.MainPID !== '0') {
            launched.box.exec(['kill', '-KILL', p.MainPID]);
            kills++;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
        console.log(`instance box: ${kills} kills until the unit stayed down`);
        // The boot's start and four restarts are the burst of 5 in 300 s; the restart after the
        // fifth crash is refused, and the unit stays down (systemd 252 keeps Result=signal).
        expect(kills).toBe(5);
        await new Promise((r) => setTimeout(r, 10_000));
        expect(unit()).toMatchObject({ ActiveState: 'failed', MainPID: '0' });
        const journal = launched.box.exec(['journalctl', '-u', 'graviton-llm.service', '-o', 'cat', '--no-pager']).stdout;
        expect(journal).toContain('Start request repeated too quickly.');
      }, 3 * 60 * 1000);
    });

    describe('failed boots of updated instances', () => {

      async function failedBoot(name: string, s: StackInstance) {
        await box.shutdown();
        const failuresBefore = bootFailures(await aws.observe());
        const launched = await launch(name, s);
        const result = await launched.box.boot(BOOT_MS);
        console.log(`instance box: ${name} took ${result.seconds.toFixed(1)} s, exit ${result.status}`);
        const observed = await aws.observe();
        return { ...launched, result, observed, boot: launched.box.bootResult(), failuresCounted: bootFailures(observed) - failuresBefore };
      }

      /**
       * What a failed boot reports: the failure counted, the group's hook abandoned, FAILURE signalled,
       * which the stack takes only while it is being created (as the box's AWS answered this instance).
       */
      const reportedFailure = (r: { observed: BoxObservation; instanceId: string }) => ({
        lifecycleActions: [
          { hook: BOOT_HOOK_NAME, result: 'ABANDON', outcome: 'completed', atMs: expect.any(Number) },
          { hook: LEGACY_BOOT_HOOK_NAMES[0], result: 'ABANDON', outcome: 'refused', atMs: expect.any(Number) },
        ],
        signal: {
          status: 'FAILURE',
          outcome: r.observed.events.find((e) => e.api === 'SignalResource' && e.uniqueId === r.instanceId)?.error ? 'refused' : 'sent',
        },
        failureMetric: 'counted',
      });

      test('a model whose SHA-256 does not match: warm build from S3, nothing served, hook abandoned, failure counted', async () => {
        const wrong = createHash('sha256').update('not the model').digest('hex');
        const s = synthStack(good, wrong);
        const r = await failedBoot('gllm-badsha', s);
        expect(r.result.status).not.toBe(0);
        expect(r.boot.build).toMatchObject({ from: 'cache' });
        expect(r.boot.failure).toEqual({ phase: 'model', reason: expect.stringContaining(`sha256 mismatch: expected ${wrong}, got ${good.sha256}`) });
        expect(r.boot.report).toEqual(reportedFailure(r));
        expect(lifecycleActions(r.observed.events, r.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
        expect(r.observed.metrics.map((m) => ({ name: m.name, dimensions: m.dimensions }))).toEqual([{ name: 'BootFailure', dimensions: { AutoScalingGroupName: s.awsSpec.group.name } }]);
        expect(r.failuresCounted).toBe(1);
        expect(r.box.exists(`/var/lib/graviton-llm/models/${s.bootEnv.GLLM_MODEL_FILE}`)).toBe(false);
        expect((await aws.http(`http://127.0.0.1:${s.bootEnv.GLLM_PORT}/health`)).status).toBe(0);
        await r.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('a llama-server that exits at start: the boot fails at its first restart, says why, abandons the hook', async () => {
        const s = synthStack(garbage);
        const r = await failedBoot('gllm-exits', s);
        expect(r.result.status).not.toBe(0);
        // Caught at the unit's first restart (RestartSec), not by the health timeout (10 minutes here).
        const health = r.boot.phases.find((p) => p.name === 'health')!;
        console.log(`instance box: the server's exit was caught ${((health.endedAtMs - health.startedAtMs) / 1000).toFixed(1)} s into the health wait`);
        expect(r.boot.failure?.phase).toBe('health');
        const reason = r.boot.failure!.reason;
        expect(reason).not.toContain('not healthy within');
        expect(reason).toContain('llama-server exited before it was healthy');
        // The unit's state and journal, and the server's own last words, not an empty reason.
        expect(reason).toMatch(/graviton-llm\.service .*NRestarts=1/);
        expect(reason).toMatch(/; journal: .*graviton-llm\.service: Failed with result 'exit-code'/);
        expect(reason).toContain('exiting due to model loading error');
        expect(reason).toMatch(/server\.log: .*\S/);
        expect(r.boot.report).toEqual(reportedFailure(r));
        expect(lifecycleActions(r.observed.events, r.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
        expect(r.failuresCounted).toBe(1);
        expect(r.box.unitProperties('graviton-llm.service', ['ActiveState']).ActiveState).not.toBe('active');
        await r.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);
    });

    test('the default stack\'s user data runs to its model download, which the closed network refuses', async () => {
      // The default configuration serves a 2 GB catalog model from Hugging Face, which this box cannot reach:
      // its instance gets as far as the download, then fails like an instance without a route out.
      const synth = synthWith({ trustedBuilder: false }, { bundle: false });
      const s = stackInstance({
        template: synth.template.toJSON(), assemblyDir: synth.outdir, stackName: synth.stack.stackName,
        apiKey: API_KEY, architecture: 'x86_64',
      });
      expect(s.bootEnv.GLLM_MODEL_SOURCE).toMatch(/^https:\/\/huggingface\.co\//);
      await box.shutdown();
      const launched = await launch('gllm-default', s);
      const result = await launched.box.boot(BOOT_MS);
      const boot = launched.box.bootResult();
      expect(result.status).not.toBe(0);
      expect(boot.build).toMatchObject({ from: 'cache' });
      expect(boot.model).toEqual({ source: 'download', quantized: null });
      expect(boot.failure).toEqual({ phase: 'model', reason: expect.stringContaining(`model download from ${s.bootEnv.GLLM_MODEL_SOURCE} failed after 4 attempts`) });
      expect(lifecycleActions((await aws.observe()).events, launched.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
      await launched.box.shutdown();
    }, BOOT_MS + 2 * 60 * 1000);

    describe('the trampoline', () => {

      /** What the trampoline reported for `instanceId`, as the box's AWS saw it. */
      // AWS refuses the old hook's action: no such hook, or (where the upgrade scenario above gave the
      // box's group the old hook too) no action pending under it, since the instance was not launched under it.
      const LEGACY_HOOK_REFUSED = expect.stringMatching(/^(no such hook|no active lifecycle action)$/);
      function reported(observed: BoxObservation, instanceId: string) {
        return {
          hooks: [BOOT_HOOK_NAME, ...LEGACY_BOOT_HOOK_NAMES].map((hook) => lifecycleActions(observed.events, instanceId, hook).map((a) => a.error ?? a.result)),
          signals: observed.events.filter((e) => e.api === 'SignalResource' && e.uniqueId === instanceId).map((e) => e.status),
        };
      }

      test('an image without Node: the trampoline says so and reports the failure itself (hook abandoned, failure counted, FAILURE signalled)', async () => {
        const s = synthStack(good, good.sha256);
        await box.shutdown();
        const failuresBefore = bootFailures(await aws.observe());
        const launched = await launch('gllm-no-node', s, ['/usr/bin/node', '/usr/bin/nodejs']);
        expect(['/usr/bin/node', '/usr/bin/nodejs'].filter((p) => launched.box.exists(p))).toEqual([]);
        const result = await launched.box.boot(BOOT_MS);
        console.log(`instance box: the trampoline without Node failed in ${result.seconds.toFixed(1)} s, exit ${result.status}`);
        expect(result.status).not.toBe(0);
        expect(result.output).toContain('graviton-llm boot: no Node.js: neither /usr/bin/node-24 (dnf install nodejs24) nor a node of major 18 or later on PATH; reporting the failure');
        const observed = await aws.observe();
        expect(reported(observed, launched.instanceId)).toEqual({ hooks: [['ABANDON'], [LEGACY_HOOK_REFUSED]], signals: ['FAILURE'] });
        expect(bootFailures(observed) - failuresBefore).toBe(1);
        expect(observed.metrics.find((m) => m.name === 'BootFailure')!.dimensions).toEqual({ AutoScalingGroupName: s.awsSpec.group.name });
        // The bundle was never fetched: Node is looked for first. Every call named the region.
        const calls = launched.box.read(BOX_AWS_CALLS_LOG).trim().split('\n');
        expect(calls.filter((c) => c.startsWith('s3 cp'))).toEqual([]);
        expect(calls.filter((c) => !c.includes(`--region ${s.bootEnv.GLLM_REGION}`))).toEqual([]);
        expect(launched.box.exists(INSTANCE_FILES.bootProgram)).toBe(false);
        expect(launched.box.exists(BOOT_RESULT_PATHS.instance)).toBe(false);
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('a configuration the program refuses: the failure is reported all the same, by the trampoline when no boot result was written', async () => {
        const s = synthStack(good, good.sha256);
        // A value the boot's contract refuses (a leading zero) that is still safe to source.
        const refused = { ...s, userData: s.userData.replace(/^GLLM_PORT=\d+$/m, 'GLLM_PORT=010') };
        expect(refused.userData).toContain('\nGLLM_PORT=010\n');
        await box.shutdown();
        const failuresBefore = bootFailures(await aws.observe());
        const launched = await launch('gllm-refused-env', refused);
        const result = await launched.box.boot(BOOT_MS);
        expect(result.status).not.toBe(0);
        const observed = await aws.observe();
        expect(reported(observed, launched.instanceId)).toEqual({ hooks: [['ABANDON'], [LEGACY_HOOK_REFUSED]], signals: ['FAILURE'] });
        expect(bootFailures(observed) - failuresBefore).toBe(1);
        if (!launched.box.exists(BOOT_RESULT_PATHS.instance)) {
          expect(result.output).toMatch(new RegExp(`graviton-llm boot: the boot program \\(\\S+ ${INSTANCE_FILES.bootProgram}\\) exited with status 2 without writing ${BOOT_RESULT_PATHS.instance}; reporting the failure`));
        }
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('a bundle in S3 that is not the one the stack was synthesized with is not run, and the failure is reported', async () => {
        // The bundle's object in S3 replaced by one a byte longer: the trampoline checks it against the SHA-256 synthesized.
        const ofStack = synthStack(good);
        const published = ofStack.awsSpec.objects.find((o) => o.key.endsWith('.js'))!;
        const tampered = path.join(cacheRoot(), 'box', 'tampered-boot.js');
        writeFileSync(tampered, `${readFileSync(published.file, 'utf8')}\n// one line more\n`);
        const s = synthStack(good, good.sha256, [s3File(published.bucket, published.key, tampered)]);
        await box.shutdown();
        const launched = await launch('gllm-tampered', s);
        const result = await launched.box.boot(BOOT_MS);
        console.log(`instance box: the trampoline refused a tampered bundle and reported it in ${result.seconds.toFixed(1)} s`);
        expect(result.status).not.toBe(0);
        expect(result.output).toContain(`${INSTANCE_FILES.bootProgram} is not the boot program this stack was synthesized with; not running it`);
        expect(launched.box.exists(INSTANCE_FILES.bootProgram)).toBe(false);
        expect(launched.box.exists('/var/log/graviton-llm/boot.log')).toBe(false);
        expect(launched.box.exists(BOOT_RESULT_PATHS.instance)).toBe(false);
        expect(reported(await aws.observe(), launched.instanceId)).toEqual({ hooks: [['ABANDON'], [LEGACY_HOOK_REFUSED]], signals: ['FAILURE'] });
        await launched.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);
    });

    test('a Hugging Face token parameter that cannot be read fails the boot at once, naming it', async () => {
      const synth = synthWith({ huggingFaceTokenParameterName: '/graviton-llm/box/absent-hf-token', trustedBuilder: false }, { bundle: false });
      const s = stackInstance({
        template: synth.template.toJSON(), assemblyDir: synth.outdir, stackName: synth.stack.stackName,
        apiKey: API_KEY, architecture: 'x86_64',
      });
      await box.shutdown();
      const launched = await launch('gllm-hf-token', s);
      const result = await launched.box.boot(BOOT_MS);
      expect(result.status).not.toBe(0);
      expect(launched.box.bootResult().failure).toEqual({
        phase: 'model', reason: expect.stringMatching(/^could not read the Hugging Face token from SSM parameter \/graviton-llm\/box\/absent-hf-token/),
      });
      // A parameter that does not exist is AWS's final answer: asked once, no download tried (the
      // result says where the model was to come from, not whether a request went out: the log does).
      expect(launched.box.read(BOX_AWS_CALLS_LOG).split('\n').filter((c) => c.includes('absent-hf-token'))).toHaveLength(1);
      expect(bootLog(launched.box)).not.toContain('downloading https://');
      expect(lifecycleActions((await aws.observe()).events, launched.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
      await launched.box.shutdown();
    }, BOOT_MS + 2 * 60 * 1000);

    test('the box\'s namespace routes nowhere but to itself', () => {
      // Asked of the kernel's routing table: no packet is sent.
      const route = (addr: string) => spawnSync('ip', ['-n', aws.netns, 'route', 'get', addr], { encoding: 'utf8' });
      expect(route('169.254.169.254').status).toBe(0);
      expect(route('127.0.0.1').status).toBe(0);
      const outside = route('192.0.2.1');
      expect({ status: outside.status, stderr: outside.stderr.trim() }).toEqual({ status: 2, stderr: expect.stringContaining('unreachable') });
    });
  });
}
