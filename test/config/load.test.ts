import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../lib/config/load';
import { DEFAULT_VPC_CIDR, resolveConfig } from '../../lib/config/resolve';
import { DEFAULT_MODEL_ID } from '../../lib/catalogs/model-catalog';
import { LLAMA_CPP_DEFAULT_REF, LLAMA_CPP_RELEASE_COMMITS } from '../../lib/catalogs/llama-cpp-release';

describe('defaults', () => {
  const config = resolveConfig(loadConfig({}));

  test('are cheap to try: the 3B model on a Graviton3 compute instance, 1 to 3 instances, internal', () => {
    expect(config.model.id).toBe(DEFAULT_MODEL_ID);
    expect(config.model.architecture.id).toBe('llama-3.2-3b');
    expect(config.instance.instanceType).toBe('c7g.2xlarge');
    expect(config.instance.generationSpec.name).toBe('Graviton3');
    expect([config.minCapacity, config.maxCapacity]).toEqual([1, 3]);
    expect(config.internetFacing).toBe(false);
  });

  test('fill in what depends on other fields', () => {
    expect(config.llamaCppRef).toBe(LLAMA_CPP_DEFAULT_REF);
    expect(config.llamaCppCommit).toBe(LLAMA_CPP_RELEASE_COMMITS[LLAMA_CPP_DEFAULT_REF]);
    expect(config.apiKeyParameterName).toBe('/graviton-llm/GravitonLlm/api-key');
    expect(config.network).toEqual({ kind: 'new', cidr: DEFAULT_VPC_CIDR, maxAzs: 2, natGateways: 1 });
    // Twice the 2.0 GB model (download and verified copy) plus 20 GiB for the OS and the build.
    expect(config.rootVolumeGiB).toBe(24);
    expect(config.loadBalancerIdleTimeoutSeconds).toBe(600);
  });
});

describe('sources', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-load-'));
  });

  test('command line beats config file beats cdk.json, field by field', () => {
    fs.writeFileSync(path.join(dir, 'prod.json'), JSON.stringify({ instanceType: 'c7g.4xlarge', maxCapacity: 6, minCapacity: 2 }));
    const config = loadConfig({
      'graviton-llm': { instanceType: 'c7g.xlarge', maxCapacity: 4, parallelSlots: 2 },
      'config': 'prod.json',
      'maxCapacity': '8',
    }, dir);
    expect(config.instanceType).toBe('c7g.4xlarge');
    expect(config.maxCapacity).toBe(8);
    expect(config.minCapacity).toBe(2);
    expect(config.parallelSlots).toBe(2);
  });

  test('command-line strings become numbers, booleans, lists and objects', () => {
    const config = loadConfig({
      minCapacity: '2',
      internetFacing: 'false',
      allowedCidrs: '10.0.0.0/8, 192.168.0.0/16',
      customModel: JSON.stringify({ source: 's3://my-models/m.gguf', sha256: 'b'.repeat(64), sizeBytes: 773_025_920, architecture: 'llama-3.2-1b', quantization: 'Q4_0' }),
    });
    expect(config.minCapacity).toBe(2);
    expect(config.internetFacing).toBe(false);
    expect(config.allowedCidrs).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(config.customModel?.sizeBytes).toBe(773_025_920);
  });

  test('dotted keys set one field of a nested object, on top of the file', () => {
    fs.writeFileSync(path.join(dir, 'custom.json'), JSON.stringify({
      customModel: { source: 's3://my-models/m.gguf', sha256: 'b'.repeat(64), sizeBytes: 2_479_001_600, architecture: 'llama-3.2-1b', quantization: 'F16' },
    }));
    const config = loadConfig({ 'config': 'custom.json', 'customModel.quantizeTo': 'Q4_0' }, dir);
    expect(config.customModel).toMatchObject({ source: 's3://my-models/m.gguf', quantization: 'F16', quantizeTo: 'Q4_0' });
  });

  test('CDK\'s own context keys are not taken for configuration', () => {
    expect(() => loadConfig({
      '@aws-cdk/core:validateAgainstDefaultRules': true,
      'aws:cdk:enable-path-metadata': true,
      'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'],
    })).not.toThrow();
  });
});

describe('custom models', () => {
  test('an F16 source quantized on the instance is sized by its quantized bytes', () => {
    const config = resolveConfig(loadConfig({
      'graviton-llm': {
        customModel: {
          source: 'https://models.example.com/tuned-f16.gguf',
          sha256: 'c'.repeat(64),
          sizeBytes: 6_430_000_000,
          architecture: 'llama-3.2-3b',
          quantization: 'F16',
          quantizeTo: 'Q4_0',
        },
      },
    }));
    expect(config.model.id).toBe('custom');
    expect(config.model.fileName).toBe(`custom-${'c'.repeat(16)}.gguf`);
    // Served bytes are about 4.5/16 of the F16 file.
    expect(config.memory.modelBytes).toBeLessThan(2_000_000_000);
    expect(config.memory.modelBytes).toBeGreaterThan(1_700_000_000);
    // Room for the download, its verified copy and the quantized output.
    expect(config.rootVolumeGiB).toBeGreaterThanOrEqual(20 + Math.ceil((2 * 6.43e9 + 1.8e9) / 2 ** 30));
  });
});

describe('what Auto Scaling and EC2 accept passes', () => {
  test.each(['0 8 * * MON-FRI', '*/15 * * * *', '0 0 1 JAN,JUL *', '30 6-18/2 * * 1-5', '59 23 31 12 6', '0 22 * * sun'])('cron %s', (cron) => {
    expect(() => resolveConfig(loadConfig({ 'graviton-llm': { scheduledCapacity: [{ name: 'a', cron, minCapacity: 1, maxCapacity: 1 }] } }))).not.toThrow();
  });

  test.each(['10.64.0.0/16', '0.0.0.0/0', '192.168.1.7/32', '172.16.16.0/20', '10.0.0.0/8'])('network address %s', (cidr) => {
    // 0.0.0.0/0 only with internetFacing, which needs a certificate.
    const facing = cidr.endsWith('/0') ? { internetFacing: 'true', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012' } : {};
    expect(resolveConfig(loadConfig({ allowedCidrs: cidr, ...facing })).allowedCidrs).toEqual([cidr]);
  });
});
