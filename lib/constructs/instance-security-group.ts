/**
 * The security group of an instance the kit launches (the fleet's and each
 * builder's), defined once: no inbound rule of its own, and out only HTTPS.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/**
 * A security group with no inbound rule and one outbound rule, TCP 443 to
 * anywhere. Everything a boot and the agents call is HTTPS: the AWS APIs (S3,
 * SSM, CloudWatch Logs and metrics, Auto Scaling, CloudFormation, the wait
 * condition's presigned URL), GitHub, the model's host (resolveConfig admits
 * no other port) and the Amazon Linux package repositories, which are S3
 * buckets. DNS (the Route 53 Resolver), time (Amazon Time Sync) and instance
 * metadata are services that security groups do not filter (EC2 user guide,
 * "Security group rules",
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-rules.html),
 * so they need no rule. The caller adds what may reach the instance.
 */
export function httpsOutOnlySecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc, description: string): ec2.SecurityGroup {
  const group = new ec2.SecurityGroup(scope, id, { vpc, description, allowAllOutbound: false });
  group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS: AWS APIs, GitHub, model host, package repositories');
  return group;
}
