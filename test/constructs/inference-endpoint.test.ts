import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { PropsError } from '../../lib/base/problems';
import { InferenceEndpoint, InferenceEndpointProps } from '../../lib/constructs/inference-endpoint';

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
});
