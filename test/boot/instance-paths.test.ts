import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INSTANCE_PATHS } from '../../lib/monitoring/agent-config';
import { INSTANCE_FILES, INSTANCE_LAYOUT, localLayout, type BootLayout } from '../../runtime/boot/layout';
import { REPO_ROOT } from '../support/synth';

/**
 * runtime/boot/layout.ts defines the paths; boot.sh's set_layout still holds
 * its own copy while instances run it, so both tables are run here, side by
 * side, and must name the same paths. The agent configuration reads files the
 * boot writes at those paths.
 */
const SCRIPT = path.join(REPO_ROOT, 'lib', 'boot', 'boot.sh');

/** boot.sh's layout for a mode, read by running its set_layout. */
function scriptLayout(mode: 'aws' | 'local', workDir = ''): Record<string, string> {
  const vars = ['INSTALL_ROOT', 'STATE_DIR', 'MODEL_DIR', 'LOG_DIR', 'SECRET_DIR', 'BUILD_WORK', 'API_KEY_FILE', 'PID_FILE', 'SERVER_LOG'];
  const r = spawnSync('bash', ['-c', `source "$0"; CFG[GLLM_MODE]=$1; CFG[GLLM_WORK_DIR]=$2; set_layout; for v in ${vars.join(' ')}; do printf '%s=%s\\n' "$v" "\${!v}"; done`, SCRIPT, mode, workDir], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The same names for the TypeScript layout. */
function asScriptNames(l: BootLayout): Record<string, string> {
  return {
    INSTALL_ROOT: l.installRoot, STATE_DIR: l.stateDir, MODEL_DIR: l.modelDir, LOG_DIR: l.logDir, SECRET_DIR: l.secretDir,
    BUILD_WORK: l.buildWork, API_KEY_FILE: l.apiKeyFile, PID_FILE: l.pidFile, SERVER_LOG: l.serverLog,
  };
}

test('boot.sh lays out an instance as runtime/boot/layout.ts does', () => {
  expect(scriptLayout('aws')).toEqual(asScriptNames(INSTANCE_LAYOUT));
});

test('boot.sh lays out a local work directory as runtime/boot/layout.ts does', () => {
  const work = path.join(os.tmpdir(), 'gllm-layout-work');
  expect(scriptLayout('local', work)).toEqual(asScriptNames(localLayout(work)));
});

test('boot.sh opens its log, and takes its lock, where the layout says', () => {
  const script = fs.readFileSync(SCRIPT, 'utf8');
  expect(INSTANCE_LAYOUT.bootLog).toBe(`${INSTANCE_LAYOUT.logDir}/boot.log`);
  expect(script).toContain('open_log "$LOG_DIR/boot.log"');
  expect(INSTANCE_LAYOUT.bootLock).toBe(`${INSTANCE_LAYOUT.stateDir}/boot.lock`);
  expect(script).toContain('exec 9>"$STATE_DIR/boot.lock"');
});

test('the CloudWatch agent reads the files the boot writes', () => {
  const script = fs.readFileSync(SCRIPT, 'utf8');
  expect(INSTANCE_PATHS.bootLog).toBe(INSTANCE_LAYOUT.bootLog);
  expect(INSTANCE_PATHS.serverLog).toBe(INSTANCE_LAYOUT.serverLog);
  expect(INSTANCE_PATHS.apiKeyFile).toBe(INSTANCE_LAYOUT.apiKeyFile);
  expect(script).toContain(`conf=${INSTANCE_FILES.agentConfig} prom=${INSTANCE_FILES.prometheusConfig}`);
  expect(script).toContain(`local script=${INSTANCE_FILES.rotateServerLogScript}`);
});
