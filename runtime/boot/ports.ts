/**
 * What the boot's phases drive, behind small interfaces: whatever differs
 * between an instance (aws mode) and a developer machine (local mode) is an
 * adapter of one of these, so no phase asks which mode it is in. Only what the
 * phases call is here.
 *
 * The common contract: a method resolves with a typed outcome and does not
 * reject for an outcome it can name. A *refusal* (AWS's final answer: no such
 * parameter, no pending lifecycle action, an object that exists already) is
 * returned at once, never retried. A *transient* error (throttling, a reset
 * connection, access denied while a new instance role applies) is retried by
 * the adapter under the boot's time limit (core/retry.ts), and what is returned
 * is the last try's failure. A rejection means a bug or a broken machine, which
 * the phase runner reports as a failure of the phase it broke.
 */

import type { CacheVersion } from './cache/versions';

// ------------------------------------------------------------------ cache ---

/**
 * One version of a cache object, defined with the rules that choose among
 * them (cache/versions.ts). The instances add versions and delete none, so a
 * listing, oldest first, says how the object came about; which version the
 * boot takes is decided once, over this port (cache/policy.ts).
 */
export type { CacheVersion };

/** How reading an object's current version ended. */
export type CacheGetOutcome =
  /** The object is in the destination file, written whole (through a temporary name). */
  | { readonly kind: "hit" }
  /** No such object: an answer, not a failure. */
  | { readonly kind: "miss" }
  /** The object could not be read (after retries); callers treat it as a miss and say so. */
  | { readonly kind: "failed"; readonly detail: string };

export type CacheVersionsOutcome =
  /** Oldest first; empty for an object that does not exist. */
  | { readonly ok: true; readonly versions: readonly CacheVersion[] }
  | { readonly ok: false; readonly detail: string };

export type CacheReadOutcome =
  /** The version is in the destination file; `sha256` is the SHA-256 it was written with, where one was recorded. */
  | { readonly ok: true; readonly sha256: string | undefined }
  | { readonly ok: false; readonly detail: string };

/**
 * How a write goes:
 * - if-absent: the boot found no version, so this is the object's first; it
 *   is written only if no one wrote one meanwhile (S3's conditional PUT), so
 *   the instances of a new fleet, which compile at the same time, leave one
 *   version. An S3 adapter that cannot ask for that writes as `always`.
 * - always: a new version whatever is there (a replacement for versions that
 *   failed their checks; a source model, which is checked against the
 *   template's SHA-256 whichever version is read).
 */
export type CacheWriteMode = "if-absent" | "always";

export type CachePutOutcome =
  | { readonly kind: "written" }
  /** if-absent only: the object exists (another instance wrote it meanwhile); that one is kept. A refusal, not retried. */
  | { readonly kind: "kept-existing" }
  /** Not written (after retries). It costs the next boot time, not this one: callers log it and go on. */
  | { readonly kind: "failed"; readonly detail: string };

/**
 * The cache of builds (builds/KEY.tar.gz), source models (models/SHA.gguf)
 * and models quantized on an instance (quantized/...): an S3 prefix on
 * instances, a directory locally. `rel` is an object's path below the cache's
 * root. No reader ever sees half an object: reads and writes go through
 * temporary names.
 */
export interface Cache {
  /** Where the cache is, for log lines (an s3:// URI, a directory). */
  readonly location: string;
  /** Copies the current version of `rel` to file `dest`. For what is checked whichever version is read (source models). */
  get(rel: string, dest: string): Promise<CacheGetOutcome>;
  /** The versions of `rel`, oldest first. */
  versions(rel: string): Promise<CacheVersionsOutcome>;
  /** Copies one version (from versions) of `rel` to file `dest`. */
  readVersion(rel: string, version: CacheVersion, dest: string): Promise<CacheReadOutcome>;
  /** Caches file `src` as `rel`, recording `sha256` (what it is to be checked against when read) where given. */
  put(src: string, rel: string, mode: CacheWriteMode, sha256?: string): Promise<CachePutOutcome>;
}

export type CachePublishOutcome =
  /** A new version is stored; `versionId` is its id (S3's, or `local`), which the builder pins. */
  | { readonly ok: true; readonly versionId: string }
  /** Not written, or its version not learnt (after retries). */
  | { readonly ok: false; readonly detail: string };

/**
 * The builder's writes (the trusted builder's role, docs/design/trusted-builder.md):
 * a new version of an object whatever is there, and which version that is, so
 * that the fleet reads exactly it. Only the builder's role may write, so the
 * version is its own; the SHA-256 it pins beside the id would fail a version
 * that is not.
 */
export interface CachePublisher {
  /** Stores file `src` as a new version of `rel`, recording `sha256` (of its bytes) with it. */
  publish(src: string, rel: string, sha256: string): Promise<CachePublishOutcome>;
}

// ---------------------------------------------------------------- secrets ---

export type SecretReadOutcome =
  /** The value is in the destination file, created readable by its owner only, through a temporary name. */
  | { readonly kind: "read" }
  /** No such secret: a refusal, not retried. */
  | { readonly kind: "not-found"; readonly detail: string }
  /** Could not be read (after retries). */
  | { readonly kind: "failed"; readonly detail: string };

/** The secrets the boot reads: SSM parameters (decrypted) on an instance, files on a developer machine. */
export interface Secrets {
  /** How `name` reads in a message: "SSM parameter /graviton-llm/x/api-key", "/home/dev/gllm/key". */
  describe(name: string): string;
  /** Writes the value `name` names to file `dest` (mode 0600). */
  readToFile(name: string, dest: string): Promise<SecretReadOutcome>;
}

// -------------------------------------------------------------- log agent ---

export type LogAgentOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/**
 * What ships the boot's and the server's logs (and llama-server's metrics)
 * off the machine: an instance's CloudWatch agent. A machine without one
 * (local mode) has no adapter, and the agent phase does not run.
 */
export interface LogAgent {
  /** Its control program, for log lines. */
  readonly program: string;
  /** Where its configuration is written (from the stack's SSM parameter, or the boot's fallback). */
  readonly configFile: string;
  /** Where the Prometheus scrape configuration that the stack's agent configuration names is written. */
  readonly prometheusConfigFile: string;
  /** Whether it is installed (its control program is there and may be run). */
  installed(): Promise<boolean>;
  /** (Re)starts it with the configuration in file `configFile`, under the boot's time limit; its output goes to the boot's log. */
  start(configFile: string): Promise<LogAgentOutcome>;
}

// ------------------------------------------------------------- supervisor ---

/** How to run the server; the supervisor decides only how the key file reaches it. */
export interface ServerLaunch {
  /** The built llama-server. */
  readonly program: string;
  /**
   * Its argument vector, for the path the server is to read its API key
   * from: systemd hands the key over as a credential (%d/api-key), a local
   * process reads the file itself.
   */
  readonly args: (apiKeyFile: string) => readonly string[];
  /** The installed API key (layout.ts apiKeyFile). */
  readonly apiKeyFile: string;
  /** What the server may read and nothing else of the system's: the build and the model directory. */
  readonly readOnlyPaths: readonly string[];
  /** Where its output is appended (layout.ts serverLog). */
  readonly logFile: string;
}

export type SupervisorStartOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** What keeps llama-server running: a hardened systemd unit on an instance, a background process locally. */
export interface Supervisor {
  /** Stops any server of ours, then starts this one; resolves once it is started, not once it is healthy. */
  start(launch: ServerLaunch): Promise<SupervisorStartOutcome>;
  /** Stops the server, if one of ours runs; never one that is not ours (a stale pid file names a stranger). Idempotent. */
  stop(): Promise<void>;
  /** Whether the server this boot started still runs, with no restart since start. */
  alive(): Promise<boolean>;
  /**
   * Why the server is gone, for the failure reason: its log's error lines
   * since this boot started it, and where systemd could not even start it,
   * the unit's state and journal.
   */
  exitReason(): Promise<string>;
}

// --------------------------------------------------------------- reporter ---

export type ReportOutcome =
  | { readonly kind: "done" }
  /** AWS's final answer (no pending lifecycle action, as after a reboot of a serving instance; a stack that takes no signal now). */
  | { readonly kind: "refused"; readonly detail: string }
  /** Not delivered (after retries within the reporting grace). */
  | { readonly kind: "failed"; readonly detail: string }
  /** Nothing to report to: local mode, no lifecycle hook, no failure metric configured. */
  | { readonly kind: "skipped" };

/** How one hook's lifecycle action went, and when its last try ended. */
export interface HookActionOutcome {
  readonly hook: string;
  readonly outcome: ReportOutcome;
  readonly atMs: number;
}

/**
 * The lifecycle actions' outcome: the group's own hook's, and where the
 * reporter tried any, each hook's in order (for the boot's result).
 */
export type LifecycleOutcome = ReportOutcome & { readonly hooks?: readonly HookActionOutcome[] };

/**
 * Tells the world how the boot ended. Every method is best effort: it logs
 * and returns what happened, it never fails the boot. Each runs under the
 * reporting grace (Deadline.reportingGrace), which outlasts the deadline.
 */
export interface Reporter {
  /** Completes the launch lifecycle action of each configured hook: CONTINUE lets the instance serve, ABANDON has it terminated. */
  completeLifecycleAction(result: "CONTINUE" | "ABANDON"): Promise<LifecycleOutcome>;
  /** Signals the stack's creation policy (`reason` is cut to what the signal carries). */
  signal(status: "SUCCESS" | "FAILURE", reason: string): Promise<ReportOutcome>;
  /** Counts one failed boot in the failure metric, which the update's rollback alarm watches. */
  countFailure(): Promise<ReportOutcome>;
}

// --------------------------------------------------------------- packages ---

export type InstallOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** The machine's programs, and the package manager that adds to them. */
export interface Packages {
  /** Of these commands, the ones not on PATH, in the order given. */
  missingTools(tools: readonly string[]): Promise<readonly string[]>;
  /**
   * The manager install uses; undefined where there is none, or where the
   * boot may not install (a local boot that is not root installs nothing: it
   * says what is missing instead). Package names differ between managers.
   */
  readonly manager: "dnf" | "apt-get" | undefined;
  /**
   * Installs `packages` (names in the manager's terms), under the boot's time
   * limit, the manager's output appended to its log under the log directory.
   * Not ok: the manager failed; `detail` names its log.
   */
  install(packages: readonly string[]): Promise<InstallOutcome>;
}

// --------------------------------------------------------------- platform ---

/** A CPU description as read: where from, and its text (undefined where it could not be read). */
export interface CpuinfoRead {
  /** /proc/cpuinfo, or the file a local boot names instead (GLLM_CPUINFO_PATH, for tests). */
  readonly source: string;
  readonly text: string | undefined;
}

export type InstanceIdOutcome = { readonly ok: true; readonly instanceId: string } | { readonly ok: false; readonly detail: string };

/** The machine the boot runs on. */
export interface Platform {
  /** `uname -m`: aarch64, x86_64 ... */
  machine(): string;
  /** The CPU's description. */
  cpuinfo(): Promise<CpuinfoRead>;
  /** The CPUs this process may use (nproc): the compile's jobs, the server's threads. */
  cpuCount(): number;
  /** RLIMIT_MEMLOCK, in bytes: whether the model can be locked in RAM. */
  memlockLimitBytes(): Promise<number | "unlimited">;
  /** /etc/os-release's ID and VERSION_ID ("unknown" where absent): part of the build key. */
  osRelease(): Promise<{ readonly id: string; readonly versionId: string }>;
  /** Whether the boot runs as root (it may install packages, chown, run programs as the service user). */
  isRoot(): boolean;
  /** The instance's id from the metadata service (IMDSv2, retried); not ok off EC2 or when it cannot be reached. */
  instanceId(): Promise<InstanceIdOutcome>;
}

// --------------------------------------------------------- model download ---

export type DownloadOutcome =
  /** The source's bytes are in the destination file (its size and SHA-256 are for the caller to check). */
  | { readonly ok: true }
  /** Not fetched: `reason` is the boot's failure reason, one line naming the source (after the adapter's retries). */
  | { readonly ok: false; readonly reason: string };

export interface DownloadRequest {
  /** The size the template names: a partial file this long or longer is not fetched again. */
  readonly expectedSizeBytes: number;
  /** A bearer token for the source's own host (a Hugging Face token), where the adapter takes one. */
  readonly bearerToken?: string;
}

/**
 * Fetches the model's source (GLLM_MODEL_SOURCE): over https (http locally),
 * resuming a cut transfer, or from S3 with the instance's role. Which is the
 * adapter's business, so the model phase does not ask.
 */
export interface ModelDownload {
  /** The source, for log lines and reasons. */
  readonly source: string;
  /** Whether a bearer token would be sent: an S3 source takes the instance's role, and no token is read for it. */
  readonly takesToken: boolean;
  /** Fetches the source to file `dest`, under the boot's time limit, resuming what `dest` already holds where it can. */
  download(dest: string, request: DownloadRequest): Promise<DownloadOutcome>;
}
