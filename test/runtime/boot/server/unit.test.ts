/**
 * The units in-process: what the service and the log rotation say. That
 * systemd runs them is the instance box's (test/integration/instance-box.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  CREDENTIAL_KEY_FILE, logRotation, SERVER_LOG_MAX_BYTES, serviceUnit, type ServiceUnitInput, systemdExecLine,
} from '../../../../runtime/boot/server/unit';

const INPUT: ServiceUnitInput = {
  writer: 'boot.js', llamaServer: '/opt/graviton-llm/llama.cpp/k/bin/llama-server', modelPath: '/var/lib/graviton-llm/models/m.gguf', host: '0.0.0.0',
  port: 8080, parallelSlots: 4, contextPerSlot: 4096, promptCacheMiB: 100, threads: 2, lockArgs: ['--mlock'],
  apiKeyFile: '/etc/graviton-llm/api-key', serverLog: '/var/log/graviton-llm/server.log', buildDir: '/opt/graviton-llm/llama.cpp/k', modelDir: '/var/lib/graviton-llm/models',
};

test('the service runs the build\'s server as its own user, with the key from a systemd credential and nothing else of /opt', () => {
  const lines = serviceUnit(INPUT).split('\n');
  expect(lines[0]).toBe('# Written by boot.js; rewritten on every boot.');
  const exec = lines.find((l) => l.startsWith('ExecStart='))!;
  expect(exec).toMatch(/^ExecStart=\/opt\/graviton-llm\/llama.cpp\/k\/bin\/llama-server --model \/var\/lib\/graviton-llm\/models\/m.gguf --host 0.0.0.0 --port 8080 --api-key-file %d\/api-key .* --mlock$/);
  for (const line of ['User=llama', 'LoadCredential=api-key:/etc/graviton-llm/api-key', 'StandardOutput=append:/var/log/graviton-llm/server.log',
    'ReadOnlyPaths=/opt/graviton-llm/llama.cpp/k /var/lib/graviton-llm/models', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'IPAddressDeny=169.254.169.254 fd00:ec2::254']) {
    expect(lines).toContain(line);
  }
});

test('the service is hardened: no capabilities, no home, a private /tmp, restarted on failure, allowed to lock the model', () => {
  const lines = serviceUnit(INPUT).split('\n');
  for (const line of ['ProtectHome=yes', 'PrivateTmp=yes', 'AmbientCapabilities=', 'CapabilityBoundingSet=', 'Restart=on-failure', 'LimitMEMLOCK=infinity']) {
    expect(lines).toContain(line);
  }
});

const systemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
(systemdAnalyze ? test : test.skip)('systemd-analyze verify finds nothing wrong with the service', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-unit-'));
  try {
    const file = path.join(dir, 'graviton-llm.service');
    // Its program stood in for by one that exists here.
    writeFileSync(file, serviceUnit(INPUT).replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    // Only complaints about this unit count; a container without a running systemd adds noise about other
    // units and the manager itself, and this host has no llama user.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.includes('graviton-llm.service') && !/User=llama|llama.*not found|Failed to/.test(l));
    expect(ours).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every % is doubled but the credential\'s specifier', () => {
  expect(systemdExecLine(['/a%b', CREDENTIAL_KEY_FILE, 'x'], [CREDENTIAL_KEY_FILE])).toBe('/a%%b %d/api-key x');
  expect(systemdExecLine(['/a%b', CREDENTIAL_KEY_FILE])).toBe('/a%%b %%d/api-key');
});

test('every 10 minutes from boot, a log past the limit is copied to .1 and emptied in place', () => {
  const { script, service, timer } = logRotation({ writer: 'boot.js', serverLog: '/var/log/graviton-llm/server.log' });
  expect(script).toContain('f=/var/log/graviton-llm/server.log\n');
  expect(script).toContain(`-gt ${SERVER_LOG_MAX_BYTES} ] || exit 0\n`);
  // Truncated, not replaced: the server holds the file open with O_APPEND.
  expect(script).toContain('cp -f -- "$f" "$f.1" && truncate -s 0 -- "$f"\n');
  expect(service).toContain('ExecStart=/opt/graviton-llm/rotate-server-log.sh\n');
  expect(service).toContain('under 100 MiB');
  expect(timer).toContain('OnBootSec=10min\nOnUnitActiveSec=10min\n');
});
