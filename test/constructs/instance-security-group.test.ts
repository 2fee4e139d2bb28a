import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { httpsOutOnlySecurityGroup } from '../../lib/constructs/instance-security-group';
import { constructTestApp } from '../support/synth';

describe('httpsOutOnlySecurityGroup', () => {
  test('no inbound rule, one outbound rule: TCP 443 to anywhere; the caller adds what may reach it', () => {
    const stack = new Stack(constructTestApp(), 'Sg');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0 });
    const group = httpsOutOnlySecurityGroup(stack, 'Group', vpc, 'an instance of the kit');
    const template = Template.fromStack(stack);
    const groups = template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: 'an instance of the kit' } });
    const [props] = Object.values(groups).map((g) => g.Properties);
    expect(props.SecurityGroupIngress).toBeUndefined();
    expect(props.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'HTTPS: AWS APIs, GitHub, model host, package repositories', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    expect(group.connections.securityGroups).toEqual([group]);
  });
});
