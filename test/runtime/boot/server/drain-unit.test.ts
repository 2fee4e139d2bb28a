/** The drain watcher's unit: what it runs and how; that systemd accepts it, where systemd-analyze is installed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DRAIN_UNIT_NAME, drainWatchUnit } from '../../../../runtime/boot/server/drain-unit';

const INPUT = { writer: 'graviton-llm boot', node: '/usr/bin/node-24', bundle: '/opt/graviton-llm/boot.js', envFile: '/etc/graviton-llm/boot.env' };

test('it runs the boot\'s bundle in drain-watch mode with the boot\'s configuration, restarted if it crashes, never enabled', () => {
  const lines = drainWatchUnit(INPUT).split('\n');
  expect(lines[0]).toBe('# Written by graviton-llm boot; rewritten on every boot.');
  expect(lines).toContain('ExecStart=/usr/bin/node-24 /opt/graviton-llm/boot.js drain-watch /etc/graviton-llm/boot.env');
  expect(lines).toContain('Restart=on-failure');
  expect(lines).toContain('After=network-online.target graviton-llm.service');
  // The boot starts it once the server serves; enabled, it would start at boot before the server does.
  expect(lines).not.toContain('[Install]');
  // Root: it reads the API key file and stops llama-server's unit.
  expect(lines.some((l) => l.startsWith('User='))).toBe(false);
});

test('a % in a path is not taken as a specifier', () => {
  expect(drainWatchUnit({ ...INPUT, bundle: '/opt/a%b/boot.js' })).toContain('ExecStart=/usr/bin/node-24 /opt/a%%b/boot.js drain-watch');
});

const systemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;
if (!systemdAnalyze) console.log('skipped: systemd-analyze verify of the drain unit (no systemd-analyze on this host)');
(systemdAnalyze ? test : test.skip)('systemd-analyze verify finds nothing wrong with the unit', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-drain-unit-'));
  try {
    const file = path.join(dir, DRAIN_UNIT_NAME);
    // Its program stood in for by one that exists here.
    writeFileSync(file, drainWatchUnit({ ...INPUT, node: '/bin/true' }));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    // Only complaints about this file's lines count (`FILE:LINE: ...`, as systemd-analyze names a bad key or value);
    // a container without a running systemd adds noise about other units and the manager.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.startsWith(`${file}:`));
    expect(ours).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
