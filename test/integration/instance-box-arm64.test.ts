/**
 * The instance in a box on arm64: an arm64 Debian 12 root file system booted
 * under qemu-user (registered in binfmt_misc), emulating a Graviton3 core
 * (256-bit SVE) and a Graviton4 core (128-bit SVE2). ONE synthesized stack of
 * both generations (c7g.2xlarge with c8g.2xlarge as an additional type, the
 * trusted builder on: one builder per generation) is booted under each
 * profile: the same launch template user data, whose pins file holds both
 * builders' wait condition Data; each instance's cpu phase picks the
 * generation its CPU part names, and it runs that generation's pinned build.
 *
 * Nothing compiles under emulation, and no builder boots here (the x86 box
 * proves the builder: instance-box-builder.test.ts): the box's S3 is filled
 * beforehand with each generation's build cross-compiled on this host with
 * the catalog's flags, under the key the boot program computes for that
 * generation in the box, and the model, as S3 versions; each builder's
 * handle then holds the signal that builder would have sent, naming those
 * versions, and the launch template's user data is resolved with the wait
 * conditions' Data CloudFormation makes of them. The boxes have no compiler.
 * Emulated runs are slow: each profile is one boot, /health and one short
 * completion.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { LLAMA_CPP_REPOSITORY } from '../../lib/catalogs/llama-cpp-release';
import { BOOT_HOOK_NAME } from '../../lib/constructs/inference-fleet';
import { ARCHITECTURES, minimumModelFileBytes } from '../../lib/catalogs/model-architectures';
import { buildKey as keyOf } from '../../runtime/boot/build/key';
import { buildCacheRel, modelCacheRel } from '../../runtime/boot/cache/keys';
import { INSTANCE_FILES } from '../../runtime/boot/layout';
import { parsePins, type PinnedObject, type Pins, pinsData, PINS_VERSION } from '../../runtime/boot/pins';
import { BoxAws, boxUnavailableReason, BoxBootRun, InstanceBox } from '../support/instance-box/box';
import { boxBuildKeyMaterial } from '../support/instance-box/build-key';
import { ensureRootfs, WITHOUT_BUILD_TOOLS } from '../support/instance-box/rootfs';
import { armProfile, ensureBoxGitRepository, standIns } from '../support/instance-box/stand-ins';
import { handleArn, type PinsWaitCondition, pinsWaitConditions, s3File, StackInstance, type StackInstanceOptions, stackInstance } from '../support/instance-box/stack-instance';
import type { HandlePut, WaitConditionSignal } from '../support/instance-box/wait-condition';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';
import { synthWith } from '../support/synth';
import { ensureTinyQ4Model } from '../support/tiny-model';

const API_KEY = 'box-arm64-api-key-0123456789';
const MODEL_BUCKET = 'box-models';
const MODEL_KEY = 'tiny-q4_0.gguf';
// A cross-compile of llama-server per generation on a cold ccache.
const SETUP_MS = 60 * 60 * 1000;
const BOOT_MS = 20 * 60 * 1000;
const CREDENTIAL = '/run/box-credential/api-key';
const BOOT_LOG = '/var/log/graviton-llm/boot.log';
const USER_DATA = '/var/lib/cloud/instance/user-data.txt';

const G3_FEATURES = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng';
/** The stack's types, the first's generation first: the group may launch either. */
const INSTANCE_TYPE = 'c7g.2xlarge';
const ADDITIONAL_TYPES = ['c8g.2xlarge'];
const PROFILES = [
  { generation: 3 as const, qemuCpu: 'max,sve256=on', features: G3_FEATURES },
  { generation: 4 as const, qemuCpu: 'max,sve128=on', features: `${G3_FEATURES} sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint` },
];
const CONFIGURED = PROFILES.map((p) => GENERATIONS[p.generation].name).join(', ');

/** The UniqueId a generation's builder signals with: its EC2 instance id (runtime/boot/adapters/wait-condition-reporter.ts). */
const builderInstanceId = (generation: number) => `i-0b0117de00000000${generation}`;

/** The PUT a generation's builder makes to its handle's URL: SUCCESS with its report as Data. */
function builderSignal(region: string, stackName: string, wait: PinsWaitCondition, data: string): HandlePut {
  const signal: WaitConditionSignal = { Status: 'SUCCESS', Reason: 'build and model published', UniqueId: builderInstanceId(wait.generation), Data: data };
  return { handle: handleArn(region, stackName, wait.handle), body: JSON.stringify(signal) };
}

function unavailableReason(): string | undefined {
  const base = boxUnavailableReason();
  if (base) return base;
  const registered = spawnSync('sh', ['-c', 'grep -qs "^flags: .*F" /proc/sys/fs/binfmt_misc/qemu-aarch64'], { encoding: 'utf8' });
  if (registered.status !== 0) {
    return 'qemu-aarch64 is not registered in binfmt_misc with the F flag: apt-get install qemu-user-static binfmt-support (tools/dev/install-and-test.sh does)';
  }
  return undefined;
}

const unavailable = unavailableReason();

/** One profile's boot: its box, the launch it is, and when its user data started (epoch seconds). */
interface ProfileRun {
  readonly box: InstanceBox;
  readonly boot: BoxBootRun;
  readonly instanceId: string;
  readonly userDataStarted: number;
}

if (unavailable) {
  test('arm64 instance box', () => {
    console.log(`arm64 instance box skipped: ${unavailable}`);
    expect(process.env.CI ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe('one template of two generations, in boxes under qemu-user (Graviton3 and Graviton4 CPU profiles)', () => {
    let aws: BoxAws;
    let stack: StackInstance;
    let common: ReturnType<typeof standIns>;
    let firstInstanceId: string;
    let scratch: string | undefined;
    /** Each generation's build key (computed for the box as the boot will) and the pins its builder reports. */
    const keys = new Map<number, string>();
    const pinned = new Map<number, Pins>();
    const runs = new Map<number, ProfileRun>();

    beforeAll(async () => {
      const source = await ensureLlamaCppSource();
      const model = s3File(MODEL_BUCKET, MODEL_KEY, (await ensureTinyQ4Model(source)).path);
      const synth = synthWith({
        instanceType: INSTANCE_TYPE,
        additionalInstanceTypes: ADDITIONAL_TYPES,
        customModel: { source: `s3://${MODEL_BUCKET}/${MODEL_KEY}`, sha256: model.sha256, sizeBytes: Math.max(model.bytes, minimumModelFileBytes(ARCHITECTURES['llama-3.2-1b'], 'Q4_0')), architecture: 'llama-3.2-1b', quantization: 'Q4_0' },
        parallelSlots: 1,
        contextTokensPerSlot: 512,
        bootTimeoutMinutes: 10,
        // trustedBuilder: the default (on), one builder per generation.
      }, { bundle: false });
      const options: StackInstanceOptions = {
        template: synth.template.toJSON(), assemblyDir: synth.outdir, stackName: synth.stack.stackName,
        apiKey: API_KEY, architecture: 'aarch64', extraObjects: [model],
        // The tiny stand-in model is served under the architecture's name; its real size goes to the boot.
        modelSizeBytes: model.bytes,
      };
      const waits = pinsWaitConditions(options.template);
      expect(waits.map((w) => w.generation)).toEqual(PROFILES.map((p) => p.generation));
      // What the stack makes in AWS (buckets, parameters, the group) does not depend on the wait conditions' Data,
      // which only the user data reads: resolved with stand-in signals, to make the buckets the builds go in first.
      const staging = stackInstance({ ...options, handlePuts: waits.map((w) => builderSignal('us-east-1', options.stackName, w, '{}')) });
      const [cacheBucket, cachePrefix] = staging.bootEnv.GLLM_CACHE_URI.replace(/^s3:\/\//, '').split(/\/(.*)/);
      expect(staging.bootEnv).toMatchObject({ GLLM_GENERATION: '3,4', GLLM_CPU_PART: PROFILES.map((p) => GENERATIONS[p.generation].cpuPart).join(',') });

      // Each generation's build as its builder would have published it, cross-compiled here; its key the one the boot
      // will compute in the box (it names the box's OS and compiler, read from the root file system, and the generation's -march).
      const rootfs = await ensureRootfs('arm64');
      scratch = mkdtempSync(path.join(os.tmpdir(), 'gllm-arm-box-'));
      const cacheObjects = [{ bucket: cacheBucket, key: `${cachePrefix}/${modelCacheRel(model.sha256)}`, file: model.file }];
      for (const profile of PROFILES) {
        const generation = GENERATIONS[profile.generation];
        const material = await boxBuildKeyMaterial(rootfs, 'aarch64', staging.bootEnv, generation.armArch);
        expect(material).toContain(`arch=aarch64:${generation.armArch}\n`);
        const key = keyOf(material);
        keys.set(profile.generation, key);
        const cross = await buildLlamaCpp({ source, spec: { arch: 'aarch64', armArch: generation.armArch }, targets: ['llama-server'] });
        const stage = path.join(scratch, `stage-${profile.generation}`);
        mkdirSync(path.join(stage, 'bin'), { recursive: true });
        copyFileSync(cross.binaries['llama-server'], path.join(stage, 'bin', 'llama-server'));
        writeFileSync(path.join(stage, 'manifest.txt'), material);
        const tarball = path.join(scratch, `${key}.tar.gz`);
        const tar = spawnSync('tar', ['-czf', tarball, '-C', stage, '.'], { encoding: 'utf8' });
        if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
        cacheObjects.push({ bucket: cacheBucket, key: `${cachePrefix}/${buildCacheRel(key)}`, file: tarball });
      }

      common = standIns({ gitRepository: await ensureBoxGitRepository(source), upstreamRepository: LLAMA_CPP_REPOSITORY, prometheus: false });
      aws = await BoxAws.create('arm');
      // The first profile's launch; it also makes the stack's buckets and puts the builds and the model as new versions.
      firstInstanceId = await aws.launchInstance({ ...staging.awsSpec, objects: [...staging.awsSpec.objects, ...cacheObjects] });
      const versions = await aws.objectVersions(cacheBucket);
      const pinOf = (rel: string): PinnedObject => {
        const found = versions.filter((v) => v.key === `${cachePrefix}/${rel}`);
        if (found.length !== 1) throw new Error(`expected one version of ${rel} in ${cacheBucket}, found ${found.length}`);
        return { object: rel, versionId: found[0].versionId, sha256: found[0].sha256 };
      };
      const puts = waits.map((w) => {
        const key = keys.get(w.generation)!;
        const pins: Pins = { version: PINS_VERSION, buildKey: key, build: pinOf(buildCacheRel(key)), model: pinOf(modelCacheRel(model.sha256)) };
        pinned.set(w.generation, pins);
        return builderSignal(staging.region, options.stackName, w, pinsData(pins));
      });
      stack = stackInstance({ ...options, handlePuts: puts });
      console.log(`arm64 instance box: build keys ${PROFILES.map((p) => `Graviton${p.generation} ${keys.get(p.generation)}`).join(', ')}`);
    }, SETUP_MS);

    afterAll(async () => {
      for (const r of runs.values()) await r.box.destroy();
      aws?.destroySync();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }, 5 * 60 * 1000);

    describe.each(PROFILES)('booted as Graviton$generation', (profile) => {
      const generation = GENERATIONS[profile.generation];
      let box: InstanceBox;
      let boot: BoxBootRun;
      let instanceId: string;

      beforeAll(async () => {
        // One instance at a time: the IMDS stand-in answers as the last launched.
        for (const r of runs.values()) await r.box.shutdown();
        instanceId = runs.size === 0 ? firstInstanceId : await aws.launchInstance({ ...stack.awsSpec, objects: [] });
        const arm = armProfile(profile.qemuCpu, generation.cpuPart, profile.features);
        box = await InstanceBox.create(aws, {
          arch: 'arm64',
          name: `gllm-g${profile.generation}`,
          userData: stack.userData,
          files: [...common.files, ...arm.files],
          binds: common.binds,
          enableUnits: arm.enableUnits,
          initEnvironment: arm.initEnvironment,
          // An image without a compiler: the pinned build is the only one this instance can run.
          removePaths: WITHOUT_BUILD_TOOLS,
        });
        boot = await box.boot(BOOT_MS);
        const userDataStarted = Number(box.read('/var/lib/box/user-data-started'));
        runs.set(profile.generation, { box, boot, instanceId, userDataStarted });
        const result = box.bootResult();
        const action = result.report?.lifecycleActions.find((a) => a.hook === BOOT_HOOK_NAME && a.outcome === 'completed');
        // Under qemu-user the unit's credential fails (below), so the hook is abandoned at health: the health phase's
        // start is where an instance whose unit starts goes on to CONTINUE.
        const health = result.phases.find((p) => p.name === 'health');
        const since = (ms: number | undefined) => (ms === undefined ? '(none)' : `${(ms / 1000 - userDataStarted).toFixed(1)} s`);
        console.log(`arm64 instance box (Graviton${profile.generation}, QEMU_CPU=${profile.qemuCpu}): boot exit ${boot.status} in ${boot.seconds.toFixed(1)} s; `
          + `user data to the health phase ${since(health?.startedAtMs)}, to lifecycle ${action?.result ?? 'action'} ${since(action?.atMs)}; build ${result.build?.key}`);
      }, BOOT_MS + 5 * 60 * 1000);

      test(`the machine is arm64, emulated, and the cpu phase picks Graviton${profile.generation} by its CPU part (${generation.cpuPart})`, () => {
        expect(box.exec(['uname', '-m']).stdout.trim()).toBe('aarch64');
        expect(box.bootResult().phases.map((p) => `${p.name} ${p.outcome}`)).toContain('cpu ok');
        expect(box.read(BOOT_LOG)).toContain(`CPU part ${generation.cpuPart} matches Graviton${profile.generation} of the configured ${CONFIGURED}: its build (-march=${generation.armArch})`);
      });

      test(`it runs Graviton${profile.generation}'s pinned build: no compiler, no compile, nothing written to S3`, async () => {
        const pins = pinned.get(profile.generation)!;
        const result = box.bootResult();
        expect(result.build).toEqual({ key: keys.get(profile.generation), from: 'pinned', cacheVersion: null, discarded: [] });
        expect(result).toMatchObject({ model: { source: 'pinned' }, cacheWrites: [], published: [] });
        expect(box.read(BOOT_LOG)).toContain(`pinned by ${INSTANCE_FILES.pins} (graviton${profile.generation}): build ${pins.build.object} version ${pins.build.versionId}`);
        expect(box.exists(`/opt/graviton-llm/llama.cpp/${pins.buildKey}/bin/llama-server`)).toBe(true);
        expect(box.exists('/usr/bin/g++')).toBe(false);
        expect(['apt.log', 'dnf.log', 'build.log'].filter((l) => box.exists(`/var/log/graviton-llm/${l}`))).toEqual([]);
      });

      test('the preflight runs the arm64 server with its arguments', () => {
        expect(box.bootResult().phases.map((p) => `${p.name} ${p.outcome}`)).toContain('preflight ok');
        expect(/^ExecStart=(.*)$/m.exec(box.read('/etc/systemd/system/graviton-llm.service'))![1]).toContain(' --load-mode mmap+mlock');
      });

      test('the unit serves, or systemd under qemu-user cannot set up its credential (proven in the x86 box instead)', async () => {
        // The group's own hook (the boot also asks for the hook of earlier kit versions, which this group lacks).
        const actions = (await aws.observe()).events.filter((e) => e.api === 'CompleteLifecycleAction' && e.instanceId === instanceId && e.hook === BOOT_HOOK_NAME);
        const result = box.bootResult();
        if (boot.status === 0) {
          expect(result.failure).toBeNull();
          expect(box.unitProperties('graviton-llm.service', ['ActiveState']).ActiveState).toBe('active');
          expect(actions.map((a) => a.result)).toEqual(['CONTINUE']);
          expect(result.report!.lifecycleActions[0]).toMatchObject({ hook: BOOT_HOOK_NAME, result: 'CONTINUE', outcome: 'completed' });
          return;
        }
        // Evidence of the emulation's limit: systemd's own words, quoted by the boot's failure reason.
        expect(result.failure?.phase).toBe('health');
        const reason = result.failure!.reason;
        console.log(`arm64 instance box (Graviton${profile.generation}): the unit could not start under emulation: ${reason.slice(0, 400)}`);
        expect(reason).toContain('llama-server exited before it was healthy');
        expect(reason).toMatch(/Failed to set up credentials|243\/CREDENTIALS/);
        expect(actions.map((a) => a.result)).toEqual(['ABANDON']);
        expect(result.report!.lifecycleActions[0]).toMatchObject({ hook: BOOT_HOOK_NAME, result: 'ABANDON', outcome: 'completed' });
      });

      describe('the server, started with the unit\'s own ExecStart as the service user', () => {
        const port = () => stack.bootEnv.GLLM_PORT;

        beforeAll(async () => {
          if (boot.status === 0) return;
          // The credential systemd would have made, readable by the service user only.
          const unit = box.read('/etc/systemd/system/graviton-llm.service');
          const argv = /^ExecStart=(.*)$/m.exec(unit)![1].split(' ').map((a) => (a === '%d/api-key' ? CREDENTIAL : a.replace(/%%/g, '%')));
          for (const cmd of [
            ['install', '-d', '-o', 'llama', '-g', 'llama', '-m', '0700', path.dirname(CREDENTIAL)],
            ['install', '-o', 'llama', '-g', 'llama', '-m', '0400', '/etc/graviton-llm/api-key', CREDENTIAL],
            // Its argv unchanged; debug logging (which carries the repack lines) through llama.cpp's environment.
            ['systemd-run', '--unit=box-llama-server', '--quiet', '--property=User=llama', '--property=Group=llama', '--setenv=LLAMA_ARG_LOG_VERBOSITY=5',
              '--property=StandardOutput=file:/var/log/box-llama-server.log', '--property=StandardError=inherit', ...argv],
          ]) {
            const r = box.exec(cmd);
            if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
          }
          for (let i = 0; i < 240; i++) {
            if ((await aws.http(`http://127.0.0.1:${port()}/health`)).status === 200) return;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }, 5 * 60 * 1000);

        const serverLog = () => box.read(boot.status === 0 ? '/var/log/graviton-llm/server.log' : '/var/log/box-llama-server.log');

        test('runs as llama, answers /health, and a short completion with the key', async () => {
          expect((await aws.http(`http://127.0.0.1:${port()}/health`)).status).toBe(200);
          const body = JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
          expect((await aws.http(`http://127.0.0.1:${port()}/v1/chat/completions`, { body })).status).toBe(401);
          const ok = await aws.http(`http://127.0.0.1:${port()}/v1/chat/completions`, { body, headers: { Authorization: `Bearer ${API_KEY}` } });
          expect(ok.status).toBe(200);
          expect(JSON.parse(ok.body).usage.completion_tokens).toBeGreaterThan(0);
          const unit = boot.status === 0 ? 'graviton-llm.service' : 'box-llama-server.service';
          const pid = box.unitProperties(unit, ['MainPID']).MainPID;
          expect(box.exec(['ps', '-o', 'user=', '-p', pid]).stdout.trim()).toBe('llama');
        });

        test(`repacks Q4_0 weights into the catalog's layout for Graviton${profile.generation} (${generation.q4_0Repack})`, () => {
          expect(serverLog()).toMatch(new RegExp(`repack: repack tensor blk\\.0\\.attn_q\\.weight with ${generation.q4_0Repack}\\b`));
        });
      });
    });

    test('both boots ran the same user data (one template) and each took its own generation\'s build from the one pins file', () => {
      const [g3, g4] = PROFILES.map((p) => runs.get(p.generation)!);
      expect(g3.box.read(USER_DATA)).toBe(stack.userData);
      expect(g4.box.read(USER_DATA)).toBe(stack.userData);
      expect(g4.box.read(INSTANCE_FILES.pins)).toBe(g3.box.read(INSTANCE_FILES.pins));
      const parsed = parsePins(INSTANCE_FILES.pins, g3.box.read(INSTANCE_FILES.pins));
      expect(parsed.ok && Object.fromEntries(parsed.pins)).toEqual(Object.fromEntries(pinned));
      // Different builds: another key (the -march is in it), another object.
      expect(keys.get(3)).not.toBe(keys.get(4));
      expect(PROFILES.map((p) => runs.get(p.generation)!.box.bootResult().build?.key)).toEqual(PROFILES.map((p) => keys.get(p.generation)));
      expect(new Set([...pinned.values()].map((p) => p.build.object)).size).toBe(2);
    });
  });
}
