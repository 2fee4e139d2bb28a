import { App, AppProps } from 'aws-cdk-lib';
import { ConfigError } from '../config/config-error';
import { buildKitApp } from './build-app';
import { KitEntry } from './kit-entry';
import { AppMode } from './mode-context';

export interface RunKitAppOptions {
  /**
   * Props of the App. The CLI passes the context and output directory in the
   * environment (CDK_CONTEXT_JSON, CDK_OUTDIR), which App reads itself; tests
   * pass them here instead.
   * @default - none: everything from the environment, as under `cdk synth`
   */
  readonly appProps?: AppProps;
  /** Directory cdk.json, config/ and `-c config=FILE` paths are relative to. @default - the current directory */
  readonly baseDir?: string;
  /**
   * The deployable whose own bin runs (bin/pipeline.ts, bin/org.ts, bin/github-oidc.ts).
   * @default - the one `-c mode=` names, else the endpoint: what bin/graviton-llm.ts, cdk.json's app, builds
   */
  readonly entry?: KitEntry<AppMode>;
}

export interface KitAppRun {
  /** 0 when the cloud assembly was written; 1 for a configuration error or any other failure. */
  readonly exitCode: number;
  /** What the CLI prints to stderr: the configuration error's message, or a failure's stack trace. */
  readonly stderr: string;
  readonly app: App;
}

/**
 * What a bin/ entry does, as a function the tests run in-process: builds the
 * deployable and synthesizes it. Bad input ends as a ConfigError, whose
 * message is the whole story (no stack trace); anything else is a bug in the
 * kit, printed with its trace so that it can be reported.
 */
export function runKitApp(options: RunKitAppOptions = {}): KitAppRun {
  const app = new App(options.appProps);
  try {
    buildKitApp(app, { baseDir: options.baseDir, entry: options.entry });
    // Synthesized here rather than when the process exits, so that a failure there is reported the same way.
    app.synth();
    return { exitCode: 0, stderr: '', app };
  } catch (e) {
    if (e instanceof ConfigError) {
      return { exitCode: 1, stderr: `${e.message}\n`, app };
    }
    const error = e instanceof Error ? e : new Error(String(e));
    return { exitCode: 1, stderr: `graviton-llm: synth failed, a bug in the kit (please report it with this trace):\n${error.stack ?? error.message}\n`, app };
  }
}

/** A bin/ entry's whole body: runs the app as the CDK CLI started it, prints what went wrong, and exits with its code. */
export function runKitBin(entry?: KitEntry<AppMode>): void {
  // The context and output directory come from the CDK CLI's environment.
  const { exitCode, stderr } = runKitApp({ entry });
  if (stderr) {
    process.stderr.write(stderr);
  }
  if (exitCode !== 0) {
    process.exit(exitCode);
  }
}
