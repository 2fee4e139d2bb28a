import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthWith } from '../support/synth';

/**
 * An upgrade of the kit must not replace what a deployment already has: a
 * resource whose logical id changes is deleted and created anew (a new VPC, a
 * new load balancer address, a new API key). The ids below were recorded from
 * the stack as it was before the endpoint became a construct. Removed on
 * purpose since: the separate boot hook, now part of the group (README,
 * Updates: what an existing stack sees).
 */
const BEFORE: Record<string, Record<string, string>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'resource-ids-before-the-construct.json'), 'utf8'),
);
const REMOVED_SINCE: Record<string, string> = { FleetGroupLifecycleHookBootHookC01381F8: 'AWS::AutoScaling::LifecycleHook' };

describe.each([
  ['default', {}],
  ['env=prod', { env: 'prod' }],
])('the %s endpoint stack keeps every logical id and type it had', (name, context) => {
  test('no resource added, removed or renamed', () => {
    const { template } = synthWith(context, { bundle: false });
    const now = Object.fromEntries(Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([id]) => id !== 'CDKMetadata')
      .map(([id, r]) => [id, r.Type]));
    const expected = Object.fromEntries(Object.entries(BEFORE[name]).filter(([id, type]) => REMOVED_SINCE[id] !== type));
    expect(Object.keys(BEFORE[name]).filter((id) => REMOVED_SINCE[id] !== undefined)).toEqual(Object.keys(REMOVED_SINCE));
    expect(now).toEqual(expected);
  });
});
