import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthWith } from '../support/synth';

/**
 * An upgrade of the kit must not replace what a deployment already has: a
 * resource whose logical id changes is deleted and created anew (a new VPC, a
 * new load balancer address, a new API key). The ids below were recorded from
 * the stack as it was before the endpoint became a construct.
 */
const BEFORE: Record<string, Record<string, string>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'resource-ids-before-the-construct.json'), 'utf8'),
);

describe.each([
  ['default', {}],
  ['env=prod', { env: 'prod' }],
])('the %s endpoint stack keeps every logical id and type it had', (name, context) => {
  test('no resource added, removed or renamed', () => {
    const { template } = synthWith(context, { bundle: false });
    const now = Object.fromEntries(Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([id]) => id !== 'CDKMetadata')
      .map(([id, r]) => [id, r.Type]));
    expect(now).toEqual(BEFORE[name]);
  });
});
