/**
 * Where the bench finds the endpoint's API key. Never a command-line value:
 * that would land in shell history and in `ps` for everyone on the machine.
 */
import { promises as fs } from 'node:fs';

import type { BenchOptions } from './options';

export async function resolveApiKey(source: BenchOptions['apiKey']): Promise<string | undefined> {
  switch (source.from) {
    case 'none':
      return undefined;
    case 'env':
      return process.env[source.variable]?.trim() || undefined;
    case 'file': {
      let text: string;
      try {
        text = await fs.readFile(source.path, 'utf8');
      } catch (err) {
        throw new Error(`--api-key-file: cannot read ${source.path}: ${(err as Error).message}`);
      }
      const key = text.split(/\r?\n/)[0].trim();
      if (!key) throw new Error(`--api-key-file: ${source.path} is empty`);
      return key;
    }
    case 'parameter': {
      // Loaded only when asked for: most runs (local servers, CI) need no AWS SDK.
      const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
      const client = new SSMClient(source.region ? { region: source.region } : {});
      try {
        const out = await client.send(new GetParameterCommand({ Name: source.name, WithDecryption: true }));
        const key = out.Parameter?.Value?.trim();
        if (!key) throw new Error('the parameter has no value');
        return key;
      } catch (err) {
        throw new Error(`--api-key-parameter: cannot read ${source.name}: ${(err as Error).message}`);
      } finally {
        client.destroy();
      }
    }
  }
}
