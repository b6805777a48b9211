/**
 * What synthesis alone does not show but a first deployment into an account that already holds other
 * stacks does: shared physical names, ports, account-wide resources, `cdk synth --strict` warnings.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DatabaseTarget, SecureDbApi } from '../src';
import { postgresApi } from './helpers/stacks';

describe('account-wide API Gateway logging', () => {
  test('GIVEN two APIs in one stack THEN the stack holds one AWS::ApiGateway::Account, and both stages wait for it', () => {
    const { stack, vpc, cluster } = postgresApi();
    new SecureDbApi(stack, 'Second', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      readerUser: 'second_reader',
      writerUser: 'second_writer',
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
    const [accountId] = Object.keys(t.findResources('AWS::ApiGateway::Account'));
    const stages = Object.values(t.findResources('AWS::ApiGateway::Stage')) as any[];
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s.DependsOn).toEqual(expect.arrayContaining([accountId]));
  });

  test('the role, its policy and the account setting are retained when the stack is deleted', () => {
    const t = Template.fromStack(postgresApi().stack);
    const role = Object.values(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] } } })) as any[];
    expect(role).toHaveLength(1);
    expect(role[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::IAM::ManagedPolicy', {
      DeletionPolicy: 'Retain',
      Properties: { PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['logs:PutLogEvents']) })] } },
    });
  });

  test('the role writes only the execution log groups of this account and region', () => {
    Template.fromStack(postgresApi().stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^SecureDbApiAccountLoggingCloudWatchRole') }],
      PolicyDocument: { Statement: [Match.objectLike({ Resource: 'arn:*:logs:eu-west-1:123456789012:log-group:API-Gateway-Execution-Logs_*' })] },
    });
  });

  test('an environment-agnostic stack scopes the role to its own account and region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const cluster = new rds.DatabaseCluster(stack, 'Db', { engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }), vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, writer: rds.ClusterInstance.serverlessV2('writer') });
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^SecureDbApiAccountLoggingCloudWatchRole') }],
      PolicyDocument: {
        Statement: [Match.objectLike({
          Resource: { 'Fn::Join': ['', ['arn:*:logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:API-Gateway-Execution-Logs_*']] },
        })],
      },
    });
    // The wildcard's finding is acknowledged there too, although its id holds references.
    const findings = new AwsSolutionsChecks().validateScope(stack).violations
      .filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('SecureDbApiAccountLogging')));
    expect(findings.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('cdk synth --strict', () => {
  test('a default SecureDbApi synthesizes without warnings', () => {
    const { stack } = postgresApi();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('alarm periods set in the thresholds apply to every metric of a math expression, without warnings', () => {
    const { stack } = postgresApi({
      monitoring: {
        thresholds: {
          apiServerErrorRatePercent: { period: Duration.minutes(1) },
          proxyBorrowLatencyMs: { period: Duration.minutes(1) },
          functionDurationPercentOfTimeout: { period: Duration.minutes(1) },
        },
      },
    });
    const t = Template.fromStack(stack);
    const alarm = (id: string) => Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(([logicalId]) => logicalId.includes(id))![1] as any;
    for (const id of ['ApiServerErrorRate', 'ProxyBorrowLatency', 'ReaderDurationNearTimeout']) {
      const periods = alarm(id).Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Period);
      expect(periods.length).toBeGreaterThan(0);
      expect(new Set(periods)).toEqual(new Set([60]));
    }
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
