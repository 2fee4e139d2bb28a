/**
 * The api-key phase: the key llama-server checks every request against,
 * installed where the server is given it (layout.ts apiKeyFile), readable by
 * the boot's user only (root on an instance; systemd hands it to the server
 * as a credential). Where the key comes
 * from (an SSM parameter, a developer's file) is the Secrets adapter's.
 */
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { type Phase, PhaseFailure } from '../core/phase';
import type { BootLayout } from '../layout';
import type { Secrets } from '../ports';

export const API_KEY_PHASE = 'api-key';

export interface ApiKeyPhaseInput {
  /** The secret that holds the key, as the Secrets adapter names it: GLLM_API_KEY_PARAMETER on an instance, GLLM_API_KEY_FILE locally. */
  readonly secret: string;
  readonly secrets: Secrets;
  /** secretDir: made readable by its owner only; apiKeyFile: where the key goes. */
  readonly layout: Pick<BootLayout, 'secretDir' | 'apiKeyFile'>;
  /** The boot's log, for people. */
  readonly log: (message: string) => void;
  /** Records an event of this phase, for the boot's result. */
  readonly record: (event: string, detail: string) => void;
}

export interface ApiKeyPhaseOutput {
  readonly apiKeyFile: string;
}

function fail(reason: string): never {
  throw new PhaseFailure(API_KEY_PHASE, reason);
}

export const apiKeyPhase: Phase<ApiKeyPhaseInput, ApiKeyPhaseOutput> = {
  name: API_KEY_PHASE,
  async run(input) {
    const { secretDir, apiKeyFile } = input.layout;
    await mkdir(secretDir, { recursive: true });
    await chmod(secretDir, 0o700);
    // Whole under its name or not there: the server never reads half a key, nor a key that is not yet 0600.
    const tmp = `${apiKeyFile}.tmp.${process.pid}`;
    try {
      const read = await input.secrets.readToFile(input.secret, tmp);
      if (read.kind !== 'read') {
        input.log(`read of ${input.secrets.describe(input.secret)} failed: ${read.detail}`);
        fail(`could not read the API key from ${input.secrets.describe(input.secret)}`);
      }
      if ((await readFile(tmp, 'utf8')).replace(/\s/g, '') === '') fail('the API key is empty');
      await chmod(tmp, 0o600);
      await rename(tmp, apiKeyFile);
    } finally {
      await rm(tmp, { force: true });
    }
    input.log(`API key installed in ${apiKeyFile} (0600)`);
    input.record('api-key-installed', apiKeyFile);
    return { apiKeyFile };
  },
};
