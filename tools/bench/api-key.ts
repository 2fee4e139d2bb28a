/**
 * Where the bench finds the endpoint's API key. Never a command-line value:
 * that would land in shell history and in `ps` for everyone on the machine.
 */
import { promises as fs, readFileSync } from 'node:fs';

import type { BenchOptions } from './options';

/**
 * The key in a key file (its first line, trimmed), or why there is none:
 * the rule `--api-key-file` is checked by before a run (options.ts,
 * smoke-options.ts) and read by when the run starts.
 */
export function keyFromFileText(text: string): { readonly key: string } | { readonly problem: string } {
  const key = text.split(/\r?\n/)[0].trim();
  return key ? { key } : { problem: 'is empty: expected the key on its first line' };
}

/** `--api-key-file`'s problem (unreadable, or no key on its first line), or undefined when it holds a key. */
export function apiKeyFileProblem(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return `--api-key-file: cannot read ${file}: ${(err as Error).message}`;
  }
  const got = keyFromFileText(text);
  return 'problem' in got ? `--api-key-file: ${file} ${got.problem}` : undefined;
}

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
      const got = keyFromFileText(text);
      if ('problem' in got) throw new Error(`--api-key-file: ${source.path} ${got.problem}`);
      return got.key;
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
