import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthWith } from '../support/synth';

/**
 * An upgrade of the kit must not replace what a deployment already has: a
 * resource whose logical id changes is deleted and created anew (a new VPC, a
 * new load balancer address, a new API key). The ids below were recorded from
 * the stack as it was before the endpoint became a construct. Removed on
 * purpose since: the separate boot hook, now part of the group (README,
 * Updates: what an existing stack sees). Added since: the fleet's trusted
 * builder (issue 23), new resources only, which replace nothing the stack
 * had; the handle's, the wait condition's and the instance's ids end with
 * the hash of the builder's inputs (test/constructs/fleet-builder.test.ts),
 * so they are matched by shape.
 */
const BEFORE: Record<string, Record<string, string>> = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'fixtures', 'resource-ids-before-the-construct.json'), 'utf8'),
);
const REMOVED_SINCE: Record<string, string> = { FleetGroupLifecycleHookBootHookC01381F8: 'AWS::AutoScaling::LifecycleHook' };
const HASH = '[0-9a-f]{8}';
const ADDED_SINCE: readonly (readonly [RegExp, string])[] = [
  [new RegExp(`^FleetBuilderHandle${HASH}[0-9A-F]{8}$`), 'AWS::CloudFormation::WaitConditionHandle'],
  [new RegExp(`^FleetBuilderDone${HASH}[0-9A-F]{8}$`), 'AWS::CloudFormation::WaitCondition'],
  [new RegExp(`^FleetBuilderInstance${HASH}[0-9A-F]{8}$`), 'AWS::EC2::Instance'],
  [/^FleetBuilderInstanceProfile[0-9A-F]{8}$/, 'AWS::IAM::InstanceProfile'],
  [/^FleetBuilderRole3836A7B4$/, 'AWS::IAM::Role'],
  [/^FleetBuilderRoleDefaultPolicyC54839C6$/, 'AWS::IAM::Policy'],
  [/^FleetBuilderSecurityGroup0CCFB619$/, 'AWS::EC2::SecurityGroup'],
];

describe.each([
  ['default', {}],
  ['env=prod', { env: 'prod' }],
])('the %s endpoint stack keeps every logical id and type it had', (name, context) => {
  test('no resource removed or renamed; added only the builder\'s', () => {
    const { template } = synthWith(context, { bundle: false });
    const now = Object.fromEntries(Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)
      .filter(([id]) => id !== 'CDKMetadata')
      .map(([id, r]) => [id, r.Type]));
    const expected = Object.fromEntries(Object.entries(BEFORE[name]).filter(([id, type]) => REMOVED_SINCE[id] !== type));
    expect(Object.keys(BEFORE[name]).filter((id) => REMOVED_SINCE[id] !== undefined)).toEqual(Object.keys(REMOVED_SINCE));
    const added = Object.entries(now).filter(([id]) => !(id in expected));
    expect(Object.fromEntries(Object.entries(now).filter(([id]) => id in expected))).toEqual(expected);
    expect(ADDED_SINCE.map(([pattern, type]) => added.filter(([id, t]) => pattern.test(id) && t === type).length)).toEqual(ADDED_SINCE.map(() => 1));
    expect(added).toHaveLength(ADDED_SINCE.length);
  });
});
