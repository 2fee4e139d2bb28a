/**
 * A CDK app of one's own, as a library user writes it (examples/embed): an
 * App, a Stack, and the package's constructs from its public entry. It builds
 * one case of bad-props-cases.ts (named by the first argument, or the good
 * props with `--good`) and synthesizes.
 *
 * Like the kit's own bin, it prints a PropsError's message, which names every
 * problem, and exits 1; anything else is left uncaught, so Node prints its
 * stack trace, which the test refuses. Bundling is off: a case that is wrongly
 * accepted still synthesizes quickly (and fails its test by exiting 0).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { GravitonInstanceType, GravitonLlmEndpoint, LlamaModel, PropsError } from '../../lib';
import { BAD_PROPS_CASES, CaseApp, GOOD_PROPS } from './bad-props-cases';

const name = process.argv[2];
const build = name === '--good' ? GOOD_PROPS : BAD_PROPS_CASES.find((c) => c.name === name)?.build;
if (!build) {
  process.stderr.write(`no such case: ${JSON.stringify(name)}\n`);
  process.exit(2);
}

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-library-'));
const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'Library', { env: { region: 'us-east-1' } });
const caseApp: CaseApp = {
  stack,
  endpoint: (props, id = 'Llm') => new GravitonLlmEndpoint(stack, id, {
    model: LlamaModel.LLAMA_3_2_1B_INSTRUCT_Q4_0,
    instanceType: GravitonInstanceType.of('c7g.xlarge'),
    ...props,
  } as never),
};
try {
  build(caseApp);
  app.synth();
} catch (e) {
  if (e instanceof PropsError) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 1;
  } else {
    throw e;
  }
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}
