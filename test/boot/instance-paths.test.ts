import { INSTANCE_PATHS } from '../../lib/monitoring/agent-config';
import { INSTANCE_LAYOUT } from '../../runtime/boot/layout';

/**
 * runtime/boot/layout.ts defines the paths the boot writes (its own table is
 * test/runtime/boot/layout.test.ts's); the agent configuration the stack
 * renders reads files the boot writes at those paths.
 */
test('the boot opens its log, and takes its lock, where the layout says', () => {
  expect(INSTANCE_LAYOUT.bootLog).toBe(`${INSTANCE_LAYOUT.logDir}/boot.log`);
  expect(INSTANCE_LAYOUT.bootLock).toBe(`${INSTANCE_LAYOUT.stateDir}/boot.lock`);
});

test('the CloudWatch agent reads the files the boot writes', () => {
  expect(INSTANCE_PATHS.bootLog).toBe(INSTANCE_LAYOUT.bootLog);
  expect(INSTANCE_PATHS.serverLog).toBe(INSTANCE_LAYOUT.serverLog);
  expect(INSTANCE_PATHS.apiKeyFile).toBe(INSTANCE_LAYOUT.apiKeyFile);
});
