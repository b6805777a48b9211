/** Pieces both example apps need to pass the compliance packs themselves (not part of the library). */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { KeyPolicies } from '../../src';

/** VPC flow logs to an encrypted log group, with a role whose only policy is customer-managed. */
export function flowLogs(stack: Stack, vpc: ec2.IVpc): void {
  const key = new kms.Key(stack, 'FlowLogKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
  KeyPolicies.restrictGrantsToAwsServices(key);
  key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`));
  const group = new logs.LogGroup(stack, 'FlowLogs', { retention: logs.RetentionDays.ONE_YEAR, encryptionKey: key, removalPolicy: RemovalPolicy.RETAIN });
  const role = new iam.Role(stack, 'FlowLogRole', { assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com') });
  new iam.ManagedPolicy(stack, 'FlowLogPolicy', {
    roles: [role],
    statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [group.logGroupArn] })],
  });
  new ec2.FlowLog(stack, 'FlowLog', {
    resourceType: ec2.FlowLogResourceType.fromVpc(vpc),
    destination: ec2.FlowLogDestination.toCloudWatchLogs(group, role.withoutPolicyUpdates()),
    trafficType: ec2.FlowLogTrafficType.ALL,
  });
}

/** RDS enhanced monitoring role with a customer-managed policy instead of the AWS managed one. */
export function monitoringRole(stack: Stack): iam.Role {
  const role = new iam.Role(stack, 'MonitoringRole', { assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com') });
  new iam.ManagedPolicy(stack, 'MonitoringPolicy', {
    roles: [role],
    statements: [
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
        resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: 'RDSOSMetrics', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
      }),
    ],
  });
  return role;
}
