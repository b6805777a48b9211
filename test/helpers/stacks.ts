import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  DatabaseTarget, ExistingProxyOptions, FargateBackendOptions, QueryBackend, QueryDefinition, QueryParameter, SecureDbApi, SecureDbApiProps,
} from '../../src';
import { AccessLevel } from '../../src/database/query';

export const ENV = { account: '123456789012', region: 'eu-west-1' };

export interface TestStack {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
}

export interface TestStackOptions {
  /** Private subnets with a NAT gateway (the JWT authorizer needs egress), instead of isolated ones. */
  readonly egress?: boolean;
  /** More app context (feature flags). */
  readonly context?: Record<string, unknown>;
  /** The stack's id (its name). */
  readonly stackId?: string;
}

export function postgresStack(options: TestStackOptions = {}): TestStack {
  // Asset metadata lets tests find each function's staged asset directory.
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true, ...options.context } });
  const stack = new Stack(app, options.stackId ?? 'Test', { env: ENV });
  const vpc = options.egress
    ? new ec2.Vpc(stack, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [{ name: 'nat', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false }, { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }],
    })
    : new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new rds.DatabaseCluster(stack, 'Db', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: options.egress ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('writer'),
    iamAuthentication: true,
  });
  return { app, stack, vpc, cluster };
}

export const READ_AND_WRITE: QueryDefinition[] = [
  { route: 'GET /orders/{id}', sql: 'SELECT * FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], single: true },
  { route: 'GET /orders', sql: 'SELECT * FROM orders WHERE status = :status', parameters: [QueryParameter.enumeration('status', ['open', 'paid'], { defaultValue: 'open' })] },
  {
    route: 'POST /orders',
    access: AccessLevel.WRITE,
    sql: 'INSERT INTO orders (note) VALUES (:note) RETURNING id',
    parameters: [QueryParameter.string('note', { maxLength: 200, pattern: '[a-z ]+' })],
  },
];

export function postgresApi(props: Partial<SecureDbApiProps> = {}, options: TestStackOptions = {}): TestStack & { api: SecureDbApi } {
  const t = postgresStack(options);
  const api = new SecureDbApi(t.stack, 'Api', {
    vpc: t.vpc,
    database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
    queries: READ_AND_WRITE,
    ...props,
  });
  return { ...t, api };
}

/** The endpoint of the proxy `existingProxy` imports. */
export const EXISTING_PROXY_ENDPOINT = 'shared-proxy.proxy-abc.eu-west-1.rds.amazonaws.com';

/**
 * A proxy run elsewhere, imported by its attributes, with a security group of its own, for `proxy.existing`.
 * Imported once per stack: a second call returns the same proxy.
 */
export function existingProxy(stack: Stack, vpc: ec2.IVpc): ExistingProxyOptions {
  const imported = stack.node.tryFindChild('ExistingProxy') as rds.IDatabaseProxy | undefined;
  const importedGroup = stack.node.tryFindChild('ExistingProxySg') as ec2.ISecurityGroup | undefined;
  if (imported && importedGroup) return { proxy: imported, securityGroup: importedGroup };
  const securityGroup = new ec2.SecurityGroup(stack, 'ExistingProxySg', { vpc });
  const proxy = rds.DatabaseProxy.fromDatabaseProxyAttributes(stack, 'ExistingProxy', {
    dbProxyArn: 'arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-0123456789abcdef0',
    dbProxyName: 'shared-proxy',
    endpoint: EXISTING_PROXY_ENDPOINT,
    securityGroups: [securityGroup],
  });
  return { proxy, securityGroup };
}

export interface ImportedMysqlStack {
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly instance: rds.IDatabaseInstance;
}

/** A stack with a VPC and an imported (existing) RDS for MySQL instance. */
export function importedMysqlStack(attrs: Partial<rds.DatabaseInstanceAttributes> = {}): ImportedMysqlStack {
  const stack = new Stack(undefined, 'Imported', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Db', {
    instanceIdentifier: 'inventory',
    instanceEndpointAddress: 'inventory.abc.eu-west-1.rds.amazonaws.com',
    port: 3306,
    securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'DbSg', 'sg-0123456789abcdef0')],
    engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_39 }),
    ...attrs,
  });
  return { stack, vpc, instance };
}

/** The container backend at queries.internal.example.com, with an imported certificate and log bucket in `stack`. */
export function fargateBackend(stack: Stack, options: Partial<FargateBackendOptions> = {}): QueryBackend {
  return QueryBackend.fargate({
    domainName: 'queries.internal.example.com',
    certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555'),
    accessLogBucket: s3.Bucket.fromBucketName(stack, 'Logs', 'log-archive-bucket'),
    ...options,
  });
}
