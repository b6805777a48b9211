/**
 * SecureDbApiProps.idempotency in the template: the idempotency store (a DynamoDB table encrypted with the
 * API's key, TTL on Powertools' expiry attribute, point-in-time recovery, on-demand), the four item actions
 * and the key for the write function or the container tasks only, the table's name and the window in their
 * configuration; nothing when off; clean in the four cdk-nag packs and cfn-guard.
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccessLevel, ApiAuthorization, DatabaseTarget, QueryParameter, SecureDbApi } from '../../src';
import { IDEMPOTENCY_KEY_ATTRIBUTE, IDEMPOTENCY_TTL_ATTRIBUTE } from '../../src/idempotency/idempotency-table';
import { BACKENDS, checkedApi } from '../helpers/compliance';
import { fargateBackend, postgresApi, postgresStack } from '../helpers/stacks';

const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];
const TABLE_ENV = 'SECURE_DB_API_IDEMPOTENCY_TABLE';

interface PolicyStatement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

interface PolicyResource {
  readonly Properties: { PolicyDocument: { Statement: PolicyStatement[] } };
}

/** The statements of the customer-managed policies whose description matches. */
function statementsOf(t: Template, description: RegExp): PolicyStatement[] {
  const policies = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp(description.source) } });
  expect(Object.keys(policies)).toHaveLength(1);
  return Object.values(policies).flatMap((p) => (p as PolicyResource).Properties.PolicyDocument.Statement);
}

/** Every policy statement of the template that names a DynamoDB action. */
function dynamoDbStatements(t: Template): PolicyStatement[] {
  return ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']
    .flatMap((type) => Object.values(t.findResources(type)))
    .flatMap((p) => (p as PolicyResource).Properties.PolicyDocument.Statement)
    .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
}

function logicalIdOf(t: Template, type: string): string {
  const ids = Object.keys(t.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0];
}

interface FunctionResource {
  readonly Properties: { Description: string; Environment: { Variables: Record<string, unknown> }; VpcConfig: { SecurityGroupIds: unknown[] } };
  readonly Metadata: Record<string, string>;
}

function queryFunctions(t: Template): Record<'read' | 'write', FunctionResource> {
  const fns = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('^SecureDbApi (read|write) queries') } })) as FunctionResource[];
  const find = (access: string) => {
    const fn = fns.find((f) => f.Properties.Description.startsWith(`SecureDbApi ${access} queries`));
    if (!fn) throw new Error(`no ${access} function`);
    return fn;
  };
  return { read: find('read'), write: find('write') };
}

describe('SecureDbApiProps.idempotency on the Lambda backend', () => {
  const { stack, app, api } = postgresApi({ idempotency: { expiresAfter: Duration.hours(6) } });
  const t = Template.fromStack(stack);
  const keyArn = { 'Fn::GetAtt': [logicalIdOf(t, 'AWS::KMS::Key'), 'Arn'] };
  const tableId = logicalIdOf(t, 'AWS::DynamoDB::Table');

  test('creates one table in Powertools\' layout, encrypted with the API\'s key, on demand, with PITR and TTL on the expiry attribute, named by CloudFormation', () => {
    t.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
        TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TableName: Match.absent(),
      },
      // The same as the key, the secrets and the log groups: RemovalPolicy.RETAIN by default.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(stack.resolve(api.idempotencyTable?.tableArn)).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
  });

  test('the write function may call exactly Powertools\' four item actions on that table, and use the key only through DynamoDB', () => {
    const statements = statementsOf(t, /write query/).filter((s) => s.Sid?.startsWith('Idempotency'));
    expect(statements).toEqual([
      { Sid: 'IdempotencyRecords', Effect: 'Allow', Action: TABLE_ACTIONS, Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
      {
        Sid: 'IdempotencyTableKeyThroughDynamoDb',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
      },
    ]);
  });

  test('no other role may touch the table: the reader has no DynamoDB or key statement', () => {
    expect(dynamoDbStatements(t)).toHaveLength(1);
    expect(statementsOf(t, /read query/).filter((s) => [s.Action].flat().some((a) => /^(dynamodb|kms):/.test(a)))).toEqual([]);
  });

  test('the write function gets the table\'s name from its environment and the window from config.json; the reader neither', () => {
    const { read, write } = queryFunctions(t);
    expect(write.Properties.Environment.Variables[TABLE_ENV]).toEqual({ Ref: tableId });
    expect(read.Properties.Environment.Variables[TABLE_ENV]).toBeUndefined();
    const outdir = app.synth().directory;
    const configOf = (fn: FunctionResource) => JSON.parse(readFileSync(path.join(outdir, fn.Metadata['aws:asset:path'], 'config.json'), 'utf8')) as { idempotency?: unknown };
    expect(configOf(write).idempotency).toEqual({ tableName: `\${env:${TABLE_ENV}}`, expiresAfterSeconds: 6 * 3600 });
    expect(configOf(read).idempotency).toBeUndefined();
  });

  test('every function\'s asset holds the files its index.js requires by relative name: the idempotency module, the full check and pagination beside the bundle', () => {
    const outdir = app.synth().directory;
    for (const fn of Object.values(queryFunctions(t))) {
      const asset = path.join(outdir, fn.Metadata['aws:asset:path']);
      const relative = [...readFileSync(path.join(asset, 'index.js'), 'utf8').matchAll(/\brequire\("(\.\/[^"]+)"\)/g)].map((m) => m[1]);
      expect(relative.sort()).toEqual(['./config-check.js', './idempotency.js', './paging.js']);
      expect(readdirSync(asset)).toEqual(expect.arrayContaining(['idempotency.js', 'config-check.js', 'paging.js']));
      expect(readFileSync(path.join(asset, 'idempotency.js'), 'utf8')).toMatch(/idempotency store/);
      expect(readFileSync(path.join(asset, 'config-check.js'), 'utf8')).toMatch(/is defined but the SQL never uses/);
    }
  });

  test('only the write function reaches DynamoDB: a security group of its own with HTTPS out; the shared group still reaches only the proxy', () => {
    const { read, write } = queryFunctions(t);
    expect(read.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
    expect(write.Properties.VpcConfig.SecurityGroupIds).toHaveLength(2);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Write function: HTTPS to DynamoDB (the idempotency store)',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'DynamoDB (gateway endpoint or NAT)' }],
    });
    const shared = t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: 'Query functions: only the RDS Proxy' } });
    expect(Object.values(shared).map((g) => JSON.stringify(g))).toEqual([expect.not.stringContaining('0.0.0.0/0')]);
    expect(read.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [Object.keys(shared)[0], 'GroupId'] }]);
  });

  test('the table\'s key and TTL attributes are the ones Powertools\' DynamoDB persistence layer writes', () => {
    const layer = new DynamoDBPersistenceLayer({ tableName: 'any', awsSdkV3Client: new DynamoDBClient({ region: 'eu-west-1' }) });
    const { keyAttr, expiryAttr } = layer as unknown as { keyAttr: string; expiryAttr: string };
    expect([keyAttr, expiryAttr]).toEqual([IDEMPOTENCY_KEY_ATTRIBUTE, IDEMPOTENCY_TTL_ATTRIBUTE]);
  });
});

describe('SecureDbApiProps.idempotency', () => {
  test('off by default: no table, no DynamoDB statement, no table name in any environment', () => {
    const { stack, api } = postgresApi();
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::DynamoDB::Table', 0);
    expect(dynamoDbStatements(t)).toEqual([]);
    expect(JSON.stringify(t.toJSON())).not.toContain(TABLE_ENV);
    expect(api.idempotencyTable).toBeUndefined();
  });

  test('keeps an hour by default and follows the API\'s removal policy', () => {
    const { stack, app } = postgresApi({ idempotency: {}, removalPolicy: RemovalPolicy.DESTROY });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: { DeletionProtectionEnabled: false } });
    const outdir = app.synth().directory;
    const config = JSON.parse(readFileSync(path.join(outdir, queryFunctions(t).write.Metadata['aws:asset:path'], 'config.json'), 'utf8')) as { idempotency: { expiresAfterSeconds: number } };
    expect(config.idempotency.expiresAfterSeconds).toBe(3600);
  });

  test.each([
    ['shorter than a minute', Duration.seconds(59)],
    ['not whole seconds', Duration.millis(90_500)],
  ])('a window %s is refused, naming the construct', (_label, expiresAfter) => {
    expect(() => postgresApi({ idempotency: { expiresAfter } })).toThrow(/^SecureDbApi Test\/Api: idempotency.expiresAfter must be whole seconds, at least 1 minute/);
  });

  test('in isolated subnets the API says it needs a DynamoDB gateway endpoint', () => {
    const { stack } = postgresApi({ idempotency: {} });
    const info = stack.node.findChild('Api').node.metadata.filter((m) => m.type === 'aws:cdk:info').map((m) => String(m.data));
    expect(info).toEqual(expect.arrayContaining([expect.stringMatching(/DynamoDB \(gateway\) for the idempotency store/)]));
  });
});

describe('SecureDbApiProps.idempotency on the container backend', () => {
  const t0 = postgresStack({ egress: true });
  const api = new SecureDbApi(t0.stack, 'Api', {
    vpc: t0.vpc,
    database: DatabaseTarget.fromCluster(t0.cluster, { databaseName: 'shop' }),
    authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] }),
    backend: fargateBackend(t0.stack),
    queries: [
      { route: 'GET /orders/{id}', sql: 'SELECT id FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], single: true },
      { route: 'POST /orders', access: AccessLevel.WRITE, sql: 'INSERT INTO orders (note) VALUES (:note)', parameters: [QueryParameter.string('note')] },
    ],
    idempotency: {},
  });
  const t = Template.fromStack(t0.stack);
  const tableId = logicalIdOf(t, 'AWS::DynamoDB::Table');

  test('the task role may call exactly the four item actions on the table; the tasks get its name, the image\'s config.json the section', () => {
    const statements = statementsOf(t, /query tasks/).filter((s) => s.Sid === 'IdempotencyRecords');
    expect(statements).toEqual([{ Sid: 'IdempotencyRecords', Effect: 'Allow', Action: TABLE_ACTIONS, Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } }]);
    expect(dynamoDbStatements(t)).toHaveLength(1);
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: TABLE_ENV, Value: { Ref: tableId } }]) })],
    });
    const outdir = t0.app.synth().directory;
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'Test.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string } }> };
    const [image] = Object.values(manifest.dockerImages);
    const config = JSON.parse(readFileSync(path.join(outdir, image.source.directory, 'config.json'), 'utf8')) as { idempotency?: unknown };
    expect(config.idempotency).toEqual({ tableName: `\${env:${TABLE_ENV}}`, expiresAfterSeconds: 3600 });
    expect(api.idempotencyTable).toBeDefined();
  });
});

describe.each(BACKENDS)('with idempotency on %s', (_label, backend) => {
  test('the four cdk-nag packs and cfn-guard find nothing unacknowledged, and synth has no warnings', () => {
    const { findings, warnings } = checkedApi('Idempotent', '10.60.0.0/16', backend, {
      queries: [
        { route: 'GET /orders/{id}', sql: 'SELECT id FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id', { minimum: 1 })], single: true },
        { route: 'POST /orders', access: AccessLevel.WRITE, sql: 'INSERT INTO orders (total_cents) VALUES (:totalCents) RETURNING id', parameters: [QueryParameter.integer('totalCents', { minimum: 0 })] },
      ],
      idempotency: { expiresAfter: Duration.hours(24) },
    });
    expect(findings).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
