import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface InferenceEndpointProps {
  readonly vpc: ec2.IVpc;
  /** Put the load balancer on the internet. */
  readonly internetFacing: boolean;
  /** Subnets of the load balancer: public ones when internet-facing, else private. */
  readonly subnets: ec2.SubnetSelection;
  /** Serve HTTPS with this certificate and redirect HTTP to it. @default - HTTP only */
  readonly certificateArn?: string;
  /** Client ranges admitted. */
  readonly allowedCidrs: readonly string[];
  /** Port llama-server listens on. */
  readonly targetPort: number;
  /** Longest silence on a connection; a long prompt's first token can take minutes on CPU. */
  readonly idleTimeout: Duration;
  /** How long a leaving instance keeps its streams. */
  readonly deregistrationDelay: Duration;
  /** Bucket for the load balancer's access logs. */
  readonly accessLogBucket: s3.IBucket;
}

/** Health check path llama-server answers 200 on once the model is loaded. */
export const HEALTH_CHECK_PATH = '/health';

/**
 * The load balancer in front of the fleet: internal by default; internet-facing
 * only with HTTPS. It routes to the instance with the fewest outstanding
 * requests, which suits LLM requests whose lengths vary by orders of magnitude.
 */
export class InferenceEndpoint extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly url: string;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'graviton-llm load balancer: admits the configured client ranges',
      allowAllOutbound: false,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: props.internetFacing,
      vpcSubnets: props.subnets,
      securityGroup,
      idleTimeout: props.idleTimeout,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, 'load-balancer');

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Targets', {
      vpc: props.vpc,
      port: props.targetPort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: props.deregistrationDelay,
      loadBalancingAlgorithmType: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
      healthCheck: {
        path: HEALTH_CHECK_PATH,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    const clientPort = props.certificateArn ? 443 : 80;
    for (const cidr of props.allowedCidrs) {
      securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(clientPort), `clients ${cidr}`);
      if (props.certificateArn) {
        securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(80), `clients ${cidr} (redirected to HTTPS)`);
      }
    }

    if (props.certificateArn) {
      this.loadBalancer.addListener('Https', {
        port: 443,
        protocol: elbv2.ApplicationProtocol.HTTPS,
        certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
      this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
      this.url = `https://${this.loadBalancer.loadBalancerDnsName}`;
    } else {
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
      this.url = `http://${this.loadBalancer.loadBalancerDnsName}`;
    }
  }
}
