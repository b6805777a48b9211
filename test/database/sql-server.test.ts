/**
 * SQL Server targets in the template: the SQL Server bundle, port 1433 through the proxy, hosted
 * SQL Server rotation, and the user bootstrap refused with a clear message (not built yet).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseTarget, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { ENV } from '../helpers/stacks';
import { FunctionProperties, onlyResourceOf } from '../helpers/template';

function sqlServerApi(props: Partial<SecureDbApiProps> = {}) {
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'SqlServer', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const instance = new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.sqlServerSe({ version: rds.SqlServerEngineVersion.VER_16 }),
    licenseModel: rds.LicenseModel.LICENSE_INCLUDED,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    iamAuthentication: true,
  });
  const make = () => new SecureDbApi(stack, 'Api', {
    vpc,
    database: DatabaseTarget.fromInstance(instance, { databaseName: 'app' }),
    queries: [{ route: 'GET /orders/{id}', sql: 'SELECT TOP (1) id, status FROM dbo.orders WHERE id = :id', parameters: [QueryParameter.integer('id')] }],
    ...props,
  });
  return { app, stack, make };
}

test('on RDS for SQL Server the SQL Server bundle runs the T-SQL with @p placeholders on port 1433', () => {
  const { app, stack, make } = sqlServerApi({
    queries: [{ route: 'GET /orders', sql: 'SELECT id, status FROM dbo.orders WHERE status = :status', parameters: [QueryParameter.string('status')] }],
    databaseUsers: { create: false },
  });
  make();
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'SQLSERVER', RequireTLS: true });
  t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 1433, ToPort: 1433, Description: 'Query functions' });
  t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { HostedRotationLambda: Match.objectLike({ RotationType: 'SQLServerSingleUser' }) });
  const fn = onlyResourceOf<FunctionProperties>(t, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('read queries') } });
  const dir = path.join(app.synth().directory, fn.Metadata['aws:asset:path']);
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  expect(config.engine).toBe('sqlserver');
  expect(config.connection.port).toBe(1433);
  const bundle = readFileSync(path.join(dir, 'index.js'), 'utf8');
  expect(bundle).toContain('this function serves SQL Server');
  expect(bundle).not.toMatch(/pg-protocol|mysql_native_password/);
});

test('the user bootstrap is not offered for SQL Server yet: a warning by default, an error when asked for', () => {
  const quiet = sqlServerApi();
  quiet.make();
  Template.fromStack(quiet.stack).resourceCountIs('Custom::SecureDbApiDatabaseUsers', 0);
  Annotations.fromStack(quiet.stack).hasWarning('/SqlServer/Api', Match.stringLikeRegexp('not created on SQL Server, and their secrets do not rotate until they exist'));
  expect(sqlServerApi({ databaseUsers: { create: true } }).make).toThrow(/not available for SQL Server yet/);
});

test('SQL Server users nothing creates have secrets for the proxy but no rotation, which would fail on missing logins', () => {
  const { stack, make } = sqlServerApi();
  make();
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  t.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: Match.stringLikeRegexp('api_(reader|writer)') }) }, 2);
  t.hasResourceProperties('AWS::RDS::DBProxy', { Auth: Match.arrayWith([Match.objectLike({ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED' })]) });
  // Nothing opens the database to rotation functions that do not exist.
  t.resourcePropertiesCountIs('AWS::EC2::SecurityGroupIngress', { Description: 'Secret rotation' }, 0);
  t.resourcePropertiesCountIs('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('^Secret rotation') }, 0);
});

test('with databaseUsers.create false (the owner made the logins) both secrets rotate, quietly', () => {
  const { stack, make } = sqlServerApi({ databaseUsers: { create: false } });
  make();
  Template.fromStack(stack).resourcePropertiesCountIs('AWS::SecretsManager::RotationSchedule', { HostedRotationLambda: Match.objectLike({ RotationType: 'SQLServerSingleUser' }) }, 2);
  Annotations.fromStack(stack).hasNoWarning('/SqlServer/Api', Match.anyValue());
});

test('T-SQL errors are reported at synth time', () => {
  const { make } = sqlServerApi({ queries: [{ route: 'GET /a', sql: 'SELECT * FROM t WHERE id = @p1' }] });
  expect(() => Template.fromStack(Stack.of(make()))).toThrow(/@p1 are reserved/);
});
