/**
 * Where the boot keeps everything, defined once: fixed system paths on an
 * instance, one work directory on a developer machine (no root needed).
 * The paths are those of the bash boot of earlier versions, so an instance
 * updated from one finds its files where they were; lib/ takes the instance paths it names (the CloudWatch agent's
 * configuration, the user data) from here.
 *
 * Pure: no I/O.
 */
import { posix } from "node:path";

/** The directories and files one boot reads and writes. */
export interface BootLayout {
  /** Installed builds, one directory per build key. */
  readonly installRoot: string;
  /** The boot's own state: its lock, the local server's pid file, scratch work. */
  readonly stateDir: string;
  /** The served model and its verification stamp. */
  readonly modelDir: string;
  /** The boot's log, the server's log, the package managers' and the build's logs. */
  readonly logDir: string;
  /** The API key and other secrets, readable by their owner only. */
  readonly secretDir: string;
  /** Where a compile fetches its source and builds; removed after. */
  readonly buildWork: string;
  /** The API key, as llama-server's --api-key-file reads it (systemd hands it over as a credential). */
  readonly apiKeyFile: string;
  /** The pid of a local llama-server (local mode has no supervisor of its own). */
  readonly pidFile: string;
  /** The boot's log for people (see core/log.ts). */
  readonly bootLog: string;
  /** llama-server's log, appended across boots. */
  readonly serverLog: string;
  /** One boot at a time per machine (or work directory): a re-run waits for this lock. */
  readonly bootLock: string;
  /** The boot's result (result.ts), written when it ends, removed when the next one starts. */
  readonly bootResult: string;
}

/** The paths of a layout's five roots; the rest are derived from them the same way in both modes. */
interface LayoutRoots {
  readonly installRoot: string;
  readonly stateDir: string;
  readonly modelDir: string;
  readonly logDir: string;
  readonly secretDir: string;
}

function layoutFrom(roots: LayoutRoots): BootLayout {
  return {
    ...roots,
    buildWork: posix.join(roots.stateDir, "build-work"),
    apiKeyFile: posix.join(roots.secretDir, "api-key"),
    pidFile: posix.join(roots.stateDir, "llama-server.pid"),
    bootLog: posix.join(roots.logDir, "boot.log"),
    serverLog: posix.join(roots.logDir, "server.log"),
    bootLock: posix.join(roots.stateDir, "boot.lock"),
    bootResult: posix.join(roots.stateDir, "boot-result.json"),
  };
}

/** An instance's layout (aws mode): system paths, the boot runs as root. */
export const INSTANCE_LAYOUT: BootLayout = layoutFrom({
  installRoot: "/opt/graviton-llm/llama.cpp",
  stateDir: "/var/lib/graviton-llm",
  modelDir: "/var/lib/graviton-llm/models",
  logDir: "/var/log/graviton-llm",
  secretDir: "/etc/graviton-llm",
});

/**
 * Files on an instance outside the boot's layout proper: what the user data
 * writes before the boot runs, and what the boot writes for the CloudWatch
 * agent and systemd.
 */
export const INSTANCE_FILES = {
  /** The TypeScript boot program's bundle, which the user data's trampoline fetches, checks against its SHA-256 and runs. */
  bootProgram: "/opt/graviton-llm/boot.js",
  /** What a boot did (runtime/boot/result.ts), written by every boot; the trampoline reports a failure when none is written. */
  bootResult: INSTANCE_LAYOUT.bootResult,
  /** The boot's configuration (KEY=value lines), written by the user data. */
  bootEnv: posix.join(INSTANCE_LAYOUT.secretDir, "boot.env"),
  /** A pinned fleet instance's pins (GLLM_PINS_FILE): the builder's wait condition Data, written by the user data (docs/design/trusted-builder.md). */
  pins: posix.join(INSTANCE_LAYOUT.secretDir, "pins.json"),
  /** A builder's wait condition handle URL (GLLM_BUILDER_SIGNAL_FILE), written by its user data: not a boot.env value, since it holds `&`. */
  builderSignal: posix.join(INSTANCE_LAYOUT.secretDir, "builder-signal-url"),
  /** The CloudWatch agent's configuration, from its SSM parameter. */
  agentConfig: posix.join(INSTANCE_LAYOUT.secretDir, "cloudwatch-agent.json"),
  /** The agent's Prometheus scrape configuration, from its SSM parameter. */
  prometheusConfig: posix.join(INSTANCE_LAYOUT.secretDir, "prometheus.yaml"),
  /** The agent's own log. */
  agentLog: posix.join(INSTANCE_LAYOUT.logDir, "cloudwatch-agent.log"),
  /** The script the log rotation timer runs. */
  rotateServerLogScript: "/opt/graviton-llm/rotate-server-log.sh",
} as const;

/**
 * A developer machine's layout (local mode): everything under one work
 * directory, an absolute path.
 */
export function localLayout(workDir: string): BootLayout {
  if (!posix.isAbsolute(workDir)) throw new Error(`the work directory must be an absolute path, got ${JSON.stringify(workDir)}`);
  const work = posix.normalize(workDir).replace(/(.)\/$/, "$1");
  return layoutFrom({
    installRoot: posix.join(work, "llama.cpp"),
    stateDir: posix.join(work, "state"),
    modelDir: posix.join(work, "models"),
    logDir: posix.join(work, "logs"),
    secretDir: posix.join(work, "secrets"),
  });
}
