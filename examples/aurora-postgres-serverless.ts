/**
 * Example 1: a new VPC and an Aurora PostgreSQL Serverless v2 cluster, published as an orders API.
 */
import { App, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AccessLevel, DatabaseTarget, KeyPolicies, QueryParameter, SecureDbApi } from '../src';
import { flowLogs, monitoringRole } from './shared';

export class AuroraPostgresOrdersStack extends Stack {
  public readonly ordersApi: SecureDbApi;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const cidr = '10.20.0.0/16';
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(cidr),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    flowLogs(this, vpc);
    Validations.of(vpc).acknowledge(...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((p) => ({
      id: `${p}-VPCDefaultSecurityGroupClosed`,
      reason: 'Nothing in this VPC uses the default security group; every resource has its own.',
    })));

    // Isolated subnets: secret rotation reaches Secrets Manager through an interface endpoint.
    const endpointSg = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', { vpc, allowAllOutbound: false, description: 'Secrets Manager endpoint: HTTPS from the VPC' });
    endpointSg.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), 'HTTPS from inside the VPC');
    vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false, securityGroups: [endpointSg] });

    const key = new kms.Key(this, 'DatabaseKey', { enableKeyRotation: true, removalPolicy: RemovalPolicy.RETAIN });
    KeyPolicies.restrictGrantsToAwsServices(key);
    const cluster = new rds.DatabaseCluster(this, 'Database', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      credentials: rds.Credentials.fromGeneratedSecret('shop_admin', { encryptionKey: key }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      writer: rds.ClusterInstance.serverlessV2('writer'),
      readers: [rds.ClusterInstance.serverlessV2('reader', { scaleWithWriter: true })],
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 4,
      defaultDatabaseName: 'shop',
      storageEncrypted: true,
      storageEncryptionKey: key,
      iamAuthentication: true,
      deletionProtection: true,
      backup: { retention: Duration.days(14) },
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(60),
      monitoringRole: monitoringRole(this),
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    cluster.secret?.addRotationSchedule('Rotation', {
      automaticallyAfter: Duration.days(30),
      hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({ vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } }),
    });
    Validations.of(cluster).acknowledge(
      { id: 'AwsSolutions-RDS11', reason: 'The database is reachable only from the proxy and rotation security groups; a non-default port adds nothing.' },
      ...['HIPAA.Security', 'NIST.800.53.R5'].map((p) => ({ id: `${p}-RDSInBackupPlan`, reason: 'Aurora continuous backups (14 days, point-in-time restore); AWS Backup plans are managed by the organization.' })),
    );

    this.ordersApi = new SecureDbApi(this, 'OrdersApi', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      throttling: { rateLimit: 50, burstLimit: 100 },
      queries: [
        {
          route: 'GET /orders/{id}',
          sql: 'SELECT id, customer_id, status, total_cents, created_at FROM orders WHERE id = :id',
          parameters: [QueryParameter.integer('id', { minimum: 1 })],
          single: true,
        },
        {
          route: 'GET /customers/{customerId}/orders',
          sql: 'SELECT id, status, total_cents, created_at FROM orders WHERE customer_id = :customerId AND (:status::text IS NULL OR status = :status) ORDER BY created_at DESC',
          parameters: [
            QueryParameter.uuid('customerId'),
            QueryParameter.enumeration('status', ['open', 'paid', 'shipped'], { required: false }),
          ],
          rowLimit: 50,
        },
      ],
    });
    this.ordersApi.addQuery('POST /orders', {
      access: AccessLevel.WRITE,
      sql: 'INSERT INTO orders (customer_id, status, total_cents) VALUES (:customerId, \'open\', :totalCents) RETURNING id',
      parameters: [QueryParameter.uuid('customerId'), QueryParameter.integer('totalCents', { minimum: 0 })],
      timeout: Duration.seconds(3),
    });
  }
}

export function build(app: App): Stack[] {
  return [new AuroraPostgresOrdersStack(app, 'SecureDbApiAuroraPostgres', { env: { account: '111111111111', region: 'eu-west-1' } })];
}
