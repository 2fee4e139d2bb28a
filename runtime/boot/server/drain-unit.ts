/**
 * The drain watcher's systemd unit: the boot program's own bundle in its
 * drain-watch mode (drain-watch.ts), as root (it reads the API key file and
 * the instance role's credentials, and stops llama-server's unit). Text only;
 * adapters/systemd-drain-watch.ts writes and starts it.
 *
 * Not enabled (no [Install]): the boot starts it once llama-server serves, on
 * every boot, so it never watches, or drains, a machine whose server is not
 * up yet.
 */
import { UNIT_NAME } from './unit';

export const DRAIN_UNIT_NAME = 'graviton-llm-drain.service';

/** The argument that selects the watcher (`node boot.js drain-watch ENV_FILE`). */
export const DRAIN_WATCH_COMMAND = 'drain-watch';

export interface DrainUnitInput {
  /** The program that writes the unit, named in its first line. */
  readonly writer: string;
  /** The Node.js that runs the boot (an absolute path: systemd looks up no PATH of the boot's). */
  readonly node: string;
  /** The boot program's bundle (layout.ts INSTANCE_FILES.bootProgram). */
  readonly bundle: string;
  /** The boot's configuration (layout.ts INSTANCE_FILES.bootEnv). */
  readonly envFile: string;
}

export function drainWatchUnit(input: DrainUnitInput): string {
  return `# Written by ${input.writer}; rewritten on every boot.
[Unit]
Description=graviton-llm: drain on a Spot interruption notice or a rebalance recommendation
After=network-online.target ${UNIT_NAME}
Wants=network-online.target

[Service]
Type=simple
ExecStart=${[input.node, input.bundle, DRAIN_WATCH_COMMAND, input.envFile].map((a) => a.replace(/%/g, '%%')).join(' ')}
# A watcher that crashed is started again: a notice may still come. One that drained exits 0 and stays down.
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
`;
}
