/**
 * The systemd units an instance serves with: llama-server's hardened service,
 * and the timer that keeps its log in bounds. Text only; writing the files
 * and asking systemd to load them is the supervisor's job.
 *
 * The unit and the rotation are, byte for byte, what the bash boot of earlier
 * versions wrote: an instance updated from one sees the same files.
 */
import { serverArgs, type ServerArgsInput } from './args';

export const UNIT_NAME = 'graviton-llm.service';
/** The log rotation's service and timer share this name. */
export const LOG_ROTATE_UNIT = 'graviton-llm-log-rotate';
/** The one user the server (and every program of a build, before it is trusted) runs as. */
export const SERVICE_USER = 'llama';
/** llama-server's log and its one previous copy stay under this size each. */
export const SERVER_LOG_MAX_BYTES = 100 * 1024 * 1024;
export const LOG_ROTATE_SCRIPT = '/opt/graviton-llm/rotate-server-log.sh';
/** Where systemd hands the unit its API key credential (LoadCredential=api-key:...), readable by the service only. */
export const CREDENTIAL_KEY_FILE = '%d/api-key';

export interface UnitInput {
  /** The program that writes the unit, named in its first line. */
  readonly writer: string;
  /** The ExecStart line (see systemdExecLine). */
  readonly execStart: string;
  /** The key file the credential is loaded from. */
  readonly apiKeyFile: string;
  /** llama-server's log, appended to. */
  readonly serverLog: string;
  /** The build being served: the only part of /opt the server sees besides the model. */
  readonly buildDir: string;
  readonly modelDir: string;
}

/**
 * The hardened unit: its own user, a read-only view of the system with only
 * the build and model visible, the key handed over by systemd's credentials.
 */
export function renderUnit(input: UnitInput): string {
  return `# Written by ${input.writer}; rewritten on every boot.
[Unit]
Description=graviton-llm llama-server
After=network-online.target
Wants=network-online.target
# A server that keeps crashing stops being restarted: the unit fails, the
# load balancer's health check fails, and Auto Scaling replaces the instance.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=simple
User=${SERVICE_USER}
Group=${SERVICE_USER}
ExecStart=${input.execStart}
LoadCredential=api-key:${input.apiKeyFile}
Restart=on-failure
RestartSec=5
LimitMEMLOCK=infinity
LimitNOFILE=65536
StandardOutput=append:${input.serverLog}
StandardError=inherit
UMask=0077
NoNewPrivileges=yes
AmbientCapabilities=
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
# The instance metadata service hands out the instance role's credentials;
# the server has no use for them, so a compromised server gets none.
IPAddressDeny=169.254.169.254 fd00:ec2::254
ReadOnlyPaths=${input.buildDir} ${input.modelDir}

[Install]
WantedBy=multi-user.target
`;
}

/**
 * An ExecStart line for `args`. The values are of the contract's inert
 * characters, so only `%` (a systemd specifier) needs care: it is doubled,
 * except in the arguments of `specifiers`, which are meant as specifiers.
 */
export function systemdExecLine(args: readonly string[], specifiers: readonly string[] = []): string {
  return args.map((a) => (specifiers.includes(a) ? a : a.replace(/%/g, '%%'))).join(' ');
}

export interface ServiceUnitInput extends Omit<ServerArgsInput, 'keyFile'>, Omit<UnitInput, 'execStart'> {
  /** The build's llama-server. */
  readonly llamaServer: string;
}

/** The unit for this boot's build, model and settings, the key read from systemd's credential. */
export function serviceUnit(input: ServiceUnitInput): string {
  const args = serverArgs({ ...input, keyFile: CREDENTIAL_KEY_FILE });
  return renderUnit({ ...input, execStart: systemdExecLine([input.llamaServer, ...args], [CREDENTIAL_KEY_FILE]) });
}

export interface LogRotationInput {
  /** The program that writes the files, named in their first line. */
  readonly writer: string;
  /** llama-server's log. */
  readonly serverLog: string;
}

/** The log rotation's three files: LOG_ROTATE_SCRIPT, and LOG_ROTATE_UNIT's .service and .timer. */
export interface LogRotationFiles {
  readonly script: string;
  readonly service: string;
  readonly timer: string;
}

/**
 * llama-server appends to its log for as long as the instance lives, on the
 * root volume. Every 10 minutes a timer copies a log past SERVER_LOG_MAX_BYTES
 * to server.log.1 and truncates it in place: systemd opened it with O_APPEND,
 * so the server's next line lands at the new end, and the CloudWatch agent
 * sees the truncation and reads on from the start. Lines written between the
 * copy and the truncation are lost.
 */
export function logRotation(input: LogRotationInput): LogRotationFiles {
  const header = `# Written by ${input.writer}; rewritten on every boot.`;
  return {
    script: `#!/bin/sh
${header}
f=${input.serverLog}
[ -f "$f" ] || exit 0
[ "$(stat -c %s "$f")" -gt ${SERVER_LOG_MAX_BYTES} ] || exit 0
cp -f -- "$f" "$f.1" && truncate -s 0 -- "$f"
`,
    service: `${header}
[Unit]
Description=graviton-llm: keep llama-server's log under ${SERVER_LOG_MAX_BYTES / 1024 / 1024} MiB

[Service]
Type=oneshot
ExecStart=${LOG_ROTATE_SCRIPT}
`,
    timer: `${header}
[Unit]
Description=graviton-llm: check llama-server's log size every 10 minutes

[Timer]
OnBootSec=10min
OnUnitActiveSec=10min

[Install]
WantedBy=timers.target
`,
  };
}
