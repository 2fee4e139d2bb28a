/**
 * The environment `npm run local` writes (lib/boot/local-boot.ts
 * localBootEnvironment) from its checked flags; the whole command runs in
 * test/integration/local-boot.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { localBootEnvironment } from '../../lib/boot/local-boot';
import { parseLocalBootArgs } from '../../lib/boot/local-boot-options';
import { parseBootEnvironment } from '../../runtime/boot/contract';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-local-boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('renders an environment the boot accepts, with the source directory and the model URL as given', () => {
  // A git repository (as far as the flags' check looks: it has .git) to take the release's commit from.
  const src = path.join(dir, 'llama-src');
  mkdirSync(path.join(src, '.git'), { recursive: true });
  const parsed = parseLocalBootArgs(
    ['--model-url', 'http://127.0.0.1:8000/tiny.gguf', '--sha256', 'a'.repeat(64), '--size-bytes', '42', '--work-dir', path.join(dir, 'lw'), '--llama-src', src, '--generation', '3'],
    dir,
  );
  if (!('options' in parsed)) throw new Error(`unexpected ${JSON.stringify(parsed)}`);
  const env = localBootEnvironment(parsed.options, path.join(dir, 'key'));
  expect(env.GLLM_MODEL_FILE).toBe('tiny.gguf');
  expect(env.GLLM_CACHE_URI).toBe(path.join(dir, 'lw', 'cache'));
  const read = parseBootEnvironment(renderBootEnvironment(env));
  if (!read.ok) throw new Error(JSON.stringify(read.problems));
  expect(read.config).toMatchObject({
    mode: 'local', llamaCppSourceDir: src, modelSource: 'http://127.0.0.1:8000/tiny.gguf', workDir: path.join(dir, 'lw'), apiKeyFile: path.join(dir, 'key'), generations: [expect.objectContaining({ generation: 3 })],
  });
});
