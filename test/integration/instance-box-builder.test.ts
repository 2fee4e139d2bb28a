/**
 * The trusted builder in the instance box (docs/design/trusted-builder.md):
 * the builder's synthesized user data (the stack's AWS::EC2::Instance) runs
 * against the box's AWS, compiles, publishes the build and the model as new
 * S3 versions and signals its wait condition handle; the fleet's user data is
 * then resolved with the Data CloudFormation would make of that signal, and
 * fleet instances boot from an image without a compiler: exactly the pinned
 * versions, whatever else the bucket holds, or a failed boot when a pinned
 * version is gone.
 *
 * In order, one stack: the builder; a fleet instance; a fleet instance after
 * later versions were planted; a fleet instance after the pinned build's
 * version was deleted.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { LLAMA_CPP_REPOSITORY } from '../../lib/catalogs/llama-cpp-release';
import { BOOT_HOOK_NAME, LEGACY_BOOT_HOOK_NAMES } from '../../lib/constructs/inference-fleet';
import { INSTANCE_FILES } from '../../runtime/boot/layout';
import { type Pins, parsePins } from '../../runtime/boot/pins';
import { BOX_AWS_CALLS_LOG, BoxAws, type BoxBootRun, type BoxEvent, type BoxObservation, boxUnavailableReason, InstanceBox } from '../support/instance-box/box';
import { boxStackOptions } from '../support/instance-box/box-stack';
import { WITHOUT_BUILD_TOOLS } from '../support/instance-box/rootfs';
import { builderInstance, handleArn, type S3File, s3File, type StackInstance, type StackInstanceOptions, stackInstance } from '../support/instance-box/stack-instance';
import { ensureBoxGitRepository, standIns } from '../support/instance-box/stand-ins';
import { parseSignal } from '../support/instance-box/wait-condition';
import { cacheRoot, ensureLlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyQ4Model } from '../support/tiny-model';

const API_KEY = 'box-api-key-0123456789abcdef';
const MODEL_BUCKET = 'box-models';
// The builder compiles llama-server in the box on however few cores the machine has.
const BUILDER_MS = 45 * 60 * 1000;
const BOOT_MS = 5 * 60 * 1000;
/** In a planted build and a planted model: found anywhere on a fleet instance, the planted objects were used. */
const PLANTED_MARKER = 'planted-by-a-fleet-instance';
/** The builder's end (lib/boot/trampoline.sh): its InstanceInitiatedShutdownBehavior makes it a termination. */

const synthesized = (model: S3File) => boxStackOptions(model, API_KEY);

/** The logical id of the template's one resource of `type`, or undefined where it has none. */
function logicalIdOf(template: any, type: string): string | undefined {
  const ids = Object.keys(template.Resources).filter((id) => template.Resources[id].Type === type);
  if (ids.length > 1) throw new Error(`expected at most one ${type}, found ${ids.join(', ')}`);
  return ids[0];
}

const lifecycleActions = (events: BoxEvent[], instanceId: string) =>
  events.filter((e) => e.api === 'CompleteLifecycleAction' && e.instanceId === instanceId && e.hook === BOOT_HOOK_NAME);
const bootFailures = (o: BoxObservation) => o.metrics.find((m) => m.name === 'BootFailure')?.sum ?? 0;
/** A box's AWS CLI calls (each line the arguments, the request bounds first). */
const cliCalls = (box: InstanceBox) => box.read(BOX_AWS_CALLS_LOG).split('\n').filter(Boolean);
/** Those that wrote to S3: an s3api write, or an upload of a local file (the publisher's path over 5 GiB); a skeleton sends no request. */
const s3Writes = (box: InstanceBox) => cliCalls(box).filter((c) => !c.includes('--generate-cli-skeleton')).filter((c) => /\bs3api (put-object|copy-object|upload-part|create-multipart-upload) /.test(c) || /\bs3 (cp|mv|sync) .*\/\S+ s3:\/\//.test(c));
/** Those that read a cache object. */
const s3Reads = (box: InstanceBox) => cliCalls(box).filter((c) => c.includes(' s3api get-object '));

const unavailable = boxUnavailableReason();
const probe = unavailable ? undefined : synthesized(s3File(MODEL_BUCKET, 'probe.gguf', __filename));
const noBuilder = probe && !logicalIdOf(probe.template, 'AWS::CloudFormation::WaitCondition')
  ? 'the synthesized stack has no builder (AWS::CloudFormation::WaitCondition): the lib side of the trusted builder is not merged'
  : undefined;
const skipReason = unavailable ?? noBuilder;

if (skipReason) {
  test('the trusted builder in the instance box', () => {
    console.log(`instance box builder skipped: ${skipReason}`);
    // CI runs as root with .ci/setup's packages: there the box must run.
    expect(process.env.CI && unavailable ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe('the trusted builder in a box (x86_64, systemd 252)', () => {
    let aws: BoxAws;
    let good: S3File;
    let options: StackInstanceOptions;
    let builder: StackInstance;
    let builderBox: InstanceBox;
    let builderId: string;
    let builderRun: BoxBootRun;
    let common: ReturnType<typeof standIns>;
    let cacheBucket: string;
    let cachePrefix: string;
    const boxes: InstanceBox[] = [];

    async function launch(name: string, s: StackInstance, removePaths: readonly string[] = []): Promise<{ box: InstanceBox; instanceId: string }> {
      const id = await aws.launchInstance(s.awsSpec);
      const b = await InstanceBox.create(aws, {
        arch: 'amd64', name, userData: s.userData, cloudInitEnvironment: { GLLM_TEST_BOX_ALLOW_X86: '1' },
        files: common.files, binds: common.binds, removePaths,
      });
      boxes.push(b);
      return { box: b, instanceId: id };
    }

    /** The builder's one signal and the report it carries. */
    async function theSignal() {
      const observed = await aws.observe();
      const handle = handleArn(builder.region, options.stackName, logicalIdOf(options.template, 'AWS::CloudFormation::WaitConditionHandle')!);
      const puts = observed.handlePuts.filter((p) => p.handle === handle);
      return { observed, puts, signal: puts.length === 1 ? parseSignal(puts[0].body) : undefined };
    }

    /** The fleet's user data, resolved with the Data CloudFormation makes of the builder's signal. */
    async function fleet(): Promise<StackInstance> {
      return stackInstance({ ...options, handlePuts: (await aws.observe()).handlePuts });
    }

    /** The pins of the stack's one generation (the box's x86_64 takes the first configured). */
    function pinsOf(s: StackInstance): Pins {
      const parsed = parsePins(INSTANCE_FILES.pins, pinsFileText(s));
      if (!parsed.ok) throw new Error(parsed.problem);
      const all = [...parsed.pins.values()];
      if (all.length !== 1) throw new Error(`the box's stack has one generation, but its pins file holds ${all.length}`);
      return all[0];
    }

    /** What the fleet's user data writes into the pins file (from base64, as the template has it). */
    function pinsFileText(s: StackInstance): string {
      const m = new RegExp(`^echo '([A-Za-z0-9+/=]+)' \\| base64 -d .*${INSTANCE_FILES.pins.replace(/\./g, '\\.')}`, 'm').exec(s.userData);
      if (!m) throw new Error(`the fleet's user data writes no ${INSTANCE_FILES.pins} from base64:\n${s.userData.slice(0, 3000)}`);
      return Buffer.from(m[1], 'base64').toString('utf8');
    }

    /** Boots a fleet instance from an image without build tools; its run, result and what AWS saw. */
    async function fleetBoot(name: string) {
      for (const b of boxes) await b.shutdown();
      const before = await aws.observe();
      const s = await fleet();
      const launched = await launch(name, s, WITHOUT_BUILD_TOOLS);
      expect(launched.box.exists('/usr/bin/g++')).toBe(false);
      const run = await launched.box.boot(BOOT_MS);
      const observed = await aws.observe();
      const started = Number(launched.box.read('/var/lib/box/user-data-started'));
      return { ...launched, s, run, before, observed, started, result: launched.box.bootResult() };
    }

    const versionsIn = () => aws.objectVersions(cacheBucket);

    beforeAll(async () => {
      const source = await ensureLlamaCppSource();
      good = s3File(MODEL_BUCKET, 'tiny-q4_0.gguf', (await ensureTinyQ4Model(source)).path);
      common = standIns({ gitRepository: await ensureBoxGitRepository(source), upstreamRepository: LLAMA_CPP_REPOSITORY, prometheus: true });
      aws = await BoxAws.create('builder');
      options = synthesized(good);
      builder = builderInstance(options);
      [cacheBucket, cachePrefix] = builder.bootEnv.GLLM_CACHE_URI.replace(/^s3:\/\//, '').split(/\/(.*)/);
      builderId = await aws.launchInstance(builder.awsSpec);
      builderBox = await InstanceBox.create(aws, {
        arch: 'amd64', name: 'gllm-builder', userData: builder.userData, cloudInitEnvironment: { GLLM_TEST_BOX_ALLOW_X86: '1' },
        files: common.files, binds: common.binds,
      });
      boxes.push(builderBox);
      builderRun = await builderBox.boot(BUILDER_MS, { mayPowerOff: true });
      const started = Number(builderBox.read('/var/lib/box/user-data-started'));
      const { observed, puts } = await theSignal();
      const signalled = observed.events.find((e) => e.api === 'WaitConditionSignal' && e.error === undefined)?.time as number | undefined;
      console.log(`instance box: builder, user data to the signal (compile included): ${signalled ? (signalled - started).toFixed(1) : '(no signal)'} s; `
        + `${puts.length} signal(s); boot exit ${builderRun.status}, powered off ${builderRun.poweredOff}`);
    }, BUILDER_MS + 10 * 60 * 1000);

    afterAll(async () => {
      for (const b of boxes) await b.destroy();
      aws?.destroySync();
    }, 5 * 60 * 1000);

    describe('the builder', () => {
      test('its user data is the fleet\'s boot environment as a builder, with the handle\'s URL in a file of its own', () => {
        expect(builder.bootEnv).toMatchObject({ GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: INSTANCE_FILES.builderSignal });
        expect(builder.bootEnv.GLLM_PINS_FILE).toBeUndefined();
        // The URL holds `&`: written by the user data from a quoted heredoc, read by the program as it is.
        const url = builderBox.read(INSTANCE_FILES.builderSignal).trim();
        expect(url).toContain('&');
        expect(decodeURIComponent(new URL(url).pathname.slice(1))).toBe(handleArn(builder.region, options.stackName, logicalIdOf(options.template, 'AWS::CloudFormation::WaitConditionHandle')!));
      });

      test('it compiled, published the build and the model as new versions, and wrote nothing else', async () => {
        const result = builderBox.bootResult();
        expect({ role: result.role, failure: result.failure }).toEqual({ role: 'builder', failure: null });
        expect(result.phases.map((p) => `${p.name} ${p.outcome}`)).toEqual(['config', 'deps', 'agent', 'cpu', 'build', 'model', 'report'].map((p) => `${p} ok`));
        expect(result.build).toMatchObject({ from: 'compile' });
        expect(result.published).toEqual([
          { what: 'build', object: `builds/${result.build!.key}.tar.gz`, versionId: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
          { what: 'model', object: `models/${good.sha256}.gguf`, versionId: expect.any(String), sha256: good.sha256 },
        ]);
        // No group holds it and no creation policy waits on it: no lifecycle action, no resource signal.
        const { events } = await aws.observe();
        expect(events.filter((e) => ['CompleteLifecycleAction', 'SignalResource'].includes(e.api) && (e.instanceId === builderId || e.uniqueId === builderId))).toEqual([]);
        expect(result.report).toMatchObject({ lifecycleActions: [], signal: { status: 'SUCCESS', outcome: 'sent' } });
        // Its two writes, as the calls the fleet instances below are checked to make none of.
        expect(s3Writes(builderBox)).toEqual([expect.stringContaining(`--key ${cachePrefix}/builds/`), expect.stringContaining(`--key ${cachePrefix}/models/`)]);
      });

      test('it signalled SUCCESS once, as the instance, with its report as Data; the versions it names are in S3 with those SHA-256s', async () => {
        const { puts, signal } = await theSignal();
        expect(puts).toHaveLength(1);
        expect(signal).toEqual({ Status: 'SUCCESS', Reason: 'build and model published', UniqueId: builderId, Data: expect.any(String) });
        const report = JSON.parse(signal!.Data) as Pins;
        const result = builderBox.bootResult();
        expect(report).toEqual({
          version: 1,
          buildKey: result.build!.key,
          build: { object: result.published[0].object, versionId: result.published[0].versionId, sha256: result.published[0].sha256 },
          model: { object: result.published[1].object, versionId: result.published[1].versionId, sha256: good.sha256 },
        });
        const versions = await versionsIn();
        for (const pin of [report.build, report.model]) {
          expect(versions.filter((v) => v.key === `${cachePrefix}/${pin.object}` && v.versionId === pin.versionId).map((v) => v.sha256)).toEqual([pin.sha256]);
        }
      });

      test('it shut itself down after its report (terminated, by its shutdown behaviour)', async () => {
        expect(builderRun.poweredOff || await builderBox.poweredOff(2 * 60 * 1000)).toBe(true);
        expect(builderBox.read('/var/log/graviton-llm/boot.log').length).toBeGreaterThan(0);
      }, 3 * 60 * 1000);
    });

    describe('fleet instances, from an image without a compiler', () => {
      let pins: Pins;

      test('one serves exactly the pinned versions: no compile, no download, nothing written to S3', async () => {
        const f = await fleetBoot('gllm-fleet');
        pins = pinsOf(f.s);
        // The wait condition's Data under the stack's one generation.
        expect(pinsFileText(f.s)).toBe(JSON.stringify({ [`graviton${f.s.bootEnv.GLLM_GENERATION}`]: { [builderId]: (await theSignal()).signal!.Data } }));
        expect(f.s.bootEnv.GLLM_PINS_FILE).toBe(INSTANCE_FILES.pins);
        expect({ status: f.run.status, output: f.run.output.slice(-1500) }).toEqual({ status: 0, output: expect.any(String) });
        expect(f.result).toMatchObject({ role: 'fleet', failure: null, build: { key: pins.buildKey, from: 'pinned', cacheVersion: null, discarded: [] }, model: { source: 'pinned' }, cacheWrites: [], published: [] });
        expect(f.box.read(INSTANCE_FILES.pins)).toBe(pinsFileText(f.s));
        expect(f.box.exec(['stat', '-c', '%a %U', INSTANCE_FILES.pins]).stdout.trim()).toBe('644 root');
        // Nothing installed or compiled: no package manager ran, no build directory.
        expect(['apt.log', 'dnf.log', 'build.log'].filter((l) => f.box.exists(`/var/log/graviton-llm/${l}`))).toEqual([]);
        expect(s3Writes(f.box)).toEqual([]);
        expect(f.observed.versions[cacheBucket]).toEqual(f.before.versions[cacheBucket]);
        expect(lifecycleActions(f.observed.events, f.instanceId)).toEqual([expect.objectContaining({ result: 'CONTINUE' })]);
        expect((await aws.http(`http://127.0.0.1:${f.s.bootEnv.GLLM_PORT}/health`)).status).toBe(200);
        const continued = f.result.report!.lifecycleActions.find((a) => a.hook === BOOT_HOOK_NAME && a.outcome === 'completed')!.atMs / 1000;
        console.log(`instance box: pinned fleet instance, user data to lifecycle CONTINUE: ${(continued - f.started).toFixed(1)} s`);
        await f.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);

      test('later versions planted in the bucket are not run: exactly the pinned versions, no marker anywhere', async () => {
        const buildKey = `${cachePrefix}/${pins.build.object}`;
        const modelKey = `${cachePrefix}/${pins.model.object}`;
        // A build that passes every check and serves (the real server), marked; a model with a marker appended.
        const work = path.join(cacheRoot(), 'box', 'planted-build');
        spawnSync('rm', ['-rf', work]);
        mkdirSync(work, { recursive: true });
        const installed = path.join(boxes[boxes.length - 1].dir, 'upper', 'opt', 'graviton-llm', 'llama.cpp', pins.buildKey);
        expect(spawnSync('cp', ['-a', `${installed}/.`, work]).status).toBe(0);
        writeFileSync(path.join(work, PLANTED_MARKER), 'planted\n');
        expect(spawnSync('mv', [path.join(work, 'bin', 'llama-server'), path.join(work, 'bin', 'llama-server.real')]).status).toBe(0);
        writeFileSync(path.join(work, 'bin', 'llama-server'), `#!/bin/sh\ntouch /tmp/${PLANTED_MARKER}\nexec "$0.real" "$@"\n`, { mode: 0o755 });
        const tarball = `${work}.tar.gz`;
        expect(spawnSync('tar', ['-czf', tarball, '-C', work, '.']).status).toBe(0);
        const plantedModel = path.join(cacheRoot(), 'box', 'planted-model.gguf');
        copyFileSync(good.file, plantedModel);
        appendFileSync(plantedModel, PLANTED_MARKER);
        await aws.putObject(cacheBucket, buildKey, tarball);
        await aws.putObject(cacheBucket, modelKey, plantedModel);
        const latest = (await versionsIn()).filter((v) => v.isLatest && [buildKey, modelKey].includes(v.key));
        expect(latest.map((v) => v.versionId)).not.toContain(pins.build.versionId);
        expect(latest.map((v) => v.versionId)).not.toContain(pins.model.versionId);

        const f = await fleetBoot('gllm-planted');
        expect(f.run.status).toBe(0);
        expect(f.result).toMatchObject({ failure: null, build: { key: pins.buildKey, from: 'pinned' }, model: { source: 'pinned' }, cacheWrites: [] });
        // The versions it read, by id (the CLI calls it made).
        const reads = s3Reads(f.box);
        expect(reads).toEqual(expect.arrayContaining([
          expect.stringContaining(`--version-id ${pins.build.versionId}`), expect.stringContaining(`--version-id ${pins.model.versionId}`),
        ]));
        expect(reads.filter((c) => !c.includes('--version-id'))).toEqual([]);
        const found = spawnSync('grep', ['-rl', '--binary-files=text', PLANTED_MARKER, path.join(f.box.dir, 'upper')], { encoding: 'utf8' });
        expect(found.stdout.trim()).toBe('');
        const served = f.box.exec(['sha256sum', `/var/lib/graviton-llm/models/${f.s.bootEnv.GLLM_MODEL_FILE}`]).stdout.split(' ')[0];
        expect(served).toBe(pins.model.sha256);
        expect((await aws.http(`http://127.0.0.1:${f.s.bootEnv.GLLM_PORT}/health`)).status).toBe(200);
        expect(f.box.exists(`/tmp/${PLANTED_MARKER}`)).toBe(false);
        await f.box.shutdown();
      }, BOOT_MS + 3 * 60 * 1000);

      test('the pinned build\'s version deleted: the boot fails at once naming the key and version, and reports it', async () => {
        await aws.deleteObjectVersion(cacheBucket, `${cachePrefix}/${pins.build.object}`, pins.build.versionId);
        const f = await fleetBoot('gllm-deleted');
        console.log(`instance box: pinned version gone, the boot failed in ${f.run.seconds.toFixed(1)} s`);
        expect(f.run.status).not.toBe(0);
        expect(f.result.failure).toEqual({
          phase: 'build',
          reason: expect.stringContaining(`pinned build ${pins.build.object} version ${pins.build.versionId} cannot be read`),
        });
        expect(f.result).toMatchObject({ build: { from: 'pinned' }, model: null, cacheWrites: [] });
        // No fallback: no compile, no other version, nothing written.
        expect(s3Reads(f.box).filter((c) => !c.includes(`--version-id ${pins.build.versionId}`))).toEqual([]);
        expect(s3Writes(f.box)).toEqual([]);
        expect(f.result.report).toMatchObject({ signal: { status: 'FAILURE' }, failureMetric: 'counted' });
        // The group's hook abandoned; the hook of earlier kit versions, which this group lacks, refuses.
        expect(f.result.report!.lifecycleActions.map((a) => `${a.hook} ${a.result} ${a.outcome}`)).toEqual([`${BOOT_HOOK_NAME} ABANDON completed`, `${LEGACY_BOOT_HOOK_NAMES[0]} ABANDON refused`]);
        expect(lifecycleActions(f.observed.events, f.instanceId)).toEqual([expect.objectContaining({ result: 'ABANDON' })]);
        expect(bootFailures(f.observed) - bootFailures(f.before)).toBe(1);
        await f.box.shutdown();
      }, BOOT_MS + 2 * 60 * 1000);
    });
  });
}
