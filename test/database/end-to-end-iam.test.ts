/**
 * ProxyAuthentication.END_TO_END_IAM: no database passwords anywhere. The proxy logs in with IAM as
 * exactly the two users, no user secrets or rotation exist, and the users are bootstrapped IAM-only.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { DatabaseTarget, ProxyAuthentication, SecureDbApi, SecureDbApiProps } from '../../src';
import { importedMysqlStack, postgresApi, postgresStack, READ_AND_WRITE } from '../helpers/stacks';
import { onlyResourceOf, PolicyProperties } from '../helpers/template';

describe('end-to-end IAM on a cluster defined in the app', () => {
  const { stack, api, app } = postgresApi({ proxy: { authentication: ProxyAuthentication.END_TO_END_IAM } });
  const t = Template.fromStack(stack);

  test('the proxy uses IAM to the database as well, with TLS required and no secrets', () => {
    t.hasResourceProperties('AWS::RDS::DBProxy', { DefaultAuthScheme: 'IAM_AUTH', RequireTLS: true, Auth: Match.absent() });
    // Only the cluster's own master secret remains; no user secrets and no rotation of them.
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    expect(api.secrets).toEqual([]);
  });

  test('the proxy role may connect as the reader and writer of this cluster only, in a customer-managed policy', () => {
    const [[roleId]] = Object.entries(t.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'rds.amazonaws.com' } })] } } }));
    t.hasResourceProperties('AWS::RDS::DBProxy', { RoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    t.resourceCountIs('AWS::IAM::Policy', 0);
    const policy = onlyResourceOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: roleId }] } });
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatchObject({ Sid: 'ConnectAsTheApiUsers', Effect: 'Allow', Action: 'rds-db:connect' });
    const arns = JSON.stringify(statements[0].Resource);
    expect(statements[0].Resource).toHaveLength(2);
    expect(arns).toMatch(/:dbuser:",\{"Fn::GetAtt":\["Db[A-Z0-9]+","DBClusterResourceId"\]\},"\/api_reader"/);
    expect(arns).toMatch(/"\/api_writer"/);
  });

  test('the users are bootstrapped IAM-only, without password secrets', () => {
    t.hasResourceProperties('Custom::SecureDbApiDatabaseUsers', { Authentication: 'iam', ReaderSecretArn: Match.absent(), WriterSecretArn: Match.absent() });
  });

  test('no unacknowledged cdk-nag findings on the construct', () => {
    app.synth();
    const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
    expect(packs.flatMap((p) => p.validateScope(api).violations.map((v) => v.ruleName))).toEqual([]);
  });
});

describe('end-to-end IAM refusals', () => {
  test('a database without IAM authentication', () => {
    const t = postgresStack();
    (t.cluster.node.defaultChild as rds.CfnDBCluster).enableIamDatabaseAuthentication = false;
    expect(() => new SecureDbApi(t.stack, 'Api', {
      vpc: t.vpc,
      database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
      queries: READ_AND_WRITE,
      proxy: { authentication: ProxyAuthentication.END_TO_END_IAM },
    })).toThrow(/END_TO_END_IAM needs iamAuthentication: true on the database/);
  });

  function imported(attrs: Partial<rds.DatabaseInstanceAttributes>, props: Partial<SecureDbApiProps> = {}) {
    const { stack, vpc, instance } = importedMysqlStack(attrs);
    return () => new SecureDbApi(stack, 'Api', {
      vpc, database: DatabaseTarget.fromInstance(instance, { databaseName: 'inventory' }), queries: READ_AND_WRITE, proxy: { authentication: ProxyAuthentication.END_TO_END_IAM }, ...props,
    });
  }

  test('an imported database without its resource id', () => {
    expect(imported({})).toThrow(/needs the database's resource id.*instanceResourceId/);
  });

  test('an imported instance with its resource id is fine', () => {
    const api = imported({ instanceResourceId: 'db-ABCDEFGHIJKL' })();
    const t = Template.fromStack(Stack.of(api));
    expect(JSON.stringify(t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp('end-to-end IAM') } }))).toContain('db-ABCDEFGHIJKL/api_reader');
  });

  test('with an existing proxy', () => {
    const t = postgresStack();
    const proxy = rds.DatabaseProxy.fromDatabaseProxyAttributes(t.stack, 'P', { dbProxyArn: 'arn:aws:rds:eu-west-1:123456789012:db-proxy:prx-1', dbProxyName: 'p', endpoint: 'p.proxy-x.eu-west-1.rds.amazonaws.com', securityGroups: [] });
    expect(() => new SecureDbApi(t.stack, 'Api', {
      vpc: t.vpc,
      database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
      queries: READ_AND_WRITE,
      proxy: {
        existing: { proxy, securityGroup: ec2.SecurityGroup.fromSecurityGroupId(t.stack, 'PSg', 'sg-1') },
        authentication: ProxyAuthentication.END_TO_END_IAM,
      },
    })).toThrow(/SecureDbApi Test\/Api: proxy.authentication applies to a new proxy/);
  });
});
