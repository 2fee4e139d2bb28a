import { Annotations, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { AL2023_ARM64_AMI_PARAMETER } from '../catalogs/amazon-linux';
import { PropProblem } from '../base/problems';
import { PropType, isKnown, printable } from '../base/prop-types';

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
  return new ImageById(imageId);
}

/** An image by its id, which machineImageProblems can read (ec2.MachineImage.genericLinux hides its map). */
class ImageById implements ec2.IMachineImage {
  constructor(readonly imageId: string) {}

  getImage(): ec2.MachineImageConfig {
    return { imageId: this.imageId, osType: ec2.OperatingSystemType.LINUX, userData: ec2.UserData.forLinux() };
  }
}

/** EC2 image ids: the short form of older images, or the long form. */
export const AMI_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

const IMAGE_EXPECTATION = 'expected an Amazon Linux 2023 image for arm64 (Graviton), e.g. '
  + 'ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }), or leave machineImage unset for the kit\'s pinned one';

/** A prop that must be an ec2.IMachineImage. */
export const machineImageType: PropType = (field, value) => (value === undefined
  || (typeof value === 'object' && value !== null && typeof (value as ec2.IMachineImage).getImage === 'function')
  ? undefined
  : { field, given: printable(value), expected: `${IMAGE_EXPECTATION} (an ec2.IMachineImage)` });

/**
 * What synth can tell is wrong with the instances' image, without calling
 * getImage (which adds a parameter or a context lookup to the stack): a
 * Windows image; an image whose SSM parameter or lookup names the x86_64
 * architecture (`ec2.MachineImage.latestAmazonLinux2023()` is x86_64 unless
 * its cpuType says otherwise), which cannot boot on Graviton; an image by an
 * id that is not an AMI id. An image whose architecture synth cannot read (a
 * generic image, a lookup by name alone, a CloudFormation value) passes: the
 * launch fails on a wrong one.
 */
export function machineImageProblems(image: ec2.IMachineImage | undefined, field = 'machineImage'): PropProblem[] {
  if (image === undefined) {
    return [];
  }
  if (image instanceof ImageById) {
    return isKnown(image.imageId) && !AMI_ID.test(image.imageId)
      ? [{ field, given: image.imageId, expected: 'expected an AMI id like ami-0123456789abcdef0 (ami- and 8 or 17 lowercase hexadecimal characters)' }]
      : [];
  }
  const described = describeImage(image);
  if (described.windows) {
    return [{ field, given: described.name ?? printable(image), expected: `${IMAGE_EXPECTATION}: this is a Windows image` }];
  }
  if (described.name !== undefined && isKnown(described.name) && /x86_64|amd64/i.test(described.name) && !/arm64|aarch64/i.test(described.name)) {
    return [{ field, given: described.name, expected: `${IMAGE_EXPECTATION}: this image is for x86_64, which does not boot on Graviton` }];
  }
  return [];
}

/**
 * How an image is named: its SSM parameter's name (public on the generic and
 * Amazon Linux parameter images, held in props by aws-cdk-lib's Amazon Linux
 * 2, 2022 and 2023 ones) or its lookup's name and architecture filter.
 */
function describeImage(image: ec2.IMachineImage): { readonly name?: string; readonly windows: boolean } {
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const fields = image as unknown as { parameterName?: unknown; props?: { parameterName?: unknown; name?: unknown; windows?: unknown; filters?: Record<string, unknown> } };
  if (image instanceof ec2.WindowsImage || image instanceof ec2.GenericWindowsImage) {
    return { name: text(fields.parameterName), windows: true };
  }
  if (image instanceof ec2.LookupMachineImage) {
    const architecture = fields.props?.filters?.architecture;
    const name = [text(fields.props?.name), Array.isArray(architecture) ? architecture.join(',') : undefined].filter((n) => n !== undefined).join(' ');
    return { name: name || undefined, windows: fields.props?.windows === true };
  }
  const name = text(fields.parameterName) ?? text(fields.props?.parameterName);
  return { name, windows: name !== undefined && isKnown(name) && name.startsWith('/aws/service/ami-windows-latest/') };
}
