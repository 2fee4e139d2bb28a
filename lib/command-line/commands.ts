/**
 * The kit's commands, each named once with the file that holds it and the
 * way it is run. Usage lines and every "See ... --help" hint are made from
 * `run`, so a hint can only name a command listed here, and
 * test/command-line/hints.test.ts checks that each is real: an `npm run`
 * script of package.json that runs the file, or the file itself with tsx.
 */
export const COMMANDS = {
  bench: { file: 'tools/bench/cli.ts', run: 'npm run bench --' },
  smoke: { file: 'tools/bench/smoke-cli.ts', run: 'npm run smoke --' },
  sizing: { file: 'tools/sizing/cli.ts', run: 'npm run sizing --' },
  local: { file: 'lib/boot/local-boot.ts', run: 'npm run local --' },
  'publish-org-assets': { file: 'tools/org/publish-assets.ts', run: 'npm run publish-org-assets --' },
  'compare-local': { file: 'tools/bench/compare-local.ts', run: 'npx tsx tools/bench/compare-local.ts' },
  'prompt-cache-memory': { file: 'tools/bench/prompt-cache-memory.ts', run: 'npx tsx tools/bench/prompt-cache-memory.ts' },
  'fleet-prefix': { file: 'tools/bench/fleet-prefix.ts', run: 'npx tsx tools/bench/fleet-prefix.ts' },
  'jsii-check': { file: 'tools/dev/jsii-check.ts', run: 'npx tsx tools/dev/jsii-check.ts' },
  'bundle-boot': { file: 'lib/boot/boot-bundle.ts', run: 'npm run bundle:boot --' },
} as const satisfies Record<string, { readonly file: string; readonly run: string }>;

export type CommandName = keyof typeof COMMANDS;

/** How the command is typed, ready for its flags: `npm run bench --`, `npx tsx tools/bench/compare-local.ts`. */
export function commandLine(command: CommandName): string {
  return COMMANDS[command].run;
}

/** The last line of every usage error: where the flags are listed. */
export function helpHint(command: CommandName): string {
  return `See ${commandLine(command)} --help`;
}
