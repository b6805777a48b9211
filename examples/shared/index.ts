/** Pieces the example apps need to pass the compliance packs themselves (not part of the library). */
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { KeyPolicies } from '../../src';

/**
 * A VPC whose private subnets reach the internet through one NAT gateway (for callers of public
 * endpoints, such as an identity provider's JWKS), with flow logs and no public IPs on launch.
 */
export function egressVpc(stack: Stack, cidr: string): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(cidr),
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'nat', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
      { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
    ],
  });
  flowLogs(stack, vpc);
  Validations.of(vpc).acknowledge(...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((p) => ({
    id: `${p}-VPCDefaultSecurityGroupClosed`,
    reason: 'Nothing in this VPC uses the default security group; every resource has its own.',
  })));
  for (const subnet of vpc.publicSubnets) {
    Validations.of(subnet.node.findChild('DefaultRoute')).acknowledge(...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((p) => ({
      id: `${p}-VPCNoUnrestrictedRouteToIGW`,
      reason: 'The public subnets hold only the NAT gateway (no public IPs on launch); its route to the internet gateway is what gives the private subnets egress.',
    })));
  }
  return vpc;
}

/**
 * A VPC with isolated subnets only, flow logs, and a Secrets Manager interface endpoint (secret rotation
 * and the database user bootstrap reach Secrets Manager through it).
 */
export function isolatedVpc(stack: Stack, cidr: string): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    ipAddresses: ec2.IpAddresses.cidr(cidr),
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
  });
  flowLogs(stack, vpc);
  Validations.of(vpc).acknowledge(...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((p) => ({
    id: `${p}-VPCDefaultSecurityGroupClosed`,
    reason: 'Nothing in this VPC uses the default security group; every resource has its own.',
  })));
  const endpointSg = new ec2.SecurityGroup(stack, 'EndpointSecurityGroup', { vpc, allowAllOutbound: false, description: 'Secrets Manager endpoint: HTTPS from the VPC' });
  endpointSg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from inside the VPC');
  vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false, securityGroups: [endpointSg] });
  return vpc;
}

/** An encrypted Aurora PostgreSQL Serverless v2 cluster with IAM auth, backups, logs and a rotating master secret. */
export function auroraPostgres(stack: Stack, vpc: ec2.IVpc, databaseName: string): rds.DatabaseCluster {
  const key = new kms.Key(stack, 'DatabaseKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
  KeyPolicies.restrictGrantsToAwsServices(key);
  const vpcSubnets = { subnetType: vpc.isolatedSubnets.length > 0 ? ec2.SubnetType.PRIVATE_ISOLATED : ec2.SubnetType.PRIVATE_WITH_EGRESS };
  const cluster = new rds.DatabaseCluster(stack, 'Database', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    credentials: rds.Credentials.fromGeneratedSecret(`${databaseName}_admin`, { encryptionKey: key }),
    vpc,
    vpcSubnets,
    writer: rds.ClusterInstance.serverlessV2('writer'),
    readers: [rds.ClusterInstance.serverlessV2('reader', { scaleWithWriter: true })],
    serverlessV2MinCapacity: 0.5,
    serverlessV2MaxCapacity: 4,
    defaultDatabaseName: databaseName,
    storageEncrypted: true,
    storageEncryptionKey: key,
    iamAuthentication: true,
    deletionProtection: true,
    backup: { retention: Duration.days(14) },
    cloudwatchLogsExports: ['postgresql'],
    monitoringInterval: Duration.seconds(60),
    monitoringRole: monitoringRole(stack),
    removalPolicy: RemovalPolicy.SNAPSHOT,
  });
  cluster.secret?.addRotationSchedule('Rotation', {
    automaticallyAfter: Duration.days(30),
    hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({ vpc, vpcSubnets }),
  });
  Validations.of(cluster).acknowledge(
    { id: 'AwsSolutions-RDS11', reason: 'The database is reachable only from the proxy and rotation security groups; a non-default port adds nothing.' },
    ...['HIPAA.Security', 'NIST.800.53.R5'].map((p) => ({ id: `${p}-RDSInBackupPlan`, reason: 'Aurora continuous backups (14 days, point-in-time restore); AWS Backup plans are managed by the organization.' })),
  );
  return cluster;
}

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
