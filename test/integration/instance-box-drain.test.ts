/**
 * The drain in the instance box (x86_64): a fleet instance booted from the
 * synthesized user data, registered with the stack's target group in moto's
 * elbv2, whose IMDS stand-in then announces a Spot interruption notice (and,
 * after the server is started again, a rebalance recommendation). The drain
 * watcher the boot started (graviton-llm-drain.service,
 * runtime/boot/drain/watch.ts) must deregister the instance, let the stream
 * in flight finish, and stop llama-server within the notice's two minutes.
 *
 * Every assertion is on what the box observed: moto's recorded
 * DeregisterTargets and its DescribeTargetHealth, the IMDS stand-in's
 * answers, systemd's unit state and timestamps, and the stream as the client
 * received it.
 *
 * The stream must outlast the drain's first steps (the notice seen at the
 * next 5 s poll, the deregistration, DEREGISTRATION_SETTLE_SECONDS) without
 * outlasting its budget. The tiny model makes a token in about 1 ms on an idle
 * machine and thirty times slower on a busy one, so the stream's length is
 * not fixed: the model has a 32k context (metadata only: the same small
 * file), the server one slot of it, and the notice is announced once the
 * stream, at its current pace, has about STREAM_LEFT_AT_NOTICE_S to go.
 */
import { DEREGISTRATION_SETTLE_SECONDS, DRAIN_BUDGET_SECONDS, SPOT_NOTICE_SECONDS } from '../../runtime/boot/drain/budget';
import { INSTANCE_ACTION_PATH, REBALANCE_PATH } from '../../runtime/boot/adapters/imds-notices';
import { DRAIN_UNIT_NAME } from '../../runtime/boot/server/drain-unit';
import { UNIT_NAME } from '../../runtime/boot/server/unit';
import { LLAMA_CPP_REPOSITORY } from '../../lib/catalogs/llama-cpp-release';
import { BoxAws, BoxEvent, boxUnavailableReason, InstanceBox } from '../support/instance-box/box';
import { boxStackOptions } from '../support/instance-box/box-stack';
import { BoxStream, streamFromNamespace } from '../support/instance-box/box-stream';
import { s3File, StackInstance, stackInstance } from '../support/instance-box/stack-instance';
import { ensureBoxGitRepository, standIns } from '../support/instance-box/stand-ins';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';
import { ensureTinyQ4Model, TINY_SHAPE } from '../support/tiny-model';

const API_KEY = 'box-drain-api-key-0123456789abcdef';
const MODEL_BUCKET = 'box-models';
/** One slot of the model's whole context: the longest stream one request can have. */
const CONTEXT_TOKENS = 32768;
// The first boot compiles llama-server in the box (ccache shared with this host).
const BOOT_MS = 45 * 60 * 1000;
/** How long the stream should still run when the notice is announced (at its pace then). */
const STREAM_LEFT_AT_NOTICE_S = 30;
const unavailable = boxUnavailableReason();

/** Waits until `done()` or `timeoutMs`; whether it became true. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    if (await done()) return true;
    if (Date.now() - started > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

if (unavailable) {
  test('instance box drain', () => {
    console.log(`instance box drain skipped: ${unavailable}`);
    // CI runs as root with .ci/setup's packages: there the box must run.
    expect(process.env.CI ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe('the drain in a box (x86_64, systemd 252)', () => {
    let aws: BoxAws;
    let box: InstanceBox;
    let stack: StackInstance;
    let instanceId: string;
    let port: string;

    beforeAll(async () => {
      const source = await ensureLlamaCppSource();
      const model = s3File(MODEL_BUCKET, 'tiny-32k-q4_0.gguf', (await ensureTinyQ4Model(source, { ...TINY_SHAPE, contextLength: CONTEXT_TOKENS })).path);
      const common = standIns({ gitRepository: await ensureBoxGitRepository(source), upstreamRepository: LLAMA_CPP_REPOSITORY, prometheus: false });
      aws = await BoxAws.create('drain');
      stack = stackInstance(boxStackOptions(model, API_KEY, model.sha256, [], false, { parallelSlots: 1, contextTokensPerSlot: CONTEXT_TOKENS }));
      port = stack.bootEnv.GLLM_PORT;
      instanceId = await aws.launchInstance(stack.awsSpec);
      box = await InstanceBox.create(aws, {
        arch: 'amd64', name: 'gllm-drain', userData: stack.userData,
        cloudInitEnvironment: { GLLM_TEST_BOX_ALLOW_X86: '1' }, files: common.files, binds: common.binds,
      });
      const first = await box.boot(BOOT_MS);
      console.log(`instance box drain: boot took ${first.seconds.toFixed(1)} s, exit ${first.status}`);
      if (first.status !== 0) throw new Error(`the box's boot failed (exit ${first.status}): ${first.output.slice(-3000)}`);
    }, BOOT_MS + 5 * 60 * 1000);

    afterAll(async () => {
      await box?.destroy();
      aws?.destroySync();
    }, 5 * 60 * 1000);

    const drainEvents = (api: string) => aws.events().filter((e) => e.api === api && (e.targets as { Id: string }[] | undefined)?.some((t) => t.Id === instanceId));
    const imdsReads = (p: string, since: number) => aws.events().filter((e) => e.api === 'IMDS' && e.path === `GET ${p}` && e.time * 1000 >= since);
    const serverState = () => box.unitProperties(UNIT_NAME, ['ActiveState']).ActiveState;
    /**
     * When systemd finished stopping llama-server's unit since `sinceMs`: its journal entry for the
     * stop job (the unit's own timestamps are gone once systemd unloads the stopped, disabled unit).
     */
    const serverStops = (sinceMs: number): number[] => box.exec(['journalctl', '-u', UNIT_NAME, '-o', 'json', '--no-pager', `--since=@${Math.floor(sinceMs / 1000)}`])
      .stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
      .filter((e) => e.JOB_TYPE === 'stop' && e.JOB_RESULT === 'done').map((e) => Number(e.__REALTIME_TIMESTAMP) / 1000);
    const drainLog = () => box.read('/var/log/graviton-llm/boot.log').split('\n').filter((l) => l.includes('drain')).slice(-15).join('\n');

    /** The instance in the target group, as moto says before any notice: registered and healthy. */
    async function registeredAndHealthy(): Promise<void> {
      await aws.registerTargets(instanceId);
      expect(await aws.targetHealth(instanceId)).toEqual([{ targetGroupArn: stack.bootEnv.GLLM_TARGET_GROUP_ARN, id: instanceId, state: 'healthy', reason: null }]);
    }

    /** Whether the stream's [DONE] has not arrived yet. */
    const running = (stream: BoxStream) => !stream.ended() && stream.events[stream.events.length - 1]?.data !== '[DONE]';

    /**
     * Polls until llama-server's unit is stopped (or 150 s), noting the deregistration moto recorded
     * after `announcedAtMs` and asking moto, at once, how it sees the target then, while `stream` runs.
     */
    async function watchDrain(announcedAtMs: number, stream?: BoxStream) {
      let deregistration: BoxEvent | undefined;
      let healthThen: { state: string; streamRunning: boolean } | undefined;
      const stopped = await until(async () => {
        if (!deregistration) {
          deregistration = drainEvents('DeregisterTargets').find((e) => e.time * 1000 >= announcedAtMs);
          if (deregistration) {
            const [health] = await aws.targetHealth(instanceId);
            healthThen = { state: health.state, streamRunning: stream !== undefined && running(stream) };
          }
        }
        return ['inactive', 'failed'].includes(serverState());
      }, 150_000);
      if (!stopped) throw new Error(`llama-server still runs 150 s after the notice; the watcher said:\n${drainLog()}`);
      // journald may write the entry a moment after the unit's state changed.
      await until(() => serverStops(announcedAtMs).length > 0, 10_000);
      const stops = serverStops(announcedAtMs);
      if (stops.length !== 1) throw new Error(`expected one stop of ${UNIT_NAME} in its journal since the notice, found ${stops.length}; the watcher said:\n${drainLog()}`);
      return { deregistration, healthThen, stoppedAtMs: stops[0] };
    }

    test('a Spot interruption notice: deregistered while the stream runs, the stream completes, llama-server stopped after it and within the two minutes', async () => {
      await registeredAndHealthy();
      const url = `http://127.0.0.1:${port}/v1/chat/completions`;
      const headers = { Authorization: `Bearer ${API_KEY}` };
      // The server's own pace now, which sizes the stream to about two STREAM_LEFT_AT_NOTICE_S.
      const probe = await aws.http(url, { headers, body: JSON.stringify({ messages: [{ role: 'user', content: 'Count.' }], max_tokens: 500, ignore_eos: true }) });
      expect(probe.status).toBe(200);
      const probeRate = JSON.parse(probe.body).timings.predicted_per_second as number;
      const tokens = Math.round(Math.min(CONTEXT_TOKENS - 512, Math.max(2000, probeRate * 2 * STREAM_LEFT_AT_NOTICE_S)));
      const stream = streamFromNamespace(aws.netns, url, headers, JSON.stringify({
        messages: [{ role: 'user', content: 'Count to a million.' }], max_tokens: tokens, ignore_eos: true, stream: true,
      }));
      // Announced once the stream, at its pace over the last seconds, has about STREAM_LEFT_AT_NOTICE_S to go.
      await until(() => {
        const ev = stream.events;
        if (stream.ended() || ev.length < 50) return stream.ended();
        const recent = ev.filter((e) => e.atMs >= Date.now() - 5000);
        const window = Math.max(1, (Date.now() - (recent[0]?.atMs ?? ev[0].atMs)) / 1000);
        const rate = recent.length / window;
        return rate > 0 && (tokens - ev.length) / rate <= STREAM_LEFT_AT_NOTICE_S;
      }, 10 * 60 * 1000, 250);
      expect(stream.ended()).toBe(false);
      const tokensBeforeNotice = stream.events.length;
      const announcedAtMs = aws.announce('interruption');

      const { deregistration, healthThen, stoppedAtMs } = await watchDrain(announcedAtMs, stream);
      const end = await stream.end;
      const doneAtMs = stream.events[stream.events.length - 1].atMs;
      const seen = imdsReads(INSTANCE_ACTION_PATH, announcedAtMs).find((e) => e.status === 200);
      const s = (ms: number) => `${((ms - announcedAtMs) / 1000).toFixed(1)} s`;
      console.log(`instance box drain (Spot interruption): server pace ${probeRate.toFixed(0)} tokens/s at the probe; stream of ${tokens} tokens, `
        + `${tokensBeforeNotice} before the notice, ${((end.endedAtMs - stream.events[0].atMs) / 1000).toFixed(1)} s long; from the notice: `
        + `seen ${seen ? s(seen.time * 1000) : 'never'}, deregistered ${deregistration ? s(deregistration.time * 1000) : 'never'}, `
        + `stream's [DONE] ${s(doneAtMs)}, llama-server stopped ${s(stoppedAtMs)}`);

      // The stream in flight when the notice came completed: every token asked for, its last chunk, then [DONE].
      expect({ exitCode: end.exitCode, httpStatus: end.httpStatus }).toEqual({ exitCode: 0, httpStatus: 200 });
      const data = stream.events.map((e) => e.data);
      expect(data[data.length - 1]).toBe('[DONE]');
      const last = JSON.parse(data[data.length - 2]);
      expect({ finish: last.choices[0].finish_reason, predicted: last.timings.predicted_n }).toEqual({ finish: 'length', predicted: tokens });
      expect(stream.events[0].atMs).toBeLessThan(announcedAtMs);

      // The watcher read the notice from the metadata service (IMDSv2, as every read of the boot's).
      expect(seen).toBeDefined();
      // It deregistered this instance, on llama-server's port, from the stack's target group, once.
      expect(drainEvents('DeregisterTargets')).toEqual([expect.objectContaining({
        targetGroupArn: stack.bootEnv.GLLM_TARGET_GROUP_ARN, targets: [{ Id: instanceId, Port: Number(port) }],
      })]);
      expect(deregistration!.error).toBeUndefined();
      // "No new request reaches it": an Application Load Balancer stops sending requests to a
      // deregistering target and lets the ones in flight finish ("Deregistration delay",
      // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-target-groups.html#deregistration-delay).
      // The routing itself is the load balancer's and has no stand-in here; what the box shows is
      // the target group's own word, while the stream still ran: the target no longer healthy
      // (draining where ELB waits out the delay, unused once it is gone; moto answers the latter).
      expect(healthThen).toEqual({ state: expect.stringMatching(/^(draining|unused)$/), streamRunning: true });
      expect(deregistration!.time * 1000).toBeLessThan(doneAtMs);
      // The deregistration was recorded before llama-server stopped, and the server stopped only once
      // the stream had ended (the [DONE]'s time is when this process read it: a second's slack).
      expect(deregistration!.time * 1000).toBeLessThan(stoppedAtMs);
      expect(doneAtMs).toBeLessThan(stoppedAtMs + 1000);
      // A functional bound, not a performance one: EC2 interrupts a Spot instance two minutes after
      // its notice ("Spot Instance interruption notices",
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html),
      // and a server still running then is cut with its streams.
      expect(stoppedAtMs - announcedAtMs).toBeLessThan(SPOT_NOTICE_SECONDS * 1000);
      // The watcher drained and is done: it exits 0 and stays down (Restart=on-failure).
      expect(box.unitProperties(DRAIN_UNIT_NAME, ['ActiveState', 'Result'])).toEqual({ ActiveState: 'inactive', Result: 'success' });
      expect(serverState()).toBe('inactive');
      // Why the stream must outlast the settle: else the watcher's wait for it is not what ended the drain.
      if (doneAtMs - (deregistration!.time * 1000) < DEREGISTRATION_SETTLE_SECONDS * 1000) {
        console.log(`instance box drain: the stream ended within the ${DEREGISTRATION_SETTLE_SECONDS} s settle (a faster machine than its probe said)`);
      }
    }, (DRAIN_BUDGET_SECONDS + 10 * 60) * 1000);

    test('a rebalance recommendation: the same deregistration and stop', async () => {
      // The same instance served again, as a new one would be: no notice, registered, llama-server and its watcher started.
      aws.withdrawNotices();
      expect(box.exec(['systemctl', 'start', UNIT_NAME]).status).toBe(0);
      expect(await until(async () => (await aws.http(`http://127.0.0.1:${port}/health`)).status === 200, 120_000)).toBe(true);
      await registeredAndHealthy();
      expect(box.exec(['systemctl', 'start', DRAIN_UNIT_NAME]).status).toBe(0);
      const before = drainEvents('DeregisterTargets').length;
      const announcedAtMs = aws.announce('rebalance');

      const { deregistration, stoppedAtMs } = await watchDrain(announcedAtMs);
      const seen = imdsReads(REBALANCE_PATH, announcedAtMs).find((e) => e.status === 200);
      const s = (ms: number) => `${((ms - announcedAtMs) / 1000).toFixed(1)} s`;
      console.log(`instance box drain (rebalance recommendation): from the notice: seen ${seen ? s(seen.time * 1000) : 'never'}, `
        + `deregistered ${deregistration ? s(deregistration.time * 1000) : 'never'}, llama-server stopped ${s(stoppedAtMs)}`);

      // A rebalance recommendation, not an interruption notice: spot/instance-action stayed 404.
      expect(seen).toBeDefined();
      expect(imdsReads(INSTANCE_ACTION_PATH, announcedAtMs).filter((e) => e.status !== 404)).toEqual([]);
      const after = drainEvents('DeregisterTargets');
      expect(after.slice(before)).toEqual([expect.objectContaining({
        targetGroupArn: stack.bootEnv.GLLM_TARGET_GROUP_ARN, targets: [{ Id: instanceId, Port: Number(port) }],
      })]);
      expect(after[before].error).toBeUndefined();
      expect(after[before].time * 1000).toBeLessThan(stoppedAtMs);
      // A recommendation names no deadline ("EC2 instance rebalance recommendations",
      // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html); the watcher
      // drains on it as on a notice, within the same two minutes (a functional bound, as above).
      expect(stoppedAtMs - announcedAtMs).toBeLessThan(SPOT_NOTICE_SECONDS * 1000);
      expect(box.unitProperties(DRAIN_UNIT_NAME, ['ActiveState', 'Result'])).toEqual({ ActiveState: 'inactive', Result: 'success' });
    }, 6 * 60 * 1000);
  });
}
