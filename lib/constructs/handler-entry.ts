import * as path from 'node:path';

/**
 * The entry file of the Lambda handler in runtime/NAME/, for NodejsFunction to
 * bundle. It is found from this module's own place, so it holds wherever the
 * kit runs: from the sources (tests, tsx) it is runtime/NAME/handler.ts; from
 * the built package in an app's node_modules it is dist/runtime/NAME/handler.js,
 * which the build emits beside dist/lib in the same layout, with this module
 * compiled to JavaScript too.
 */
export function handlerEntry(name: string): string {
  return path.join(__dirname, '..', '..', 'runtime', name, `handler${path.extname(__filename)}`);
}
