/**
 * The boot environment file lib/ renders (lib/boot/boot-environment.ts): what
 * the boot's contract reads back, and what is refused at synth rather than on
 * an instance.
 */
import { renderBootEnvironment } from '../../lib/boot/boot-environment';
import { parseBootEnvironment } from '../../runtime/boot/contract';
import { AWS_ENV, LOCAL_ENV } from '../runtime/boot/support/environments';

test('an aws and a local environment render to files the boot accepts', () => {
  for (const env of [AWS_ENV, LOCAL_ENV]) expect(parseBootEnvironment(renderBootEnvironment(env)).ok).toBe(true);
});

test('a local-only key in aws mode is refused, naming it (no cpuinfo or path override on an instance)', () => {
  expect(() => renderBootEnvironment({ ...AWS_ENV, GLLM_CPUINFO_PATH: '/tmp/x' })).toThrow('boot environment: GLLM_CPUINFO_PATH only allowed with GLLM_MODE=local');
});

test('a value the shell would read as syntax is refused, unless it is a CloudFormation value', () => {
  expect(() => renderBootEnvironment({ ...AWS_ENV, GLLM_MODEL_FILE: 'x$(touch PWNED).gguf' }))
    .toThrow('boot environment: GLLM_MODEL_FILE has characters the boot program does not accept: "x$(touch PWNED).gguf"');
  const token = '${Token[TOKEN.1]}';
  expect(renderBootEnvironment({ ...AWS_ENV, GLLM_STACK_NAME: token }, (v) => v === token)).toContain(`GLLM_STACK_NAME=${token}\n`);
});

test('the builder\'s keys are rendered where given, after the required ones, and refused outside aws mode', () => {
  const text = renderBootEnvironment({ ...AWS_ENV, GLLM_ROLE: 'builder', GLLM_BUILDER_SIGNAL_FILE: '/etc/graviton-llm/builder-signal-url' });
  expect(text.endsWith('GLLM_ROLE=builder\nGLLM_BUILDER_SIGNAL_FILE=/etc/graviton-llm/builder-signal-url\n')).toBe(true);
  expect(parseBootEnvironment(text)).toMatchObject({ ok: true, config: { role: 'builder', builderSignalFile: '/etc/graviton-llm/builder-signal-url' } });
  // Absent, nothing of them is written: the file of a stack without a builder is what it was.
  expect(renderBootEnvironment(AWS_ENV)).not.toMatch(/GLLM_ROLE|GLLM_PINS_FILE|GLLM_BUILDER_SIGNAL_FILE/);
  expect(() => renderBootEnvironment({ ...LOCAL_ENV, GLLM_PINS_FILE: '/p.json' })).toThrow('boot environment: GLLM_PINS_FILE only allowed with GLLM_MODE=aws');
});
