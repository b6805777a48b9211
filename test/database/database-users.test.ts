/**
 * The database user bootstrap in the template: one custom resource with the master and user secrets,
 * a function that can read exactly those secrets, the database opened to it alone, and the users
 * created before their secrets first rotate. Imported databases need the master secret given.
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DatabaseTarget, SecureDbApi, SecureDbApiProps } from '../../src';
import { importedMysqlStack, postgresApi, READ_AND_WRITE } from '../helpers/stacks';
import { FunctionProperties, onlyResourceOf, PolicyProperties, resourceEntriesOf, resourcesOf, SecurityGroupProperties } from '../helpers/template';

/** What the tests read of the provider framework's and the bootstrap's functions. */
interface ProviderFunctionProperties extends FunctionProperties {
  readonly Role: { readonly 'Fn::GetAtt': [string, string] };
  readonly Timeout?: number;
  readonly LoggingConfig: { readonly LogGroup: unknown };
}

const USERS = 'Custom::SecureDbApiDatabaseUsers';

function importedMysql(props: Partial<SecureDbApiProps> = {}) {
  const { stack, vpc, instance } = importedMysqlStack();
  const make = (more: Partial<SecureDbApiProps> = {}) => new SecureDbApi(stack, 'Api', {
    vpc,
    database: DatabaseTarget.fromInstance(instance, { databaseName: 'inventory' }),
    queries: READ_AND_WRITE.slice(0, 1),
    ...props,
    ...more,
  });
  return { stack, make };
}

describe('database users of a cluster defined in the app', () => {
  const { stack } = postgresApi();
  const t = Template.fromStack(stack);
  const [[resourceId, resource]] = resourceEntriesOf<Record<string, unknown>>(t, USERS);

  test('one custom resource, kept on delete, with the master secret, the endpoint and the users with their secrets', () => {
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.Properties).toEqual({
      ServiceToken: { 'Fn::GetAtt': [expect.stringMatching(/^ApiDatabaseUsersProviderframeworkonEvent/), 'Arn'] },
      Engine: 'postgres',
      Database: 'shop',
      Host: { 'Fn::GetAtt': [expect.stringMatching(/^Db/), 'Endpoint.Address'] },
      Port: { 'Fn::GetAtt': [expect.stringMatching(/^Db/), 'Endpoint.Port'] },
      MasterSecretArn: { Ref: expect.stringMatching(/^DbSecretAttachment/) },
      ReaderUser: 'api_reader',
      WriterUser: 'api_writer',
      Authentication: 'password',
      ReaderSecretArn: { Ref: expect.stringMatching(/^ApiReaderSecretAttachment/) },
      WriterSecretArn: { Ref: expect.stringMatching(/^ApiWriterSecretAttachment/) },
    });
  });

  test('both rotation schedules wait for the users (single-user rotation logs in as them)', () => {
    const schedules = resourcesOf<unknown>(t, 'AWS::SecretsManager::RotationSchedule', { Properties: { SecretId: { Ref: Match.stringLikeRegexp('^Api(Reader|Writer)SecretAttachment') } } });
    expect(schedules).toHaveLength(2);
    for (const s of schedules) expect(s.DependsOn).toEqual(expect.arrayContaining([resourceId]));
  });

  test('the function reads exactly the three secrets, decrypts only through Secrets Manager, and trusts the RDS CAs', () => {
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('user bootstrap'),
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'ReadTheSecrets',
            Effect: 'Allow',
            Action: 'secretsmanager:GetSecretValue',
            Resource: [{ Ref: Match.stringLikeRegexp('^DbSecretAttachment') }, { Ref: Match.stringLikeRegexp('^ApiReaderSecretAttachment') }, { Ref: Match.stringLikeRegexp('^ApiWriterSecretAttachment') }],
          },
          {
            Sid: 'DecryptTheSecrets',
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            // The master secret of the test cluster uses the AWS managed key, which needs no grant.
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiKey'), 'Arn'] },
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          },
        ]),
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('user bootstrap'),
      Environment: { Variables: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' } },
      VpcConfig: Match.objectLike({ SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiDatabaseUsersSecurityGroup'), 'GroupId'] }] }),
    });
  });

  test('the database accepts the bootstrap on its port; the bootstrap reaches only the database and HTTPS', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiDatabaseUsersSecurityGroup'), 'GroupId'] },
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DbSecurityGroup'), 'GroupId'] },
      // The cluster's own port, whatever it is.
      FromPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Db'), 'Endpoint.Port'] },
      ToPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Db'), 'Endpoint.Port'] },
    });
    const sg = onlyResourceOf<SecurityGroupProperties>(t, 'AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('user bootstrap') } });
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' })]);
  });
});

describe('the custom resource answers CloudFormation from outside the VPC', () => {
  const { stack } = postgresApi();
  const t = Template.fromStack(stack);
  const functions = resourceEntriesOf<ProviderFunctionProperties>(t, 'AWS::Lambda::Function');
  const [[frameworkId, framework]] = functions.filter(([id]) => id.startsWith('ApiDatabaseUsersProviderframeworkonEvent'));
  const [[bootstrapId, bootstrap]] = functions.filter(([, f]) => /user bootstrap/.test(f.Properties.Description ?? ''));

  test('its service token is the provider framework, outside the VPC, which invokes the in-VPC bootstrap', () => {
    const [resource] = resourcesOf<{ ServiceToken: unknown }>(t, USERS);
    expect(resource.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [frameworkId, 'Arn'] });
    expect(framework.Properties.VpcConfig).toBeUndefined();
    expect(framework.Properties.Environment.Variables.USER_ON_EVENT_FUNCTION_ARN).toEqual({ 'Fn::GetAtt': [bootstrapId, 'Arn'] });
    expect(bootstrap.Properties.VpcConfig?.SubnetIds).toHaveLength(2);
  });

  test('the bootstrap\'s own timeout (2 minutes) bounds the operation: the framework answers FAILED when it expires', () => {
    expect(bootstrap.Properties.Timeout).toBe(120);
  });

  test('the framework may only invoke the bootstrap and write its own encrypted logs, with no inline policy', () => {
    const roleId = framework.Properties.Role['Fn::GetAtt'][0];
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: [
          { Sid: 'InvokeTheBootstrap', Effect: 'Allow', Action: ['lambda:InvokeFunction', 'lambda:GetFunction'], Resource: { 'Fn::GetAtt': [bootstrapId, 'Arn'] } },
          { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiDatabaseUsersProviderLogGroup'), 'Arn'] } },
        ],
      },
    });
    expect(t.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } })).toEqual({});
    t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiKey'), 'Arn'] } });
    expect(framework.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^ApiDatabaseUsersProviderLogGroup/) });
  });
});

describe('database users of an imported database', () => {
  test('without the master secret they are not created, their secrets do not rotate, and a warning says how to', () => {
    const { stack, make } = importedMysql();
    make();
    const t = Template.fromStack(stack);
    t.resourceCountIs(USERS, 0);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    Annotations.fromStack(stack).hasWarning('/Imported/Api', Match.stringLikeRegexp('their secrets do not rotate until they exist'));
    Annotations.fromStack(stack).hasWarning('/Imported/Api', Match.stringLikeRegexp('the master secret of the imported database is unknown'));
  });

  test('with databaseUsers.masterSecret they are', () => {
    const { stack, make } = importedMysql();
    make({ databaseUsers: { masterSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'inventory/master') } });
    const t = Template.fromStack(stack);
    t.hasResourceProperties(USERS, { Engine: 'mysql', Host: 'inventory.abc.eu-west-1.rds.amazonaws.com', Port: 3306 });
    // A secret imported by name: the policy matches its random suffix.
    const [policy] = resourcesOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp('user bootstrap') } });
    expect(JSON.stringify([policy.Properties.PolicyDocument.Statement[0].Resource].flat()[0])).toMatch(/:secret:inventory\/master-\?\?\?\?\?\?"/);
    Annotations.fromStack(stack).hasNoWarning('/Imported/Api', Match.anyValue());
  });

  test('databaseUsers.create: false is quiet, and the owner\'s users rotate', () => {
    const { stack, make } = importedMysql({ databaseUsers: { create: false } });
    make();
    Annotations.fromStack(stack).hasNoWarning('/Imported/Api', Match.anyValue());
    Template.fromStack(stack).resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
  });

  test.each([
    ['create without a master secret', { databaseUsers: { create: true } }, /needs the master secret: the database was imported, so set databaseUsers.masterSecret/],
    ['schemas on MySQL', { databaseUsers: { schemas: ['app'] } }, /schemas is for PostgreSQL/],
  ] as Array<[string, Partial<SecureDbApiProps>, RegExp]>)('%s is refused', (_label, props, error) => {
    const { make } = importedMysql(props);
    expect(make).toThrow(error);
  });
});

test.each([
  ['bad schema names', { databaseUsers: { schemas: ['public; DROP'] } }, /schemas must be plain identifiers/],
  ['no schemas', { databaseUsers: { schemas: [] } }, /schemas must be plain identifiers/],
] as Array<[string, Partial<SecureDbApiProps>, RegExp]>)('%s are refused', (_label, props, error) => {
  expect(() => postgresApi(props)).toThrow(error);
});

test('custom schemas reach the resource', () => {
  const { stack } = postgresApi({ databaseUsers: { schemas: ['app', 'reporting'] } });
  Template.fromStack(stack).hasResourceProperties(USERS, { Schemas: 'app,reporting' });
});

describe('a master secret encrypted with a customer-managed key', () => {
  /** The KMS keys the bootstrap may decrypt with. */
  function decryptKeys(t: Template): unknown {
    const [policy] = resourcesOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp('user bootstrap') } });
    const decrypt = policy.Properties.PolicyDocument.Statement.find((s) => s.Sid === 'DecryptTheSecrets');
    expect(decrypt?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } });
    return decrypt?.Resource;
  }
  const CMK = 'arn:aws:kms:eu-west-1:123456789012:key/0b2f8f5e-aaaa-bbbb-cccc-444455556666';

  test('a secret imported with its key lets the bootstrap decrypt with that key', () => {
    const { stack, make } = importedMysql();
    const encryptionKey = kms.Key.fromKeyArn(stack, 'MasterKey', CMK);
    make({ databaseUsers: { masterSecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Master', { secretCompleteArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:inventory/master-AbCdEf', encryptionKey }) } });
    expect(decryptKeys(Template.fromStack(stack))).toEqual(expect.arrayContaining([CMK]));
  });

  test('a secret imported by name with databaseUsers.masterSecretEncryptionKey lets the bootstrap decrypt with that key', () => {
    const { stack, make } = importedMysql();
    make({
      databaseUsers: {
        masterSecret: secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'inventory/master'),
        masterSecretEncryptionKey: kms.Key.fromKeyArn(stack, 'MasterKey', CMK),
      },
    });
    expect(decryptKeys(Template.fromStack(stack))).toEqual(expect.arrayContaining([CMK, { 'Fn::GetAtt': [expect.stringMatching(/^ApiKey/), 'Arn'] }]));
  });
});
