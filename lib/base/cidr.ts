/** An IPv4 CIDR block: four octets of 0-255 and a prefix of 0-32. */
export const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;

/**
 * What is wrong with a well-formed CIDR block whose address has host bits
 * set (10.64.0.1/16), or undefined. EC2 reads such a VPC range as another
 * network than a security group rule reads it, so instances could not reach
 * what the rules admit; the message names the network address meant.
 */
export function cidrHostBitsProblem(cidr: string): string | undefined {
  if (!IPV4_CIDR.test(cidr)) {
    return undefined;
  }
  const [address, prefixText] = cidr.split('/');
  const prefix = Number(prefixText);
  const value = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - prefix);
  const network = value - (value % size);
  if (network === value) {
    return undefined;
  }
  const networkAddress = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
  return `expected the network address of the range: ${networkAddress}/${prefix} (${address} has bits set after the first ${prefix}, `
    + 'which EC2 and security groups would read differently)';
}
