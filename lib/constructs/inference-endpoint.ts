import { Aws, CfnCondition, CfnMapping, CfnResource, Duration, Fn, ICfnConditionExpression, Stack, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { FactName, RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { cidrListProblems, formatProblems } from './prop-formats';
import { rangeExpectation, rangeProblems } from './prop-ranges';
import { PropProblem, throwIfProblems } from '../base/problems';
import { PropType, booleanType, durationType, numberType, objectType, propTypeProblems, required, stringListType, stringType, withoutProps } from '../base/prop-types';
import { certificateRegionProblems, clientRangeProblems, tlsProblems } from './endpoint-checks';

export interface InferenceEndpointProps {
  readonly vpc: ec2.IVpc;
  /** Put the load balancer on the internet. */
  readonly internetFacing: boolean;
  /** Subnets of the load balancer: public ones when internet-facing, else private. */
  readonly subnets: ec2.SubnetSelection;
  /**
   * Serve HTTPS (TLS 1.3 policy) on 443 with this ACM certificate, which must
   * be in the stack's region. Internet-facing, HTTP on 80 redirects to it;
   * internal, there is no HTTP listener at all.
   * @default - HTTP on 80 only (allowed only for an internal load balancer)
   */
  readonly certificateArn?: string;
  /**
   * The name the certificate covers and clients use; required with
   * certificateArn on an internal load balancer, whose own DNS name no
   * certificate can cover. `url` becomes `https://` and this name; the DNS
   * record that points it at the load balancer is the user's.
   * @default - none; `url` names the load balancer's DNS name
   */
  readonly domainName?: string;
  /**
   * Client ranges admitted; everyone (0.0.0.0/0) only by an internet-facing
   * load balancer, which then acknowledges cdk-nag's AwsSolutions-EC23 itself.
   * A CloudFormation value is the template's to check: synth cannot, and
   * neither can cdk-nag, which reports AwsSolutions-EC23 on the load
   * balancer's security group; acknowledge it on this construct, saying what bounds the value.
   */
  readonly allowedCidrs: string[];
  /** Port llama-server listens on. */
  readonly targetPort: number;
  /** Longest silence on a connection; a long prompt's first token can take minutes on CPU. */
  readonly idleTimeout: Duration;
  /** How long a leaving instance keeps its streams. */
  readonly deregistrationDelay: Duration;
  /** Bucket for the load balancer's access logs. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * Refuse deletion of the load balancer until this is turned off again.
   * @default false - the load balancer is deleted with the stack
   */
  readonly deletionProtection?: boolean;
}

const seconds = (example: string, setting: 'loadBalancerIdleTimeoutSeconds' | 'deregistrationDelaySeconds') =>
  required(durationType(example), `a Duration, ${rangeExpectation(setting, 'seconds').replace(/^expected /, '')}`);

/** The JavaScript type of each prop of the load balancer. */
const PART_TYPES: { readonly [K in keyof InferenceEndpointProps]-?: PropType } = {
  vpc: required(objectType('expected an ec2.IVpc', 'vpcId'), 'an ec2.IVpc'),
  internetFacing: required(booleanType, 'true or false'),
  subnets: required(objectType('expected an ec2.SubnetSelection'), 'an ec2.SubnetSelection'),
  certificateArn: stringType('expected an ACM certificate ARN (a string)'),
  domainName: stringType('expected a DNS name (a string)'),
  allowedCidrs: required(stringListType('expected a list of IPv4 CIDR blocks, e.g. [\'10.0.0.0/8\']'), 'a list of IPv4 CIDR blocks'),
  targetPort: required(numberType(rangeExpectation('port')), rangeExpectation('port').replace(/^expected /, '')),
  idleTimeout: seconds('Duration.seconds(600)', 'loadBalancerIdleTimeoutSeconds'),
  deregistrationDelay: seconds('Duration.seconds(600)', 'deregistrationDelaySeconds'),
  accessLogBucket: required(objectType('expected an s3.IBucket', 'bucketName'), 'an s3.IBucket'),
  deletionProtection: booleanType,
};

/**
 * What is wrong with the load balancer's props: their types, then the same
 * rules GravitonLlmEndpoint checks its own with (certificate and domain name,
 * region, client ranges, shapes, ranges), each only on props of the right type.
 */
function endpointPartProblems(props: InferenceEndpointProps, region: string): PropProblem[] {
  const types = propTypeProblems(props, PART_TYPES);
  const p: Partial<InferenceEndpointProps> = withoutProps(props, types);
  const typed = new Set(types.map((t) => t.field.split('[')[0]));
  const known = (d: Duration | undefined) => (d === undefined || d.isUnresolved() ? undefined : d.toSeconds({ integral: false }));
  return [
    ...types,
    ...[
      ...tlsProblems({ internetFacing: p.internetFacing ?? false, certificateArn: p.certificateArn, domainName: p.domainName }),
      ...certificateRegionProblems(p.certificateArn, region),
      ...clientRangeProblems({ internetFacing: p.internetFacing ?? false, allowedCidrs: p.allowedCidrs }),
    ].filter((problem) => !typed.has(problem.field)),
    ...formatProblems({ certificateArn: p.certificateArn, domainName: p.domainName }),
    ...cidrListProblems('allowedCidrs', p.allowedCidrs, '10.0.0.0/8'),
    ...rangeProblems([
      { field: 'targetPort', setting: 'port', value: p.targetPort },
      { field: 'idleTimeout', setting: 'loadBalancerIdleTimeoutSeconds', value: known(p.idleTimeout), unit: 'seconds' },
      { field: 'deregistrationDelay', setting: 'deregistrationDelaySeconds', value: known(p.deregistrationDelay), unit: 'seconds' },
    ]),
  ];
}

/** Key prefix of the load balancer's access logs in the access-log bucket. */
const ACCESS_LOG_PREFIX = 'load-balancer';
/** Who writes access logs in Regions opened since August 2022, which have no Elastic Load Balancing account. */
const ELB_LOG_DELIVERY_SERVICE = 'logdelivery.elasticloadbalancing.amazonaws.com';

/** Health check path llama-server answers 200 on once the model is loaded. */
export const HEALTH_CHECK_PATH = '/health';

/**
 * The load balancer in front of the fleet: internal by default, serving HTTP,
 * or HTTPS only with a certificate and the domain name it covers;
 * internet-facing only with HTTPS. It routes to the instance with the fewest outstanding
 * requests, which suits LLM requests whose lengths vary by orders of magnitude.
 */
export class InferenceEndpoint extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** What clients use, without a path: `https://DOMAIN` with domainName, else the load balancer's DNS name. */
  readonly url: string;
  /** The load balancer's own DNS name, with the scheme it serves: what a client inside the VPC can reach without a DNS record. */
  readonly loadBalancerUrl: string;
  /** The port clients send requests to: 443 with a certificate, else 80. */
  readonly listenerPort: number;
  /** The name a TLS client must ask for and verify when it calls `loadBalancerUrl`; undefined without domainName. */
  readonly tlsServerName?: string;

  constructor(scope: Construct, id: string, props: InferenceEndpointProps) {
    super(scope, id);
    // GravitonLlmEndpoint runs the same checks among all of its own; these serve an InferenceEndpoint built alone.
    throwIfProblems(`InferenceEndpoint ${this.node.path}`, endpointPartProblems(props, Stack.of(this).region));

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
      deletionProtection: props.deletionProtection ?? false,
    });
    if (Token.isUnresolved(Stack.of(this).region)) {
      this.logAccessLogsInAnyRegion(props.accessLogBucket, ACCESS_LOG_PREFIX);
    } else {
      this.loadBalancer.logAccessLogs(props.accessLogBucket, ACCESS_LOG_PREFIX);
    }

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

    this.listenerPort = props.certificateArn ? 443 : 80;
    // An internet-facing endpoint redirects HTTP, for browsers and people typing the name. An
    // internal one does not listen on 80 at all: a client still set to http:// would send its API
    // key in clear text before being redirected (and a redirected POST comes back as a GET).
    const redirectHttp = props.certificateArn !== undefined && props.internetFacing;
    for (const cidr of props.allowedCidrs) {
      securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(this.listenerPort), `clients ${cidr}`);
      if (redirectHttp) {
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
      if (redirectHttp) {
        this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
      }
      this.loadBalancerUrl = `https://${this.loadBalancer.loadBalancerDnsName}`;
    } else {
      this.loadBalancer.addListener('Http', {
        port: 80,
        protocol: elbv2.ApplicationProtocol.HTTP,
        defaultTargetGroups: [this.targetGroup],
        open: false,
      });
      this.loadBalancerUrl = `http://${this.loadBalancer.loadBalancerDnsName}`;
    }
    this.tlsServerName = props.domainName;
    this.url = props.domainName ? `https://${props.domainName}` : this.loadBalancerUrl;

    // Everyone is admitted only when asked for, and only on the internet (clientRangeProblems refuses
    // it inside the VPC): the finding is this construct's to acknowledge, with the reason it holds.
    if (props.internetFacing && props.allowedCidrs.includes('0.0.0.0/0')) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'allowedCidrs asks for an internet-facing endpoint open to 0.0.0.0/0; it serves HTTPS only (an internet-facing endpoint requires certificateArn) and llama-server answers only requests with the API key.',
      });
    }
  }

  /**
   * What `logAccessLogs` does, for a stack whose region is known only at
   * deploy time (the org template). Regions older than August 2022 deliver
   * logs from a per-region Elastic Load Balancing account, newer ones from a
   * service principal: a mapping of those accounts (from aws-cdk-lib's region
   * facts) and a condition on the deploy region pick one, and any region not
   * in the mapping gets the service principal.
   */
  private logAccessLogsInAnyRegion(bucket: s3.IBucket, prefix: string): void {
    const stack = Stack.of(this);
    this.loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    this.loadBalancer.setAttribute('access_logs.s3.bucket', bucket.bucketName);
    this.loadBalancer.setAttribute('access_logs.s3.prefix', prefix);

    const accounts = RegionInfo.regionMap(FactName.ELBV2_ACCOUNT);
    const mapping = new CfnMapping(this, 'ElbLogDeliveryAccounts', {
      mapping: Object.fromEntries(Object.entries(accounts).map(([region, account]) => [region, { Account: account }])),
    });
    const inAccountRegion = new CfnCondition(this, 'ElbLogDeliveryByAccount', {
      expression: anyOf(Object.keys(accounts).map((region) => Fn.conditionEquals(Aws.REGION, region))),
    });
    const elbAccountArn = `arn:${Aws.PARTITION}:iam::${mapping.findInMap(Aws.REGION, 'Account')}:root`;
    const logs = bucket.arnForObjects(`${prefix}/AWSLogs/${stack.account}/*`);
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      principals: [new ConditionalPrincipal(inAccountRegion, elbAccountArn, ELB_LOG_DELIVERY_SERVICE)],
      resources: [logs],
    }));
    const logDelivery = new iam.ServicePrincipal('delivery.logs.amazonaws.com');
    bucket.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      principals: [logDelivery],
      resources: [logs],
      conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
    }));
    bucket.addToResourcePolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketAcl'], principals: [logDelivery], resources: [bucket.bucketArn] }));
    const policy = bucket.policy?.node.defaultChild;
    if (policy instanceof CfnResource) {
      (this.loadBalancer.node.defaultChild as CfnResource).addResourceDependency(policy);
    }
  }
}

/** Any of the conditions: Fn::Or takes two to ten, so larger sets nest. */
export function anyOf(conditions: ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1) {
    return conditions[0];
  }
  if (conditions.length <= 10) {
    return Fn.conditionOr(...conditions);
  }
  const chunks: ICfnConditionExpression[] = [];
  for (let i = 0; i < conditions.length; i += 10) {
    chunks.push(anyOf(conditions.slice(i, i + 10)));
  }
  return anyOf(chunks);
}

/** An AWS account principal where the condition holds, a service principal where it does not. */
class ConditionalPrincipal extends iam.PrincipalBase {
  constructor(private readonly condition: CfnCondition, private readonly arn: string, private readonly service: string) {
    super();
  }

  get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment({
      AWS: [Fn.conditionIf(this.condition.logicalId, this.arn, Aws.NO_VALUE).toString()],
      Service: [Fn.conditionIf(this.condition.logicalId, Aws.NO_VALUE, this.service).toString()],
    });
  }

  dedupeString(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `ConditionalPrincipal(${this.service})`;
  }
}
