import { App, CfnParameter, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { registerChecks } from '../../lib/app/checks';
import { PropsError } from '../../lib/base/problems';
import { HEALTH_CHECK_PATH, InferenceEndpoint, InferenceEndpointProps } from '../../lib/constructs/inference-endpoint';
import { constructTestApp } from '../support/synth';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

/** Builds an InferenceEndpoint alone (no GravitonLlmEndpoint around it) in a stack of `region`; returns what it threw, or its template. */
function build(region: string | undefined, props: Partial<InferenceEndpointProps>, more?: (stack: Stack) => Partial<InferenceEndpointProps>): PropsError | Template {
  const stack = new Stack(new App(), 'S', { env: region ? { region } : undefined });
  const vpc = new ec2.Vpc(stack, 'Vpc');
  try {
    new InferenceEndpoint(stack, 'Endpoint', {
      vpc, internetFacing: false, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, allowedCidrs: ['10.0.0.0/8'], targetPort: 8080,
      idleTimeout: Duration.seconds(600), deregistrationDelay: Duration.seconds(600), accessLogBucket: new s3.Bucket(stack, 'Logs'), ...props, ...more?.(stack),
    });
  } catch (e) {
    if (e instanceof PropsError) return e;
    throw e;
  }
  return Template.fromStack(stack);
}

function problemsOf(result: PropsError | Template): PropsError {
  if (!(result instanceof PropsError)) throw new Error('the endpoint was built');
  return result;
}

describe('InferenceEndpoint built alone checks its load balancer\'s props with the endpoint\'s own rules', () => {
  test('a certificate without the domain name it covers, inside the VPC', () => {
    expect(problemsOf(build('us-east-1', { certificateArn: CERT })).message).toBe('InferenceEndpoint S/Endpoint: invalid props:\n'
      + '  - domainName: nothing was given; required with certificateArn on an internal endpoint: the name the certificate covers, which clients use and '
      + 'your DNS points at the load balancer (no certificate can cover the load balancer\'s own DNS name); or remove certificateArn to serve plain HTTP inside the VPC');
  });

  test('every problem at once: a domain name without a certificate, and everyone admitted to an internal load balancer', () => {
    const e = problemsOf(build('us-east-1', { domainName: 'llm.internal.example', allowedCidrs: ['10.0.0.0/8', '0.0.0.0/0'] }));
    expect(e.problems.map((p) => p.field)).toEqual(['domainName', 'allowedCidrs']);
    expect(e.message).toContain('domainName: got "llm.internal.example"; applies only with certificateArn');
    expect(e.message).toContain('allowedCidrs: got "0.0.0.0/0"; expected the ranges your clients are in');
    expect(e.message).toContain('cdk-nag AwsSolutions-EC23');
  });

  test('internet-facing without a certificate, and with a domain name', () => {
    const e = problemsOf(build('us-east-1', { internetFacing: true, domainName: 'llm.example.com', allowedCidrs: ['0.0.0.0/0'] }));
    expect(e.problems.map((p) => p.field)).toEqual(['certificateArn', 'domainName']);
    expect(e.message).toContain('certificateArn: nothing was given; required when internetFacing is true');
    expect(e.message).toContain('domainName: got "llm.example.com"; applies only to an internal endpoint (internetFacing false)');
  });

  test('a certificate of another region than the stack\'s', () => {
    const e = problemsOf(build('eu-west-1', { certificateArn: CERT, domainName: 'llm.internal.example' }));
    expect(e.problems).toEqual([expect.objectContaining({ field: 'certificateArn', given: CERT })]);
    expect(e.message).toContain('expected a certificate in eu-west-1, the region the stack deploys to, but this one is in us-east-1: '
      + 'a load balancer can use only an ACM certificate of its own region');
  });

  test('what the rules allow builds: HTTPS inside the VPC with its domain, and an internet-facing one open to everyone', () => {
    const internal = build('us-east-1', { certificateArn: CERT, domainName: 'llm.internal.example' }) as Template;
    internal.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'HTTPS' });
    const open = build('us-east-1', { internetFacing: true, certificateArn: CERT, allowedCidrs: ['0.0.0.0/0'], subnets: { subnetType: ec2.SubnetType.PUBLIC } }) as Template;
    open.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  });

  test('CloudFormation values are the template\'s to check: a certificate, a region or a client range known only at deploy time', () => {
    const EU_CERT = CERT.replace('us-east-1', 'eu-west-1');
    // A certificate parameter is given; whether it is in the stack's region is for the deploy to find.
    expect(build('us-east-1', { domainName: 'llm.internal.example' }, (stack) => ({ certificateArn: new CfnParameter(stack, 'Cert').valueAsString })))
      .toBeInstanceOf(Template);
    // A stack whose region is chosen at deploy time (a StackSet's template).
    expect(build(undefined, { certificateArn: EU_CERT, domainName: 'llm.internal.example' })).toBeInstanceOf(Template);
    // A client range that is a parameter may be anything the template's rules allow.
    expect(build('us-east-1', {}, (stack) => ({ allowedCidrs: [new CfnParameter(stack, 'Cidr').valueAsString] }))).toBeInstanceOf(Template);
  });

  test('JavaScript values of the wrong type, and numbers outside the endpoint\'s ranges, are named with what is allowed', () => {
    const e = problemsOf(build('us-east-1', {
      internetFacing: 'false' as never, allowedCidrs: '10.0.0.0/8' as never, targetPort: 80, idleTimeout: Duration.seconds(5000),
    }));
    expect(e.problems.map((p) => p.field)).toEqual(['internetFacing', 'allowedCidrs', 'targetPort', 'idleTimeout']);
    expect(e.message).toContain('internetFacing: got "false"; expected true or false (a boolean, not a string)');
    expect(e.message).toContain('allowedCidrs: got "10.0.0.0/8"; expected a list of IPv4 CIDR blocks, e.g. [\'10.0.0.0/8\'] (a list, not one string)');
    expect(e.message).toContain('targetPort: got 80; expected a whole number from 1024 to 65535');
    expect(e.message).toContain('idleTimeout: got 5000; expected a whole number of seconds from 60 to 4000');
  });
});

/**
 * Builds an InferenceEndpoint alone in a fresh stack of an App with cdk.json's feature flags and
 * the kit's checks (cdk-nag, CloudFormation Validate, which fail synth on any finding the part does
 * not acknowledge itself), beside a plain VPC and access-log bucket, and synthesizes it.
 */
function synthesized(props: Partial<InferenceEndpointProps>): { stack: Stack; endpoint: InferenceEndpoint; bucket: s3.Bucket; t: Template } {
  const app = constructTestApp();
  registerChecks(app);
  const stack = new Stack(app, 'S', { env: { region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const bucket = new s3.Bucket(stack, 'Logs', { enforceSSL: true, encryption: s3.BucketEncryption.S3_MANAGED });
  // Stand-ins for the caller's own VPC and bucket, not under test.
  Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'A test fixture standing in for the caller\'s own VPC.' });
  Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: 'A test fixture standing in for the caller\'s own access-log bucket.' });
  const endpoint = new InferenceEndpoint(stack, 'Endpoint', {
    vpc, internetFacing: false, subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }, allowedCidrs: ['10.0.0.0/8'], targetPort: 8080,
    idleTimeout: Duration.seconds(600), deregistrationDelay: Duration.seconds(300), accessLogBucket: bucket, ...props,
  });
  app.synth();
  return { stack, endpoint, bucket, t: Template.fromStack(stack) };
}

describe('InferenceEndpoint alone with the required props, with the kit\'s checks', () => {
  let s: ReturnType<typeof synthesized>;
  beforeAll(() => {
    s = synthesized({});
  });

  test('an internal load balancer in the given subnets: idle timeout, invalid headers dropped, access logs to the bucket; deletionProtection unset: off', () => {
    const [lb] = Object.values(s.t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    expect(lb.Properties.Scheme).toBe('internal');
    expect(lb.Properties.Subnets).toEqual((s.stack.node.findChild('Vpc') as ec2.Vpc).privateSubnets.map((x) => s.stack.resolve(x.subnetId)));
    expect(lb.Properties.LoadBalancerAttributes).toEqual(expect.arrayContaining([
      { Key: 'idle_timeout.timeout_seconds', Value: '600' },
      { Key: 'routing.http.drop_invalid_header_fields.enabled', Value: 'true' },
      { Key: 'deletion_protection.enabled', Value: 'false' },
      { Key: 'access_logs.s3.enabled', Value: 'true' },
      { Key: 'access_logs.s3.bucket', Value: { Ref: s.stack.getLogicalId(s.bucket.node.defaultChild as any) } },
      { Key: 'access_logs.s3.prefix', Value: 'load-balancer' },
    ]));
  });

  test('certificateArn unset: one HTTP listener on 80, admitting only the given client ranges on it', () => {
    s.t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 80, Protocol: 'HTTP' });
    const sg = s.t.toJSON().Resources[s.stack.getLogicalId(s.endpoint.loadBalancer.connections.securityGroups[0].node.defaultChild as any)].Properties;
    expect(sg.SecurityGroupIngress).toEqual([expect.objectContaining({ CidrIp: '10.0.0.0/8', FromPort: 80, ToPort: 80, IpProtocol: 'tcp' })]);
    expect(s.endpoint.listenerPort).toBe(80);
  });

  test('domainName unset: url and loadBalancerUrl are the load balancer\'s own http:// name; no TLS server name', () => {
    const dns = { 'Fn::GetAtt': [s.stack.getLogicalId(s.endpoint.loadBalancer.node.defaultChild as any), 'DNSName'] };
    expect(s.stack.resolve(s.endpoint.url)).toEqual({ 'Fn::Join': ['', ['http://', dns]] });
    expect(s.endpoint.loadBalancerUrl).toBe(s.endpoint.url);
    expect(s.endpoint.tlsServerName).toBeUndefined();
  });

  test('the target group: the port, least outstanding requests, the deregistration delay, llama-server\'s health check', () => {
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Port: 8080,
      Protocol: 'HTTP',
      TargetType: 'instance',
      HealthCheckPath: HEALTH_CHECK_PATH,
      Matcher: { HttpCode: '200' },
      HealthCheckIntervalSeconds: 15,
      HealthCheckTimeoutSeconds: 5,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 3,
      TargetGroupAttributes: Match.arrayWith([
        { Key: 'deregistration_delay.timeout_seconds', Value: '300' },
        { Key: 'load_balancing.algorithm.type', Value: 'least_outstanding_requests' },
      ]),
    });
  });
});

describe('InferenceEndpoint alone with every prop, with the kit\'s checks', () => {
  test('internal: certificateArn serves HTTPS only (no listener on 80), for domainName; deletionProtection on', () => {
    const s = synthesized({ certificateArn: CERT, domainName: 'llm.internal.example', deletionProtection: true });
    s.t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERT }], SslPolicy: Match.stringLikeRegexp('TLS13'),
    });
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'deletion_protection.enabled', Value: 'true' }]),
    });
    const sg = s.t.toJSON().Resources[s.stack.getLogicalId(s.endpoint.loadBalancer.connections.securityGroups[0].node.defaultChild as any)].Properties;
    expect(sg.SecurityGroupIngress).toEqual([expect.objectContaining({ CidrIp: '10.0.0.0/8', FromPort: 443 })]);
    expect(s.endpoint.url).toBe('https://llm.internal.example');
    expect(s.endpoint.tlsServerName).toBe('llm.internal.example');
    expect(s.stack.resolve(s.endpoint.loadBalancerUrl)['Fn::Join'][1][0]).toBe('https://');
    expect(s.endpoint.listenerPort).toBe(443);
  });

  test('internet-facing, open to everyone: HTTPS, and HTTP on 80 redirected to it; the part acknowledges the open range it was asked for', () => {
    const s = synthesized({ internetFacing: true, certificateArn: CERT, allowedCidrs: ['0.0.0.0/0'], subnets: { subnetType: ec2.SubnetType.PUBLIC } });
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    s.t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    s.t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }) }],
    });
    const sg = s.t.toJSON().Resources[s.stack.getLogicalId(s.endpoint.loadBalancer.connections.securityGroups[0].node.defaultChild as any)].Properties;
    expect(sg.SecurityGroupIngress.map((r: any) => [r.CidrIp, r.FromPort])).toEqual([['0.0.0.0/0', 443], ['0.0.0.0/0', 80]]);
  });
});
