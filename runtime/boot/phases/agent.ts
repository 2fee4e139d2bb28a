/**
 * The agent phase (an instance's): starts the agent that ships the boot's and
 * the server's logs, and llama-server's /metrics, to CloudWatch, with the
 * stack's configuration from SSM, or else one that ships the two logs.
 * Optional: it never fails the
 * boot (warnings only), and the agent picks up the boot log from its first
 * line whenever it starts. It runs where the machine's adapters have a
 * LogAgent (main.ts); a local boot has none.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { replaceFile } from '../core/files';
import type { Phase } from '../core/phase';
import type { LogAgent, Secrets } from '../ports';

export const AGENT_PHASE = 'agent';

export interface AgentPhaseInput {
  /** GLLM_AGENT_CONFIG_PARAMETER: the stack's agent configuration (both logs, llama-server's /metrics); empty: the fallback, the two logs only. */
  readonly agentConfigParameter: string;
  /** GLLM_PROMETHEUS_CONFIG_PARAMETER: the scrape configuration the stack's agent configuration names; empty: none. */
  readonly prometheusConfigParameter: string;
  /** GLLM_BOOT_LOG_GROUP, GLLM_SERVER_LOG_GROUP: where the fallback ships the boot's and the server's logs. */
  readonly bootLogGroup: string;
  readonly serverLogGroup: string;
  /** layout.ts bootLog and serverLog: the files the fallback ships. */
  readonly bootLog: string;
  readonly serverLog: string;
  readonly agent: LogAgent;
  /** The SSM parameters, read to files readable by root only. */
  readonly secrets: Secrets;
  readonly log: (message: string) => void;
}

/** The agent configuration that ships the boot's and the server's logs, one stream per instance: the fallback where the stack names no parameter. */
export function fallbackAgentConfig(files: Pick<AgentPhaseInput, 'bootLog' | 'bootLogGroup' | 'serverLog' | 'serverLogGroup'>): string {
  const collect = (file: string, group: string) => ({ file_path: file, log_group_name: group, log_stream_name: '{instance_id}' });
  const config = { logs: { logs_collected: { files: { collect_list: [collect(files.bootLog, files.bootLogGroup), collect(files.serverLog, files.serverLogGroup)] } } } };
  return `${JSON.stringify(config)}\n`;
}

/** Writes the agent's configuration file; false (logged) where it could not. */
async function writeConfig(input: AgentPhaseInput): Promise<boolean> {
  const { agent, secrets, log } = input;
  if (input.agentConfigParameter === '') {
    await replaceFile(agent.configFile, fallbackAgentConfig(input), 0o600);
    return true;
  }
  const read = await secrets.readToFile(input.agentConfigParameter, agent.configFile);
  if (read.kind !== 'read') {
    log(`WARNING: could not read ${secrets.describe(input.agentConfigParameter)} (${read.detail}); no log shipping`);
    return false;
  }
  if (input.prometheusConfigParameter !== '') {
    const prom = await secrets.readToFile(input.prometheusConfigParameter, agent.prometheusConfigFile);
    if (prom.kind !== 'read') log(`WARNING: could not read ${secrets.describe(input.prometheusConfigParameter)} (${prom.detail}); no metrics scraping`);
  }
  return true;
}

export const agentPhase: Phase<AgentPhaseInput> = {
  name: AGENT_PHASE,
  async run(input) {
    const { agent, log } = input;
    if (!(await agent.installed())) {
      log('amazon-cloudwatch-agent not installed; logs stay on the instance');
      return;
    }
    try {
      await mkdir(dirname(agent.configFile), { recursive: true, mode: 0o700 });
      if (!(await writeConfig(input))) return;
    } catch (e) {
      log(`WARNING: could not write ${agent.configFile} (${e instanceof Error ? e.message : String(e)}); no log shipping`);
      return;
    }
    const started = await agent.start(agent.configFile);
    if (!started.ok) log(`WARNING: amazon-cloudwatch-agent did not start (${started.detail}); logs stay on the instance`);
    else log(`amazon-cloudwatch-agent started with ${agent.configFile}`);
  },
};
