/**
 * The model phase: the model the template names, verified, in the model
 * directory; quantized on the machine where the configuration asks for it.
 * In order: a model verified by an earlier boot (its stamp) is reused; a
 * quantized model is taken from the cache (the oldest version with the
 * SHA-256 it was cached with); else the source model comes from the cache or
 * its source, is checked against the template's size and SHA-256, cached,
 * and quantized. The decisions are model/verify.ts's, the cache's names cache/keys.ts's, the
 * version choice cache/policy.ts's.
 */
import { chmod, chown, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { modelCacheRel, quantizedCacheRel } from '../cache/keys';
import { type CacheUse, firstGoodVersion, getFromCache, type NextWrite, putInCache } from '../cache/policy';
import type { BootConfig } from '../contract';
import type { Clock } from '../core/clock';
import type { Deadline } from '../core/deadline';
import { type Exec, succeeded } from '../core/exec';
import { secondsText } from '../core/log';
import { type Phase, PhaseFailure } from '../core/phase';
import type { BootLayout } from '../layout';
import { sha256OfFile } from '../model/sha256-file';
import { cachedDigestProblem, modelDigestProblem, modelSizeProblem, modelStamp, modelVerifiedLine, stampHolds } from '../model/verify';
import type { Cache, CachePublisher, ModelDownload, Secrets } from '../ports';
import { readPinned } from '../cache/pinned';
import { type ArtifactTrust, modelPinProblem, type PinnedObject } from '../pins';
import { fileExists } from '../core/files';
import type { BootEventData } from '../core/log';

export const MODEL_PHASE = 'model';

export interface ModelPhaseInput
  extends Pick<BootConfig, 'modelSha256' | 'modelSizeBytes' | 'modelFile' | 'quantizeTo' | 'llamaCppCommit' | 'llamaCppRef' | 'hfTokenParameter' | 'bootDeadlineSeconds'> {
  /** modelDir: the served model and its stamp; stateDir: quantize's scratch directory; logDir: quantize.log; secretDir: the token, briefly. */
  readonly layout: Pick<BootLayout, 'modelDir' | 'stateDir' | 'logDir' | 'secretDir'>;
  /** The installed build (the build phase's output): its bin/llama-quantize quantizes. */
  readonly buildDir: string;
  /**
   * Whom the model is taken from; absent: the cache's rules. Pinned: the
   * verified model in place, else exactly the pinned version. Builder: the
   * source verified against the template, quantized here where asked (never
   * taken quantized from the cache: nothing proves what made it), and the
   * model served published once.
   */
  readonly trust?: ArtifactTrust;
  /** The source (GLLM_MODEL_SOURCE), over https or from S3. */
  readonly download: ModelDownload;
  /** Where the Hugging Face token (hfTokenParameter) is read from, where one is set and the source takes one. */
  readonly secrets: Secrets;
  readonly cache: Cache;
  /** Runs llama-quantize, as the service user where the boot has one. */
  readonly exec: Pick<Exec, 'run'>;
  /**
   * The user and group llama-quantize runs as, where not the boot's own (an
   * instance's boot, as root): its scratch directory is handed to them, and
   * its result taken back by the boot's user before it is served.
   */
  readonly serviceUser?: { readonly uid: number; readonly gid: number };
  /** The threads llama-quantize uses (nproc). */
  readonly cpuCount: number;
  readonly clock: Clock;
  readonly deadline: Pick<Deadline, 'timeLimitMs'>;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an event of this phase, with what the boot's result needs of it. */
  readonly record: (event: string, detail: string, data?: BootEventData) => void;
}

export interface ModelPhaseOutput {
  /** The model llama-server serves. */
  readonly modelPath: string;
  /** The builder's published model (trust builder only). */
  readonly published?: PinnedObject;
}

function fail(reason: string): never {
  throw new PhaseFailure(MODEL_PHASE, reason);
}


async function sizeOf(file: string): Promise<number> {
  return (await stat(file)).size;
}

async function readStamp(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Puts a checked file in place: readable by all (the service user serves it), under its name whole. */
async function install(file: string, dest: string, stamp: string): Promise<void> {
  await chmod(file, 0o644);
  await rename(file, dest);
  await writeFile(`${dest}.verified`, `${stamp}\n`);
}

/** The phase's state for one run. */
class ModelRun {
  readonly modelPath: string;
  readonly sourcePath: string;
  readonly partial: string;
  readonly use: CacheUse;

  constructor(private readonly input: ModelPhaseInput) {
    const { modelDir } = input.layout;
    this.modelPath = posix.join(modelDir, input.modelFile);
    // A quantized model keeps the configured name; its source waits beside it under its SHA-256.
    this.sourcePath = input.quantizeTo === '' ? this.modelPath : posix.join(modelDir, `source-${input.modelSha256}.gguf`);
    this.partial = posix.join(modelDir, `.${input.modelFile}.partial`);
    this.use = { cache: input.cache, log: input.log, record: input.record };
  }

  private hash(file: string): Promise<string | null> {
    return sha256OfFile(file, this.input.deadline.timeLimitMs(), this.input.clock);
  }

  private get quantizedRel(): string {
    return quantizedCacheRel(this.input);
  }

  private get stamp(): string {
    return modelStamp(this.input);
  }

  async run(): Promise<PinnedObject | undefined> {
    const { input } = this;
    const { modelSha256: sha, modelSizeBytes: size, quantizeTo } = input;
    const trust = input.trust ?? { kind: 'cache' };
    if (trust.kind === 'pinned') {
      const problem = modelPinProblem(trust.pinsFile, trust.pins, input);
      if (problem !== undefined) fail(problem);
    }
    await mkdir(input.layout.modelDir, { recursive: true });
    if (trust.kind !== 'builder' && stampHolds(await fileExists(this.modelPath), await readStamp(`${this.modelPath}.verified`), this.stamp)) {
      input.log(quantizeTo === '' ? `model: ${this.modelPath} already verified; reused` : `model: ${this.modelPath} already quantized from ${sha}; reused`);
      input.record('model-reused', this.modelPath, quantizeTo === '' ? { kind: 'model-source', from: 'installed' } : { kind: 'model-quantized', from: 'installed' });
      return undefined;
    }
    if (trust.kind === 'pinned') {
      await this.installPinned(trust.pins.model, trust.pinsFile);
      return undefined;
    }
    let quantizedWrite: NextWrite = 'if-absent';
    if (quantizeTo !== '' && trust.kind === 'cache') {
      const cached = await this.fetchQuantizedFromCache();
      if (cached.ok) return undefined;
      quantizedWrite = cached.nextWrite;
    }

    await rm(this.partial, { force: true });
    await rm(`${this.sourcePath}.verified`, { force: true });
    const rel = modelCacheRel(sha);
    let fromCache = await getFromCache(this.use, rel, this.partial);
    if (fromCache) {
      input.log(`model: cache hit ${rel}`);
      input.record('cache-hit', rel, { kind: 'model-source', from: 'cache' });
      if ((await sizeOf(this.partial)) !== size || (await this.hash(this.partial)) !== sha) {
        input.log('model: cached copy does not verify; downloading from the source instead');
        input.record('cache-discard', `${rel}: does not verify`);
        await rm(this.partial, { force: true });
        fromCache = false;
      }
    }
    if (!fromCache) {
      input.log(`model: cache miss ${rel}`);
      input.record('cache-miss', rel, { kind: 'model-source', from: 'download' });
      await this.download();
      await this.verify(input.download.source);
    } else {
      input.log(modelVerifiedLine(size, sha));
    }
    await install(this.partial, this.sourcePath, modelStamp({ ...input, quantizeTo: '' }));
    input.record(fromCache ? 'model-from-cache' : 'model-downloaded', this.sourcePath);
    // Every version of a source model is checked against the template's
    // SHA-256, so a second one costs only storage: it is written whatever is there.
    // A builder that serves the source as it is publishes it below: one new version, not two.
    if (!fromCache && !(trust.kind === 'builder' && quantizeTo === '')) await putInCache(this.use, this.sourcePath, rel, 'always');

    if (quantizeTo === '') return trust.kind === 'builder' ? this.publish(trust.publisher, this.modelPath, rel, sha) : undefined;
    const sum = await this.quantize();
    if (trust.kind === 'builder') return this.publish(trust.publisher, this.modelPath, this.quantizedRel, sum);
    await putInCache(this.use, this.modelPath, this.quantizedRel, quantizedWrite, sum);
    return undefined;
  }

  /** A pinned fleet instance's model: exactly the pinned version, checked, put in place; anything else fails the boot. */
  private async installPinned(pin: PinnedObject, pinsFile: string): Promise<void> {
    const { input } = this;
    input.record('model-pinned', `${pin.object} version ${pin.versionId}`, input.quantizeTo === '' ? { kind: 'model-source', from: 'pinned' } : { kind: 'model-quantized', from: 'pinned' });
    await rm(this.partial, { force: true });
    const problem = await readPinned({ cache: input.cache, pin, what: 'model', pinsFile, dest: this.partial, sha256: (f) => this.hash(f) });
    if (problem !== undefined) fail(problem);
    await install(this.partial, this.modelPath, this.stamp);
    input.log(`model: pinned ${pin.object} version ${pin.versionId} (SHA-256 ${pin.sha256})`);
  }

  /** The builder's model: published as a new version; the pin of it. */
  private async publish(publisher: CachePublisher, file: string, rel: string, sha256: string): Promise<PinnedObject> {
    const { input } = this;
    const published = await publisher.publish(file, rel, sha256);
    if (!published.ok) fail(`cannot publish the model ${rel} to ${input.cache.location}: ${published.detail}`);
    input.log(`model: published ${rel} version ${published.versionId} (SHA-256 ${sha256})`);
    input.record('published', `${rel} version ${published.versionId}`, { kind: 'published', what: 'model', object: rel, versionId: published.versionId, sha256 });
    return { object: rel, versionId: published.versionId, sha256 };
  }

  /** The source into the partial file, with the Hugging Face token where one is configured and the source takes it. */
  private async download(): Promise<void> {
    const { input } = this;
    const token = input.hfTokenParameter !== '' && input.download.takesToken ? await this.readToken() : undefined;
    const got = await input.download.download(this.partial, { expectedSizeBytes: input.modelSizeBytes, ...(token !== undefined ? { bearerToken: token } : {}) });
    if (!got.ok) fail(got.reason);
  }

  /** The token, read through a file readable by the boot's user only and removed at once. */
  private async readToken(): Promise<string> {
    const { input } = this;
    const name = input.hfTokenParameter;
    const where = input.secrets.describe(name);
    const file = posix.join(input.layout.secretDir, 'hf-token');
    await mkdir(input.layout.secretDir, { recursive: true, mode: 0o700 });
    try {
      const read = await input.secrets.readToFile(name, file);
      if (read.kind !== 'read') {
        input.log(`read of ${where} failed: ${read.detail}`);
        fail(`could not read the Hugging Face token from ${where}`);
      }
      const token = await readFile(file, 'utf8');
      if (token.replace(/\s/g, '') === '') fail(`the Hugging Face token in ${where} is empty`);
      return token.replace(/[\r\n]/g, '');
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Size, then SHA-256, against the template's; a file that fails is deleted, never moved into place. */
  private async verify(origin: string): Promise<void> {
    const { input } = this;
    const size = await sizeOf(this.partial);
    const sizeProblem = modelSizeProblem(origin, input.modelSizeBytes, size);
    if (sizeProblem !== undefined) {
      await rm(this.partial, { force: true });
      fail(sizeProblem);
    }
    const sha = await this.hash(this.partial);
    const digestProblem = modelDigestProblem(origin, input.modelSha256, sha, input.bootDeadlineSeconds);
    if (digestProblem !== undefined) {
      await rm(this.partial, { force: true });
      fail(digestProblem);
    }
    input.log(modelVerifiedLine(size, input.modelSha256));
  }

  /** The quantized model from the cache, put in place; else how to cache the one this boot makes. */
  private async fetchQuantizedFromCache(): Promise<{ readonly ok: true } | { readonly ok: false; readonly nextWrite: NextWrite }> {
    const rel = this.quantizedRel;
    const got = await firstGoodVersion(this.use, {
      what: 'model',
      rel,
      dest: this.partial,
      instead: 'quantizing',
      // A version that records no SHA-256 is refused without reading it through.
      check: async (file, recorded) => cachedDigestProblem(recorded ?? '', recorded ? await this.hash(file) : null),
    });
    if (!got.ok) return got;
    await install(this.partial, this.modelPath, this.stamp);
    this.input.log(`model: cache hit ${rel}${got.taken}`);
    this.input.record('quantized-from-cache', rel, { kind: 'model-quantized', from: 'cache' });
    return { ok: true };
  }

  /**
   * llama-quantize is a build program, so it runs as the service user, never
   * as root: it writes into a directory of that user's own, and the boot's
   * user then takes the result over, so the service user may only read the
   * served model.
   */
  private async quantize(): Promise<string> {
    const { input } = this;
    const { quantizeTo, bootDeadlineSeconds } = input;
    const work = posix.join(input.layout.stateDir, 'quantize');
    await rm(work, { recursive: true, force: true });
    // Its parents as any directory (the service user must pass through them), itself the service user's alone, as install -d makes them.
    await mkdir(input.layout.stateDir, { recursive: true });
    await mkdir(work, { mode: 0o700 });
    await chmod(work, 0o700);
    if (input.serviceUser !== undefined) await chown(work, input.serviceUser.uid, input.serviceUser.gid);
    const out = posix.join(work, input.modelFile);
    const quantizeLog = posix.join(input.layout.logDir, 'quantize.log');
    await mkdir(input.layout.logDir, { recursive: true });
    const start = input.clock.now();
    input.log(`quantizing to ${quantizeTo}`);
    input.record('quantizing', quantizeTo, { kind: 'model-quantized', from: 'quantize' });
    const limitMs = input.deadline.timeLimitMs();
    if (limitMs - input.clock.now() < 1000) fail(`no time left in the boot deadline of ${bootDeadlineSeconds} s to quantize`);
    const ran = await input.exec.run({
      step: MODEL_PHASE,
      program: posix.join(input.buildDir, 'bin', 'llama-quantize'),
      args: [this.sourcePath, out, quantizeTo, String(input.cpuCount)],
      limitMs,
      asServiceUser: true,
      appendOutputTo: quantizeLog,
    });
    if (ran.timedOut) fail(`llama-quantize to ${quantizeTo} did not finish within the boot deadline of ${bootDeadlineSeconds} s`);
    if (!succeeded(ran)) {
      const tail = (await readStamp(quantizeLog) ?? '').replace(/\n+$/, '').split('\n').slice(-2).join(' ');
      fail(`llama-quantize to ${quantizeTo} failed: ${tail || ran.startError || `exit ${ran.exitCode ?? ran.signal}`}`);
    }
    input.log(`quantized in ${secondsText(input.clock.now() - start)} s`);
    if (input.serviceUser !== undefined) await chown(out, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
    await install(out, this.modelPath, this.stamp);
    await rm(work, { recursive: true, force: true });
    input.record('model-quantized', `${quantizeTo}: ${this.modelPath}`);
    // The source is in the cache; the disk is better spent on the served model.
    await rm(this.sourcePath, { force: true });
    await rm(`${this.sourcePath}.verified`, { force: true });
    const sum = await this.hash(this.modelPath);
    if (sum === null) fail(`the quantized model's SHA-256 did not finish within the boot deadline of ${bootDeadlineSeconds} s`);
    return sum;
  }
}

export const modelPhase: Phase<ModelPhaseInput, ModelPhaseOutput> = {
  name: MODEL_PHASE,
  async run(input) {
    const run = new ModelRun(input);
    let published: PinnedObject | undefined;
    try {
      published = await run.run();
    } finally {
      // What a failed or finished run leaves half-written is never read again.
      await rm(run.partial, { force: true });
    }
    return { modelPath: run.modelPath, ...(published !== undefined ? { published } : {}) };
  },
};
