import * as fs from 'node:fs';
import * as path from 'node:path';
import { INSTANCE_PATHS } from '../../lib/monitoring/agent-config';
import { REPO_ROOT } from '../support/synth';

/**
 * The agent configuration names files the boot script writes; the script's
 * aws-mode layout and the TypeScript constants must name the same paths.
 */
test('the boot script writes the files the CloudWatch agent configuration reads', () => {
  const script = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'boot', 'boot.sh'), 'utf8');
  const logDir = /^\s*LOG_DIR=(\S+)$/m.exec(script)?.[1];
  const secretDir = /^\s*SECRET_DIR=(\S+)$/m.exec(script)?.[1];
  expect(`${logDir}/boot.log`).toBe(INSTANCE_PATHS.bootLog);
  expect(script).toContain('open_log "$LOG_DIR/boot.log"');
  expect(`${logDir}/server.log`).toBe(INSTANCE_PATHS.serverLog);
  expect(script).toContain('SERVER_LOG=$LOG_DIR/server.log');
  expect(`${secretDir}/api-key`).toBe(INSTANCE_PATHS.apiKeyFile);
  expect(script).toContain('API_KEY_FILE=$SECRET_DIR/api-key');
  expect(script).toContain(`conf=${INSTANCE_PATHS.agentConfig} prom=${INSTANCE_PATHS.prometheusConfig}`);
});
