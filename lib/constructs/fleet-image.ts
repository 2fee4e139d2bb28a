import { Annotations, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { AL2023_ARM64_AMI_PARAMETER } from '../catalogs/amazon-linux';

/** Tag of the note a synth without account and amiId prints. */
export const UNPINNED_IMAGE_NOTE = 'graviton-llm:amiNotPinned';

/**
 * The AMI the fleet starts from, fixed in the synthesized template so that a
 * new Amazon Linux release reaches the instances only when the configuration
 * says so (each new AMI is an instance refresh):
 *
 * - `amiId` when the configuration gives one;
 * - else the public parameter's value, resolved once per account and region
 *   by CDK's context lookup and recorded in cdk.context.json, where it stays
 *   until removed (`cdk context --reset KEY`);
 * - else, for a stack without an account (a synth without credentials), no
 *   lookup is possible: the template reads the parameter at each deploy, and
 *   synth says so. `cdk deploy` always knows the account, so it never deploys this.
 */
export function fleetImage(scope: Construct, amiId: string | undefined): ec2.IMachineImage {
  const stack = Stack.of(scope);
  if (amiId !== undefined) {
    if (Token.isUnresolved(stack.region)) {
      // resolveConfig requires region with amiId; a stack without one would take the id to every region.
      throw new Error(`amiId ${amiId} needs a stack with a region: an AMI id belongs to one region`);
    }
    return imageOf(amiId);
  }
  if (!Token.isUnresolved(stack.account) && !Token.isUnresolved(stack.region)) {
    return new RecordedLookupImage(ec2.MachineImage.fromSsmParameter(AL2023_ARM64_AMI_PARAMETER, { cachedInContext: true }));
  }
  // A note, not a warning: the template checks fail synth on any warning, and this synth is the
  // offline one (CI, a first look), which `cdk deploy` never deploys.
  Annotations.of(scope).addInfo(`[${UNPINNED_IMAGE_NOTE}] The AMI is not pinned: this synth has no account (no credentials, no account in the configuration), so it cannot record ${AL2023_ARM64_AMI_PARAMETER} `
    + 'in cdk.context.json, and the template reads it at every deploy (a new Amazon Linux release would replace every instance). '
    + '`cdk deploy` with credentials records it; or set amiId.');
  return ec2.MachineImage.fromSsmParameter(AL2023_ARM64_AMI_PARAMETER);
}

/**
 * CDK's context lookup of the AMI, which also lets the synth pass before the
 * lookup through: that pass carries CDK's placeholder (`dummy-value-for-...`)
 * and lists the lookup as missing; the CLI then looks the value up, records
 * it in cdk.context.json and synthesizes again. Without this, the template
 * check would fail the first pass on the placeholder, and the CLI would never
 * get to the lookup.
 */
class RecordedLookupImage implements ec2.IMachineImage {
  constructor(private readonly lookup: ec2.IMachineImage) {}

  getImage(scope: Construct): ec2.MachineImageConfig {
    const image = this.lookup.getImage(scope);
    if (image.imageId.startsWith(LOOKUP_PLACEHOLDER_PREFIX)) {
      Validations.of(scope).acknowledge({
        id: 'CloudFormation-Validate::E1152',
        reason: 'The AMI has not been looked up yet: this synth pass carries CDK\'s placeholder, and the CLI looks the AMI up, records it in cdk.context.json and synthesizes again.',
      });
    }
    return image;
  }
}

/** What CDK's SSM parameter lookup returns while the value is not in the context yet. */
const LOOKUP_PLACEHOLDER_PREFIX = 'dummy-value-for-';

/** An Amazon Linux image by id: a literal, or a CloudFormation value (the org template's parameter). */
export function imageOf(imageId: string): ec2.IMachineImage {
  return {
    getImage: () => ({ imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() }),
  };
}
