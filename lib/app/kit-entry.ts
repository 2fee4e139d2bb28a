import { App, Stack } from 'aws-cdk-lib';

/**
 * Context key naming the deployable (`-c mode=pipeline`): bin/graviton-llm.ts
 * builds the one it names, and each deployable's own entry accepts only its
 * own name, so that a command line meant for one is never built as another.
 */
export const MODE_KEY = 'mode';

/** Region used when neither the configuration nor the AWS CLI names one, so synth works offline. */
export const DEFAULT_REGION = 'us-east-1';

/** The context keys (`-c KEY=VALUE`, or cdk.json's `context`) a deployable's entry reads. */
export interface EntryContext {
  /** Keys read by name. */
  readonly keys: readonly string[];
  /** Whether every configuration field is read too, as `-c FIELD=VALUE` (or `-c FIELD.SUB=VALUE`). */
  readonly configurationFields: boolean;
}

export interface KitEntryOptions {
  /** Directory cdk.json, config/ and `-c config=FILE` (or `-c orgConfig=FILE`, ...) paths are relative to. @default - the current directory */
  readonly baseDir?: string;
}

/**
 * One deployable's app entry: the file the CDK CLI runs for it, the context
 * keys it reads, and what it builds. The runner (runKitApp) registers the
 * kit's checks on the App once and stops on a context key the entry does not
 * read before it calls `build`.
 */
export interface KitEntry<M extends string = string> {
  /** The deployable's name, as `-c mode=` gives it to bin/graviton-llm.ts. */
  readonly mode: M;
  /** What it deploys, in a few words, for messages. */
  readonly deploys: string;
  /** Its entry file, which `npx cdk synth --app "npx tsx BIN"` runs. */
  readonly bin: string;
  /** The context keys it reads; any other stops synth. */
  readonly context: EntryContext;
  /** Adds the deployable's stacks to `app` and returns them. */
  readonly build: (app: App, options: KitEntryOptions) => Stack[];
}
