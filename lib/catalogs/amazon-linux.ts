/**
 * The public SSM parameter that names the newest Amazon Linux 2023 AMI for
 * Graviton (arm64, kernel 6.1) in each region. The kit reads it once, at the
 * first synth with credentials, and the fleet keeps that AMI until the
 * configuration moves it (amiId, or the value recorded in cdk.context.json).
 *
 * The kernel is named rather than left to aws-cdk-lib's latest: a CDK upgrade
 * must not switch the parameter, and with it the fleet's operating system.
 */
export const AL2023_ARM64_AMI_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64';
