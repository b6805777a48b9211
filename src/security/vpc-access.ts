import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Why the statements below name `*`, for acknowledging AwsSolutions-IAM5. */
export const VPC_ACCESS_WILDCARDS = 'The EC2 Describe calls Lambda makes for VPC access support no resource-level permissions; ENI management is limited to this VPC by condition.';

/**
 * What a function in a VPC needs to manage its network interfaces, in place of the AWS managed
 * AWSLambdaVPCAccessExecutionRole: ENI changes only in this VPC.
 */
export function vpcAccessStatements(vpc: ec2.IVpc): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'DescribeForVpcAccess',
      actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ManageEnisInThisVpcOnly',
      actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: ['*'],
      conditions: { ArnEqualsIfExists: { 'ec2:Vpc': Stack.of(vpc).formatArn({ service: 'ec2', resource: 'vpc', resourceName: vpc.vpcId }) } },
    }),
  ];
}

/**
 * A security group, in `scope`, that lets a function or task reach one AWS service over HTTPS (through its
 * VPC endpoint, or NAT) and nothing else; the functions' shared group reaches only the proxy.
 */
export function httpsEgressGroup(scope: Construct, id: string, vpc: ec2.IVpc, description: string, service: string): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, id, { vpc, allowAllOutbound: false, description });
  sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), service);
  return sg;
}
