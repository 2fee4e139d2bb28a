import { Annotations, AspectPriority, Aspects, CfnCondition, CfnResource, Fn, IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnWaitConditionHandle } from 'aws-cdk-lib/aws-cloudformation';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, Dependable, IConstruct, IDependable } from 'constructs';
import { throwIfProblems } from '../base/problems';
import { logRetentionProblems, newVpcProblems } from './endpoint-checks';
import { cidrProblem } from './prop-formats';
import { rangeProblems } from './prop-ranges';

export interface InferenceNetworkProps {
  /** IPv4 range of the new VPC, a literal /16 to /22. */
  readonly cidr: string;
  /** Availability zones the VPC spans. */
  readonly maxAzs: number;
  /** NAT gateways (at most maxAzs). */
  readonly natGateways: number;
  /** How long VPC flow logs are kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * Decide at deploy time between the new VPC and an existing one (the org
   * template's VpcId parameter). @default - the new VPC, always
   */
  readonly existingVpcChoice?: ExistingVpcChoice;
}

/**
 * A new VPC or an existing one, chosen by a CloudFormation condition: every
 * resource of the new VPC carries the condition, and everything else reads
 * the VPC and subnet ids through Fn::If.
 */
export interface ExistingVpcChoice {
  /** True: create the new VPC; false: use the ids below. */
  readonly createVpc: CfnCondition;
  /** The existing VPC's id (a parameter's value). */
  readonly vpcId: string;
  /** The existing VPC's private subnets, one per AZ of the new VPC (its maxAzs). */
  readonly privateSubnetIds: string[];
}

/** An existing VPC and its subnets by id, for `importNetwork`. */
export interface ExistingNetworkIds {
  readonly vpcId: string;
  /** Private subnets, at least two AZs, that route to the internet. */
  readonly privateSubnetIds: readonly string[];
  /** Public subnets for an internet-facing load balancer. @default - none */
  readonly publicSubnetIds?: readonly string[];
}

/** An existing VPC and its subnets, as the endpoint takes them. */
export interface ImportedNetwork {
  readonly vpc: ec2.IVpc;
  readonly privateSubnets: ec2.SubnetSelection;
  readonly publicSubnets?: ec2.SubnetSelection;
}

/**
 * An existing VPC built from ids rather than looked up, so synth needs no
 * credentials and no cdk.context.json. The AZ list is only a shape: every
 * placement uses the explicit subnets. The kit adds neither NAT nor
 * endpoints to it, and its private subnets must route to the internet.
 */
export function importNetwork(scope: Construct, id: string, ids: ExistingNetworkIds): ImportedNetwork {
  const holder = new Construct(scope, id);
  return {
    vpc: ec2.Vpc.fromVpcAttributes(holder, 'Vpc', {
      vpcId: ids.vpcId,
      availabilityZones: ids.privateSubnetIds.map((_, i) => Fn.select(i, Fn.getAzs())),
    }),
    privateSubnets: { subnets: ids.privateSubnetIds.map((subnetId, i) => importSubnet(holder, `Private${i}`, subnetId)) },
    publicSubnets: ids.publicSubnetIds ? { subnets: ids.publicSubnetIds.map((subnetId, i) => importSubnet(holder, `Public${i}`, subnetId)) } : undefined,
  };
}

/**
 * The new VPC the fleet runs in. It has private subnets in every AZ, NAT
 * for what has no endpoint here (the llama.cpp source, the model, the package
 * repositories' dual-stack S3 address, the Auto Scaling and CloudFormation
 * APIs), and endpoints so that the cache's S3, SSM and CloudWatch traffic
 * stays off the NAT, which bills per GB. An existing VPC is used as it is: the kit adds neither
 * NAT nor endpoints, and its private subnets must route to the internet.
 */
export class InferenceNetwork extends Construct {
  readonly vpc: ec2.IVpc;
  /** Subnets for the instances and an internal load balancer. */
  readonly privateSubnets: ec2.SubnetSelection;
  /** Subnets for an internet-facing load balancer; absent when the VPC is chosen at deploy time. */
  readonly publicSubnets?: ec2.SubnetSelection;
  /** The new VPC's IPv4 range as a literal (not a token), so rules built on it can be checked at synth. */
  readonly cidr: string;
  /**
   * With an existing-VPC choice only: complete once the new VPC (when it is
   * created) routes its private subnets to the NAT gateway, so that whatever
   * depends on it boots with a way out; complete at once for an existing VPC.
   */
  readonly ready?: IDependable;

  constructor(scope: Construct, id: string, props: InferenceNetworkProps) {
    super(scope, id);
    // The rules GravitonLlmEndpoint checks its vpcProps with, for a network built alone.
    const cidr = cidrProblem(props.cidr, '10.64.0.0/16');
    const ranges = rangeProblems([
      { field: 'maxAzs', setting: 'maxAzs', value: props.maxAzs },
      { field: 'natGateways', setting: 'natGateways', value: props.natGateways },
    ]);
    throwIfProblems(`InferenceNetwork ${this.node.path}`, [
      ...(cidr ? [{ field: 'cidr', given: props.cidr, expected: cidr }] : []),
      ...ranges,
      ...(cidr || ranges.length > 0 ? [] : newVpcProblems(props.cidr, props.maxAzs, props.natGateways).map((p) => ({ ...p, field: p.field === 'vpcCidr' ? 'cidr' : p.field }))),
      ...logRetentionProblems(props.logRetention),
    ]);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: props.maxAzs,
      natGateways: props.natGateways,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
      },
    });

    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    // One group for all endpoints, admitting HTTPS from the VPC's own range only.
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: 'graviton-llm VPC endpoints: HTTPS from inside the VPC',
      allowAllOutbound: false,
    });
    endpointSecurityGroup.addIngressRule(ec2.Peer.ipv4(props.cidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
    for (const [name, service] of Object.entries(INTERFACE_ENDPOINTS)) {
      vpc.addInterfaceEndpoint(name, {
        service,
        privateDnsEnabled: true,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        securityGroups: [endpointSecurityGroup],
        open: false,
      });
    }
    this.cidr = props.cidr;
    const choice = props.existingVpcChoice;
    if (!choice) {
      this.vpc = vpc;
      this.privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      this.publicSubnets = { subnetType: ec2.SubnetType.PUBLIC };
      return;
    }

    // Every resource of the new VPC exists only when the condition holds, including the
    // stack-wide provider of the custom resource that empties the default security group. Found
    // by its id: aws-cdk-lib creates it once per stack and exposes it through no property.
    const conditional: IConstruct[] = [vpc, flowLogGroup, endpointSecurityGroup];
    const defaultSgProvider = Stack.of(this).node.tryFindChild(DEFAULT_SG_PROVIDER_ID);
    if (defaultSgProvider) {
      conditional.push(defaultSgProvider);
    }
    for (const scope of conditional) {
      Aspects.of(scope).add(new ConditionAspect(choice.createVpc), { priority: AspectPriority.MUTATING });
    }

    const privateSubnets = vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnets;
    if (privateSubnets.length !== choice.privateSubnetIds.length) {
      throw new Error(`the new VPC has ${privateSubnets.length} private subnets but ${choice.privateSubnetIds.length} existing subnet ids were given`);
    }
    const pick = (created: string, existing: string) => Fn.conditionIf(choice.createVpc.logicalId, created, existing).toString();
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'SelectedVpc', {
      vpcId: pick(vpc.vpcId, choice.vpcId),
      availabilityZones: vpc.availabilityZones,
    });
    this.privateSubnets = {
      subnets: privateSubnets.map((s, i) => importSubnet(this, `SelectedPrivate${i}`, pick(s.subnetId, choice.privateSubnetIds[i]))),
    };

    // A conditional DependsOn: CloudFormation rejects DependsOn on a resource that may not
    // exist, but a reference inside Fn::If (here in metadata) orders creation only when it does.
    // What each subnet's internet connectivity depends on: its route table association and its
    // default route to the NAT gateway.
    const routes = privateSubnets.flatMap((s) => Dependable.of(s.internetConnectivityEstablished).dependencyRoots)
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c));
    const ready = new CfnWaitConditionHandle(this, 'Ready');
    ready.addMetadata('WaitsFor', Fn.conditionIf(choice.createVpc.logicalId, routes.map((r) => r.ref), ''));
    this.ready = ready;
  }
}

/** A subnet by id; its route table is never read, so CDK's warning about the missing id is acknowledged. */
function importSubnet(scope: Construct, id: string, subnetId: string): ec2.ISubnet {
  const subnet = ec2.Subnet.fromSubnetId(scope, id, subnetId);
  Annotations.of(subnet).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'The kit places resources in these subnets and never reads their route tables.');
  return subnet;
}

/** Construct id of aws-cdk-lib's stack-wide provider behind `restrictDefaultSecurityGroup`. */
const DEFAULT_SG_PROVIDER_ID = 'Custom::VpcRestrictDefaultSGCustomResourceProvider';

/** Puts every CloudFormation resource it visits under one condition. */
class ConditionAspect implements IAspect {
  constructor(private readonly condition: CfnCondition) {}

  visit(node: IConstruct): void {
    if (node instanceof CfnResource) {
      node.cfnOptions.condition = this.condition;
    }
  }
}

/** Session Manager needs ssm, ssmmessages and ec2messages; the agents need logs and monitoring. */
const INTERFACE_ENDPOINTS: Readonly<Record<string, ec2.InterfaceVpcEndpointAwsService>> = {
  Ssm: ec2.InterfaceVpcEndpointAwsService.SSM,
  SsmMessages: ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
  Ec2Messages: ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
  Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
};
