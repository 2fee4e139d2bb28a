/** The drain-watch phase and the systemd adapter that starts the watcher, with a fake systemctl. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemdDrainWatch } from '../../../../runtime/boot/adapters/systemd-drain-watch';
import type { ExecRequest, ExecResult } from '../../../../runtime/boot/core/exec';
import { drainWatchPhase } from '../../../../runtime/boot/phases/drain-watch';
import { DRAIN_UNIT_NAME } from '../../../../runtime/boot/server/drain-unit';

function fakeExec(failing?: string) {
  const calls: string[] = [];
  const run = async (req: ExecRequest): Promise<ExecResult> => {
    const line = `${req.program} ${(req.args ?? []).join(' ')}`;
    calls.push(line);
    const fails = failing !== undefined && line.includes(failing);
    return { step: req.step, program: req.program, argv: [req.program, ...(req.args ?? [])], exitCode: fails ? 1 : 0, signal: undefined, timedOut: false, startError: undefined, stdout: '', stderr: fails ? 'Unit failed' : '' };
  };
  return { calls, exec: { run } };
}

function watcher(failing?: string) {
  const root = mkdtempSync(join(tmpdir(), 'gllm-drain-watch-'));
  const { calls, exec } = fakeExec(failing);
  const w = new SystemdDrainWatch({ exec, limitMs: () => Date.now() + 60_000, root, writer: 'w', node: '/usr/bin/node', bundle: '/opt/graviton-llm/boot.js', envFile: '/etc/graviton-llm/boot.env' });
  return { w, calls, unit: join(root, 'etc/systemd/system', DRAIN_UNIT_NAME) };
}

test('writes the unit, then (re)starts the watcher; no daemon-reload, which would reset the running server\'s start limit', async () => {
  const { w, calls, unit } = watcher();
  await expect(w.start()).resolves.toEqual({ ok: true, unit: DRAIN_UNIT_NAME });
  expect(readFileSync(unit, 'utf8')).toContain('drain-watch /etc/graviton-llm/boot.env');
  expect(calls).toEqual([`systemctl restart ${DRAIN_UNIT_NAME}`]);
});

test('a systemctl that fails: not started, and why', async () => {
  const { w, unit } = watcher('restart');
  await expect(w.start()).resolves.toMatchObject({ ok: false, detail: expect.stringContaining('Unit failed') });
  expect(existsSync(unit)).toBe(true);
});

test('the phase records a started watcher, and only warns when it could not start: no boot fails for it', async () => {
  const events: string[] = [];
  const lines: string[] = [];
  const input = (ok: boolean) => ({
    watcher: { start: async () => (ok ? { ok: true as const, unit: DRAIN_UNIT_NAME } : { ok: false as const, detail: 'systemctl restart: exit 1' }) },
    log: (m: string) => lines.push(m), record: (e: string, d: string) => events.push(`${e} ${d}`),
  });
  await drainWatchPhase.run(input(true));
  await expect(drainWatchPhase.run(input(false))).resolves.toBeUndefined();
  expect(events).toEqual([`started ${DRAIN_UNIT_NAME}`, 'not-started systemctl restart: exit 1']);
  expect(lines[1]).toMatch(/^WARNING/);
});
