/**
 * The metrics path against a real llama-server: the agent's scrape (with the
 * API key, as the scrape configuration sends it) returns every metric the kit
 * publishes, each selected by the agent configuration's EMF declaration, with
 * the fleet label the scrape configuration adds turned into the dimension.
 * The CloudWatch agent itself cannot run here; what it is given is checked
 * against what the server really exposes.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INSTANCE_PATHS, SCRAPE_JOB, renderAgentConfig, renderPrometheusConfig } from '../../lib/monitoring/agent-config';
import { FLEET_DIMENSION, METRIC_NAMESPACE, SERVER_METRICS } from '../../lib/monitoring/metric-definitions';
import { buildLlamaCpp } from '../support/llama-cpp-build';
import { ensureLlamaCppSource } from '../support/llama-cpp-source';
import { RunningLlamaServer, startLlamaServer } from '../support/llama-server';
import { ensureTinyModel, quantizeModel, quantizedPath } from '../support/tiny-model';

const SETUP_TIMEOUT_MS = 60 * 60 * 1000;
const API_KEY = 'metrics-test-key-0123456789';
const PROPS = {
  autoScalingGroupName: 'GravitonLlm-fleet',
  port: 8080,
  bootLogGroupName: 'boot-logs',
  serverLogGroupName: 'server-logs',
  metricsLogGroupName: 'metrics-logs',
};

interface EmfDeclaration {
  source_labels: string[];
  label_matcher: string;
  dimensions: string[][];
  metric_selectors: string[];
}

describe('server metrics: agent configuration against a real llama-server /metrics', () => {
  let server: RunningLlamaServer | undefined;
  let exposition: string;
  let keyFile: string;

  beforeAll(async () => {
    const source = await ensureLlamaCppSource();
    const build = await buildLlamaCpp({ source, spec: { arch: 'native' }, targets: ['llama-server', 'llama-quantize'] });
    const f32 = await ensureTinyModel({ source });
    const q4 = await quantizeModel(f32.path, quantizedPath(f32.path, 'Q4_0'), 'Q4_0', { llamaQuantize: build.binaries['llama-quantize'] });
    keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-metrics-')), 'api-key');
    fs.writeFileSync(keyFile, API_KEY, { mode: 0o600 });
    server = await startLlamaServer({ binary: build.binaries['llama-server'], model: q4.path, apiKeyFile: keyFile, metrics: true, parallel: 2, ctxSize: 1024, threads: 2 });
    // One completed request so the throughput gauges and counters carry real values.
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'Authorization': `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }], max_tokens: 8 }),
    });
    expect(res.status).toBe(200);
    exposition = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${API_KEY}` } })).text();
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
  });

  test('/metrics needs the API key, as the scrape configuration assumes', async () => {
    expect((await fetch(`${server!.url}/metrics`)).status).toBe(401);
  });

  test('every published metric is in the exposition, and the EMF declaration selects exactly those', () => {
    const names = new Set(exposition.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(/[{\s]/)[0]));
    const config = renderAgentConfig(PROPS) as any;
    const prometheus = config.logs.logs_collected.prometheus;
    const declaration: EmfDeclaration = prometheus.emf_processor.metric_declaration[0];
    const selected = [...names].filter((n) => declaration.metric_selectors.some((re) => new RegExp(re).test(n)));
    expect(selected.sort()).toEqual(Object.values(SERVER_METRICS).map((m) => m.prometheusName).sort());
    expect(prometheus.emf_processor.metric_namespace).toBe(METRIC_NAMESPACE);
    expect(declaration.dimensions).toEqual([[FLEET_DIMENSION]]);
    expect(new RegExp(declaration.label_matcher).test(SCRAPE_JOB)).toBe(true);
    const processedTokens = exposition.split('\n').find((l) => l.startsWith(`${SERVER_METRICS.tokensPredictedTotal.prometheusName} `));
    expect(Number(processedTokens?.split(' ')[1])).toBeGreaterThan(0);
    console.log(`llama-server /metrics: ${names.size} series; published: ${selected.join(', ')}`);
  });

  test('the scrape configuration authenticates with the key file and labels the fleet', () => {
    const yaml = renderPrometheusConfig(PROPS);
    expect(yaml).toContain(`credentials_file: ${INSTANCE_PATHS.apiKeyFile}`);
    expect(yaml).toContain(`- targets: ['127.0.0.1:${PROPS.port}']`);
    expect(yaml).toContain(`${FLEET_DIMENSION}: ${PROPS.autoScalingGroupName}`);
    expect(yaml).toContain(`job_name: ${SCRAPE_JOB}`);
  });
});
