/**
 * The CloudWatch agent adapter against a stand-in control program (a shell
 * script that records its arguments, prints, and exits as told): how it is
 * called, that its output lands in the boot log, and how a failure reads.
 */
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchAgent } from '../../../../runtime/boot/adapters/cloudwatch-agent';
import { systemClock } from '../../../../runtime/boot/core/clock';
import { Exec } from '../../../../runtime/boot/core/exec';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gllm-cw-agent-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A control program that records its arguments in DIR/argv, says so on stdout and stderr, and exits `code`. */
function ctl(code: number): string {
  const file = join(dir, 'amazon-cloudwatch-agent-ctl');
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$*" >"${dir}/argv"\necho "ctl out"\necho "ctl err" >&2\nexit ${code}\n`);
  chmodSync(file, 0o755);
  return file;
}

function agent(program: string, limitMs = () => Date.now() + 60_000): CloudWatchAgent {
  return new CloudWatchAgent({
    program, configFile: join(dir, 'cloudwatch-agent.json'), prometheusConfigFile: join(dir, 'prometheus.yaml'),
    exec: new Exec({ clock: systemClock }), limitMs, logFile: join(dir, 'boot.log'),
  });
}

test('start loads the configuration file and (re)starts the agent; its output is appended to the boot log', async () => {
  appendFileSync(join(dir, 'boot.log'), 'earlier line\n');
  const a = agent(ctl(0));
  expect(await a.installed()).toBe(true);
  await expect(a.start(a.configFile)).resolves.toEqual({ ok: true });
  expect(readFileSync(join(dir, 'argv'), 'utf8')).toBe(`-a fetch-config -m ec2 -s -c file:${a.configFile}\n`);
  expect(readFileSync(join(dir, 'boot.log'), 'utf8')).toBe('earlier line\nctl out\nctl err\n');
});

test('a control program that fails: not ok, with its exit status', async () => {
  const a = agent(ctl(3));
  await expect(a.start(a.configFile)).resolves.toEqual({ ok: false, detail: 'exit 3' });
});

test('no time left before the boot\'s limit: not run', async () => {
  const a = agent(ctl(0), () => Date.now() - 1);
  await expect(a.start(a.configFile)).resolves.toEqual({ ok: false, detail: "not started: no time left before the boot's time limit" });
  expect(() => readFileSync(join(dir, 'argv'))).toThrow();
});

test('installed: false where the control program is missing or may not be run', async () => {
  expect(await agent(join(dir, 'nothing-here')).installed()).toBe(false);
  const file = ctl(0);
  chmodSync(file, 0o644);
  expect(await agent(file).installed()).toBe(false);
});
