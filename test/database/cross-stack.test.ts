/**
 * A database defined in another stack than the SecureDbApi: the rules between the API's security groups
 * (proxy, rotation, user bootstrap) and the database's are in the API's stack, so the database's stack
 * never references the API's and the app synthesizes without a dependency cycle.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseTarget, SecureDbApi } from '../../src';
import { ENV } from '../helpers/stacks';

function twoStacks() {
  const app = new App();
  const data = new Stack(app, 'Data', { env: ENV });
  const vpc = new ec2.Vpc(data, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new rds.DatabaseCluster(data, 'Db', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('writer'),
  });
  const apiStack = new Stack(app, 'Api', { env: ENV });
  new SecureDbApi(apiStack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
  return { app, data, apiStack };
}

test('a database in another stack than the API synthesizes without a dependency cycle', () => {
  const { app } = twoStacks();
  expect(() => app.synth()).not.toThrow();
});

test('the database stack holds no rule of the API; the API stack holds them, into the database group', () => {
  const { data, apiStack } = twoStacks();
  const dataTemplate = Template.fromStack(data);
  dataTemplate.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  dataTemplate.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
  const api = Template.fromStack(apiStack);
  for (const [source, description] of [['ApiProxySecurityGroup', 'Allow connections to the database Cluster from the Proxy'], ['ApiRotationSecurityGroup', 'Secret rotation'], ['ApiDatabaseUsersSecurityGroup', 'Database user bootstrap']]) {
    api.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('DbSecurityGroup') },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${source}`), 'GroupId'] },
      Description: description,
    });
  }
  // The proxy and the bootstrap (no outbound by default) reach the database's group.
  for (const source of ['ApiProxySecurityGroup', 'ApiDatabaseUsersSecurityGroup']) {
    api.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${source}`), 'GroupId'] },
      DestinationSecurityGroupId: { 'Fn::ImportValue': Match.stringLikeRegexp('DbSecurityGroup') },
    });
  }
});
