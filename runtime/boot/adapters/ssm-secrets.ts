/**
 * The aws-mode Secrets: SSM parameters, read as the instance through the AWS
 * CLI, SecureStrings decrypted.
 * The value reaches the destination file only: the call's argument vector
 * names the parameter, never its value, and no log line carries what the CLI
 * wrote to its standard output.
 */
import type { SecretReadOutcome, Secrets } from '../ports';
import type { AwsCli } from './aws-cli';
import { writeSecretFile } from './file-secrets';

export class SsmSecrets implements Secrets {
  constructor(private readonly cli: AwsCli) {}

  describe(name: string): string {
    return `SSM parameter ${name}`;
  }

  /**
   * Writes the parameter's value to file `dest` (0600, through a temporary
   * name). `--output text` writes just the value, with the newline the CLI
   * ends its output with. A parameter that does not
   * exist is AWS's final answer; access denied is retried, as a new instance
   * role can take seconds to apply.
   */
  async readToFile(name: string, dest: string): Promise<SecretReadOutcome> {
    const read = await this.cli.call({
      what: `read of SSM parameter ${name}`,
      args: ['ssm', 'get-parameter', '--name', name, '--with-decryption', '--query', 'Parameter.Value', '--output', 'text'],
      refusals: ['ParameterNotFound'],
    });
    if (read.kind === 'refused') return { kind: 'not-found', detail: read.detail };
    if (read.kind === 'failed') return { kind: 'failed', detail: read.detail };
    return writeSecretFile(dest, read.stdout);
  }
}
