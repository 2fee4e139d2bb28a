/**
 * Runs the smoke-test handler once in a process of its own, with SSM mocked to
 * return KEY, and prints its verdict as the last line. A process of its own,
 * because NODE_EXTRA_CA_CERTS (how a Lambda function is told to trust a
 * private CA) is read only when Node starts.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../../../runtime/smoke-test/handler';

mockClient(SSMClient).on(GetParameterCommand).resolves({ Parameter: { Value: process.env.KEY } });
handler({}, { getRemainingTimeInMillis: () => 60_000 }).then((result) => {
  process.stdout.write(`\nRESULT ${JSON.stringify(result)}\n`);
});
