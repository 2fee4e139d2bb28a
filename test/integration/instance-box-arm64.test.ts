/**
 * The instance in a box on arm64: an arm64 Debian 12 root file system booted
 * under qemu-user (registered in binfmt_misc), emulating a Graviton3 core
 * (256-bit SVE) and a Graviton4 core (128-bit SVE2), running the synthesized
 * user data of a stack of that generation's instance type.
 *
 * Nothing compiles under emulation: the S3 cache is filled beforehand with a
 * build cross-compiled on this host with the catalog's flags, under the key
 * the boot program computes in the box. The box shows the CPU check passing,
 * the cache hit, the preflight, and the server serving with the catalog's
 * Q4_0 repack layout. Emulated runs are slow: each profile is one boot,
 * /health and one short completion.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { LLAMA_CPP_REPOSITORY } from '../../lib/catalogs/llama-cpp-release';
import { BOOT_HOOK_NAME } from '../../lib/constructs/inference-fleet';
import { ARCHITECTURES, minimumModelFileBytes } from '../../lib/catalogs/model-architectures';
import { BoxAws, boxUnavailableReason, BoxBootRun, InstanceBox } from '../support/instance-box/box';
import { armProfile, ensureBoxGitRepository, standIns } from '../support/instance-box/stand-ins';
import { s3File, StackInstance, stackInstance } from '../support/instance-box/stack-instance';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource, LlamaCppSource } from '../support/llama-cpp-source';
import { synthWith } from '../support/synth';
import { buildKey as keyOf } from '../../runtime/boot/build/key';
import { boxBuildKeyMaterial } from '../support/instance-box/build-key';
import { ensureTinyQ4Model } from '../support/tiny-model';

const API_KEY = 'box-arm64-api-key-0123456789';
const MODEL_BUCKET = 'box-models';
const MODEL_KEY = 'tiny-q4_0.gguf';
// A cross-compile of llama-server per generation on a cold ccache, then an emulated boot.
const SETUP_MS = 60 * 60 * 1000;
const BOOT_MS = 20 * 60 * 1000;
const CREDENTIAL = '/run/box-credential/api-key';

const G3_FEATURES = 'fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng';
const PROFILES = [
  { generation: 3 as const, instanceType: 'c7g.2xlarge', qemuCpu: 'max,sve256=on', features: G3_FEATURES },
  { generation: 4 as const, instanceType: 'c8g.2xlarge', qemuCpu: 'max,sve128=on', features: `${G3_FEATURES} sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint` },
];

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

if (unavailable) {
  test('arm64 instance box', () => {
    console.log(`arm64 instance box skipped: ${unavailable}`);
    expect(process.env.CI ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe.each(PROFILES)('instance in a box (arm64 under qemu-user, Graviton$generation)', (profile) => {
    const generation = GENERATIONS[profile.generation];
    let source: LlamaCppSource;
    let aws: BoxAws;
    let box: InstanceBox;
    let stack: StackInstance;
    let boot: BoxBootRun;
    let buildKey: string;
    let instanceId: string;
    let scratch: string | undefined;

    beforeAll(async () => {
      source = await ensureLlamaCppSource();
      const model = s3File(MODEL_BUCKET, MODEL_KEY, (await ensureTinyQ4Model(source)).path);
      const synth = synthWith({
        instanceType: profile.instanceType,
        customModel: { source: `s3://${MODEL_BUCKET}/${MODEL_KEY}`, sha256: model.sha256, sizeBytes: Math.max(model.bytes, minimumModelFileBytes(ARCHITECTURES['llama-3.2-1b'], 'Q4_0')), architecture: 'llama-3.2-1b', quantization: 'Q4_0' },
        parallelSlots: 1,
        contextTokensPerSlot: 512,
        bootTimeoutMinutes: 10,
        // The cache is filled beforehand, as a fleet without a builder finds it (the builder: instance-box-builder.test.ts).
        trustedBuilder: false,
      }, { bundle: false });
      const extraObjects: { bucket: string; key: string; file: string }[] = [model];
      const instance = (objects: typeof extraObjects) => stackInstance({
        template: synth.template.toJSON(), assemblyDir: synth.outdir, stackName: synth.stack.stackName,
        apiKey: API_KEY, architecture: 'aarch64', extraObjects: objects,
        // The tiny stand-in model is served under the architecture's name; its real size goes to the boot.
        modelSizeBytes: model.bytes,
      });
      stack = instance(extraObjects);

      const common = standIns({ gitRepository: await ensureBoxGitRepository(source), upstreamRepository: LLAMA_CPP_REPOSITORY, prometheus: false });
      const arm = armProfile(profile.qemuCpu, generation.cpuPart, profile.features);
      aws = await BoxAws.create(`arm${profile.generation}`);
      box = await InstanceBox.create(aws, {
        arch: 'arm64',
        name: `gllm-g${profile.generation}`,
        userData: stack.userData,
        files: [...common.files, ...arm.files],
        binds: common.binds,
        enableUnits: arm.enableUnits,
        initEnvironment: arm.initEnvironment,
      });

      // The key the boot will compute in the box (it names the box's OS and compiler), asked of the boot
      // program's own functions with the box's files and machine.
      const uname = box.runOnce(['uname', '-m']);
      if (uname.status !== 0) throw new Error(`uname -m in the box failed: ${uname.stderr}`);
      const material = await boxBuildKeyMaterial(box.merged, uname.stdout.trim(), stack.bootEnv);
      expect(material).toContain(`arch=aarch64:${generation.armArch}\n`);
      buildKey = keyOf(material);

      // The cache entry as the boot would have written it, from the cross-compiled server.
      const cross = await buildLlamaCpp({ source, spec: { arch: 'aarch64', armArch: generation.armArch }, targets: ['llama-server'] });
      scratch = mkdtempSync(path.join(os.tmpdir(), 'gllm-arm-box-'));
      const stage = path.join(scratch, 'stage');
      mkdirSync(path.join(stage, 'bin'), { recursive: true });
      copyFileSync(cross.binaries['llama-server'], path.join(stage, 'bin', 'llama-server'));
      writeFileSync(path.join(stage, 'manifest.txt'), material);
      const tarball = path.join(scratch, `${buildKey}.tar.gz`);
      const tar = spawnSync('tar', ['-czf', tarball, '-C', stage, '.'], { encoding: 'utf8' });
      if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
      const cacheBucket = stack.bootEnv.GLLM_CACHE_URI.split('/')[2];
      stack = instance([...extraObjects, { bucket: cacheBucket, key: `cache/builds/${buildKey}.tar.gz`, file: tarball }]);
      instanceId = await aws.launchInstance(stack.awsSpec);

      boot = await box.boot(BOOT_MS);
      console.log(`arm64 instance box (Graviton${profile.generation}, QEMU_CPU=${profile.qemuCpu}): boot took ${boot.seconds.toFixed(1)} s, exit ${boot.status}`);
    }, SETUP_MS + BOOT_MS);

    afterAll(async () => {
      await box?.destroy();
      aws?.destroySync();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }, 5 * 60 * 1000);

    test('the machine is arm64, emulated, with the generation\'s CPU part', () => {
      expect(box.exec(['uname', '-m']).stdout.trim()).toBe('aarch64');
      // The boot's CPU check passes only on the configured part, which the stack took from the generation.
      expect(stack.bootEnv.GLLM_CPU_PART).toBe(generation.cpuPart);
      expect(box.bootResult().phases.map((p) => `${p.name} ${p.outcome}`)).toContain('cpu ok');
    });

    test('the build comes from the S3 cache: nothing compiles under emulation', () => {
      expect(box.bootResult().build).toEqual({ key: buildKey, from: 'cache', cacheVersion: { id: expect.any(String), position: 1, of: 1 }, discarded: [] });
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
}
