/**
 * The serve phase: llama-server started, through the Supervisor port (a
 * hardened systemd unit on an instance, a background process locally), then,
 * once the unit exists (its filter is read from the unit), the check that the
 * server cannot reach the metadata service.
 */
import { type Phase, PhaseFailure } from '../core/phase';
import type { Supervisor } from '../ports';
import { serverArgs } from '../server/args';
import type { ServerSettings } from './preflight';

export const SERVE_PHASE = 'serve';

/** Whether the service's filter kept it from the instance metadata service (which hands out the instance role's credentials). */
export type MetadataCheckOutcome =
  | { readonly enforced: true }
  /** `answered`: the status the metadata service gave through the filter ("" for none). */
  | { readonly enforced: false; readonly answered: string };

/** Tries a request to the metadata service as the service would make it: the systemd adapter's checkMetadataDenied. */
export interface MetadataCheck {
  checkMetadataDenied(): Promise<MetadataCheckOutcome>;
}

export interface ServePhaseInput {
  /** The build's llama-server. */
  readonly llamaServer: string;
  readonly settings: ServerSettings;
  /** What the preflight chose (PreflightPhaseOutput.lockArgs). */
  readonly lockArgs: readonly string[];
  /** The installed API key (layout.ts apiKeyFile). */
  readonly apiKeyFile: string;
  /** The build's directory and the model's: all of the system's files the server may read. */
  readonly buildDir: string;
  readonly modelDir: string;
  /** llama-server's log (layout.ts serverLog). */
  readonly serverLog: string;
  readonly supervisor: Pick<Supervisor, 'start'>;
  /**
   * Where the server may not reach the metadata service (an instance): the
   * check, which only warns, since the server serves as well without it.
   * Absent on a developer machine, which has no instance role.
   */
  readonly metadata?: MetadataCheck;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an outcome for the boot's result (BootLog.record, this phase's). */
  readonly record: (event: string, detail: string) => void;
}

export const servePhase: Phase<ServePhaseInput> = {
  name: SERVE_PHASE,
  async run(input) {
    const started = await input.supervisor.start({
      program: input.llamaServer,
      args: (keyFile) => serverArgs({ ...input.settings, keyFile, lockArgs: input.lockArgs }),
      apiKeyFile: input.apiKeyFile,
      readOnlyPaths: [input.buildDir, input.modelDir],
      logFile: input.serverLog,
    });
    if (!started.ok) throw new PhaseFailure(SERVE_PHASE, `could not start llama-server: ${started.detail}`);
    if (input.metadata === undefined) return;
    const check = await input.metadata.checkMetadataDenied();
    input.record('metadata-service', check.enforced ? 'denied' : `reachable (answered ${check.answered || 'nothing'})`);
    if (check.enforced) {
      input.log("llama-server's unit cannot reach the instance metadata service (IPAddressDeny enforced)");
    } else {
      input.log(
        `WARNING: systemd does not enforce IPAddressDeny on this host (the metadata service answered ${check.answered || 'nothing'} under the unit's filter); llama-server could read the instance role's credentials`,
      );
    }
  },
};
