/**
 * A stack of one Graviton generation keeps its builder's logical ids as they
 * were before a fleet could have several generations (issue 24): the first
 * generation's builder is still the construct `Builder`, with the same boot
 * environment and inputs, so its hash is the same. The boot program's bundle
 * is one of the builder's inputs (a new bundle is a new build); here it is a
 * fixed file, so that the ids depend on the construct's code alone. The ids
 * below are those the code before issue 24 made of this same stack.
 */
import { ACCOUNT, REGION, build } from '../support/fleet-alone';

jest.mock('../../lib/boot/boot-bundle-file', () => ({
  // A fixed file in place of the bundle, which changes with every change of runtime/boot.
  bootBundleFile: () => require('node:path').join(process.cwd(), 'LICENSE'),
}));

/** What the code before issue 24 (main at e6db0c5) made of this stack, with the same fixed bundle. */
const MAIN_IDS = ['FleetBuilderHandle399fd0a5CE1AFDC4', 'FleetBuilderDone399fd0a5CD0717FD', 'FleetBuilderInstance399fd0a53C9104F6'];

test('a one-generation stack: the builder\'s handle, wait condition and instance keep the ids they had', () => {
  const s = build({ account: ACCOUNT, region: REGION });
  const b = s.fleet.builder!;
  const ids = [b.handle, b.waitCondition, b.instance].map((r) => s.stack.getLogicalId(r));
  expect(s.fleet.builders).toEqual([b]);
  expect(ids).toEqual(MAIN_IDS);
});
