/**
 * The agent phase with fakes of its ports: which configuration the agent is
 * started with (the stack's from SSM, or the fallback that ships the two
 * logs), and that nothing it meets fails the boot: it warns and goes on.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { agentPhase, type AgentPhaseInput, fallbackAgentConfig } from '../../../../runtime/boot/phases/agent';
import type { LogAgent, LogAgentOutcome, SecretReadOutcome, Secrets } from '../../../../runtime/boot/ports';

const root = mkdtempSync(path.join(tmpdir(), 'gllm-agent-phase-'));

/** SSM parameters in memory: a missing one is not found; "flaky" cannot be read. Every read is listed. */
class FakeSsm implements Secrets {
  readonly reads: string[] = [];
  constructor(private readonly values: Record<string, string>) {}
  describe(name: string): string {
    return `SSM parameter ${name}`;
  }
  async readToFile(name: string, dest: string): Promise<SecretReadOutcome> {
    this.reads.push(`${name} -> ${path.basename(dest)}`);
    if (name === 'flaky') return { kind: 'failed', detail: 'ThrottlingException' };
    const value = this.values[name];
    if (value === undefined) return { kind: 'not-found', detail: 'ParameterNotFound' };
    await writeFile(dest, value, { mode: 0o600 });
    return { kind: 'read' };
  }
}

/** The agent: installed or not; start answers `outcome` and records the configuration it was given, as read then. */
class FakeAgent implements LogAgent {
  readonly program = '/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl';
  readonly started: string[] = [];
  constructor(readonly configFile: string, readonly prometheusConfigFile: string, private readonly present = true, private readonly outcome: LogAgentOutcome = { ok: true }) {}
  async installed() { return this.present; }
  async start(configFile: string) {
    this.started.push(readFileSync(configFile, 'utf8'));
    return this.outcome;
  }
}

let n = 0;
function setup(params: { agent?: string; prometheus?: string }, ssm: Record<string, string>, agentOpts: { present?: boolean; outcome?: LogAgentOutcome } = {}) {
  const dir = path.join(root, `m${++n}`, 'etc');
  const agent = new FakeAgent(path.join(dir, 'cloudwatch-agent.json'), path.join(dir, 'prometheus.yaml'), agentOpts.present ?? true, agentOpts.outcome ?? { ok: true });
  const secrets = new FakeSsm(ssm);
  const lines: string[] = [];
  const input: AgentPhaseInput = {
    agentConfigParameter: params.agent ?? '', prometheusConfigParameter: params.prometheus ?? '',
    bootLogGroup: '/gllm/boot', serverLogGroup: '/gllm/server', bootLog: '/var/log/graviton-llm/boot.log', serverLog: '/var/log/graviton-llm/server.log',
    agent, secrets, log: (m) => lines.push(m),
  };
  return { input, agent, secrets, lines, dir };
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

test('the stack\'s configuration and the scrape configuration are read from SSM, readable by root only, and the agent started with them', async () => {
  const s = setup({ agent: '/gllm/agent', prometheus: '/gllm/prometheus' }, { '/gllm/agent': '{"agent":{}}\n', '/gllm/prometheus': 'scrape_configs: []\n' });
  await expect(agentPhase.run(s.input)).resolves.toBeUndefined();
  expect(s.secrets.reads).toEqual(['/gllm/agent -> cloudwatch-agent.json', '/gllm/prometheus -> prometheus.yaml']);
  expect(s.agent.started).toEqual(['{"agent":{}}\n']);
  expect(readFileSync(s.agent.prometheusConfigFile, 'utf8')).toBe('scrape_configs: []\n');
  expect(mode(s.agent.configFile)).toBe('600');
  expect(mode(s.dir)).toBe('700');
  expect(s.lines).toEqual([`amazon-cloudwatch-agent started with ${s.agent.configFile}`]);
});

test('an agent configuration parameter that does not exist: a warning, no agent started, the boot goes on', async () => {
  const s = setup({ agent: '/gllm/agent', prometheus: '/gllm/prometheus' }, {});
  await expect(agentPhase.run(s.input)).resolves.toBeUndefined();
  expect(s.secrets.reads).toEqual(['/gllm/agent -> cloudwatch-agent.json']);
  expect(s.agent.started).toEqual([]);
  expect(s.lines).toEqual(['WARNING: could not read SSM parameter /gllm/agent (ParameterNotFound); no log shipping']);
});

test('an agent configuration that cannot be read (after the adapter\'s retries): the same warning, with why', async () => {
  const s = setup({ agent: 'flaky' }, {});
  await agentPhase.run(s.input);
  expect(s.agent.started).toEqual([]);
  expect(s.lines).toEqual(['WARNING: could not read SSM parameter flaky (ThrottlingException); no log shipping']);
});

test('the scrape configuration missing: a warning, and the agent still ships the logs with the stack\'s configuration', async () => {
  const s = setup({ agent: '/gllm/agent', prometheus: '/gllm/prometheus' }, { '/gllm/agent': '{"logs":{}}' });
  await agentPhase.run(s.input);
  expect(s.agent.started).toEqual(['{"logs":{}}']);
  expect(readdirSync(s.dir)).toEqual(['cloudwatch-agent.json']);
  expect(s.lines).toEqual([
    'WARNING: could not read SSM parameter /gllm/prometheus (ParameterNotFound); no metrics scraping',
    `amazon-cloudwatch-agent started with ${s.agent.configFile}`,
  ]);
});

test('no agent configuration parameter: no SSM read; the fallback ships the boot log and the server log to their groups, one stream per instance', async () => {
  const s = setup({ prometheus: '/gllm/prometheus' }, { '/gllm/prometheus': 'x' });
  await agentPhase.run(s.input);
  expect(s.secrets.reads).toEqual([]);
  expect(s.agent.started).toHaveLength(1);
  expect(JSON.parse(s.agent.started[0])).toEqual({
    logs: { logs_collected: { files: { collect_list: [
      { file_path: '/var/log/graviton-llm/boot.log', log_group_name: '/gllm/boot', log_stream_name: '{instance_id}' },
      { file_path: '/var/log/graviton-llm/server.log', log_group_name: '/gllm/server', log_stream_name: '{instance_id}' },
    ] } } },
  });
  expect(s.agent.started[0]).toBe(fallbackAgentConfig(s.input));
  expect(mode(s.agent.configFile)).toBe('600');
  expect(readdirSync(s.dir)).toEqual(['cloudwatch-agent.json']);
});

test('no agent installed: said once; nothing read, written or started', async () => {
  const s = setup({ agent: '/gllm/agent' }, { '/gllm/agent': '{}' }, { present: false });
  await agentPhase.run(s.input);
  expect(s.secrets.reads).toEqual([]);
  expect(s.agent.started).toEqual([]);
  expect(s.lines).toEqual(['amazon-cloudwatch-agent not installed; logs stay on the instance']);
});

test('an agent that does not start: a warning with how its control program ended; the boot goes on', async () => {
  const s = setup({}, {}, { outcome: { ok: false, detail: 'exit 1' } });
  await expect(agentPhase.run(s.input)).resolves.toBeUndefined();
  expect(s.agent.started).toHaveLength(1);
  expect(s.lines).toEqual(['WARNING: amazon-cloudwatch-agent did not start (exit 1); logs stay on the instance']);
});

test('a configuration file that cannot be written: a warning, no agent started', async () => {
  const s = setup({}, {});
  // The configuration's directory is a file: neither it nor the configuration can be made.
  await writeFile(path.dirname(s.dir), 'not a directory');
  await expect(agentPhase.run(s.input)).resolves.toBeUndefined();
  expect(s.agent.started).toEqual([]);
  expect(s.lines).toEqual([expect.stringMatching(/^WARNING: could not write .*cloudwatch-agent\.json \(.*\); no log shipping$/)]);
});
