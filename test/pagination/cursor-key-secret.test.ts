/**
 * QueryOptions.pagination in the template and at synth: the cursor signing key (a generated secret encrypted
 * with the API's key) created only when some query pages, readable by the functions and tasks that serve paged
 * queries only, named to them in their environment and config.json; the paging parameters and next links in the
 * OpenAPI document; every misuse refused at synth, all at once; clean in the four cdk-nag packs and cfn-guard.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  AccessLevel, ApiAuthorization, ColumnType, DatabaseTarget, Pagination, QueryDefinition, QueryParameter, QuerySchema, SecureDbApi,
  SecureDbApiProps,
} from '../../src';
import { BACKENDS, checkedApi } from '../helpers/compliance';
import { fargateBackend, postgresApi, postgresStack } from '../helpers/stacks';

const SECRET_ENV = 'SECURE_DB_API_CURSOR_KEY_SECRET';

const PAGED: QueryDefinition = {
  route: 'GET /orders',
  sql: 'SELECT id, status, created_at FROM orders WHERE status = :status',
  parameters: [QueryParameter.enumeration('status', ['open', 'paid'], { defaultValue: 'open' })],
  columns: [{ name: 'id', type: ColumnType.INTEGER, nullable: false }, { name: 'status', type: ColumnType.STRING }, { name: 'created_at', type: ColumnType.DATE_TIME }],
  rowLimit: 200,
  pagination: Pagination.keyset({ orderBy: [{ column: 'created_at', descending: true }, { column: 'id', descending: true }] }),
};

const QUERIES: QueryDefinition[] = [
  PAGED,
  { route: 'GET /orders/{id}', sql: 'SELECT id FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], single: true, columns: [{ name: 'id', type: ColumnType.INTEGER }] },
  { route: 'POST /orders', access: AccessLevel.WRITE, sql: 'INSERT INTO orders (note) VALUES (:note)', parameters: [QueryParameter.string('note')] },
];

interface PolicyStatement {
  readonly Sid?: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

interface FunctionResource {
  readonly Properties: { Description: string; Environment: { Variables: Record<string, unknown> }; VpcConfig: { SecurityGroupIds: unknown[] } };
  readonly Metadata: Record<string, string>;
}

function logicalIdOf(t: Template, type: string): string {
  const ids = Object.keys(t.findResources(type));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** Every policy statement of the template that names a Secrets Manager action, with its policy's description. */
function secretStatements(t: Template): Array<{ policy: string; statement: PolicyStatement }> {
  return Object.values(t.findResources('AWS::IAM::ManagedPolicy'))
    .flatMap((p) => (p.Properties.PolicyDocument.Statement as PolicyStatement[])
      .map((statement) => ({ policy: String(p.Properties.Description), statement })))
    .filter(({ statement }) => [statement.Action].flat().some((a) => a.startsWith('secretsmanager:')));
}

function functionOf(t: Template, description: RegExp): FunctionResource {
  const fns = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(description.source) } })) as FunctionResource[];
  expect(fns).toHaveLength(1);
  return fns[0];
}

describe('paged queries on the Lambda backend, with GraphQL', () => {
  const { stack, app } = postgresApi({ queries: QUERIES, graphql: {}, openApi: { serve: true } });
  const t = Template.fromStack(stack);
  const keyArn = { 'Fn::GetAtt': [logicalIdOf(t, 'AWS::KMS::Key'), 'Arn'] };
  const secretIds = Object.keys(t.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('signs the cursors') } }));

  test('creates one generated secret, encrypted with the API\'s key, named by CloudFormation, kept like the API\'s other stateful resources', () => {
    expect(secretIds).toHaveLength(1);
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: {
        Description: 'SecureDbApi Test/Api: signs the cursors of paged queries',
        KmsKeyId: keyArn,
        GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludePunctuation: true }),
        Name: Match.absent(),
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('the reader and the GraphQL function may read that secret only, and decrypt only through Secrets Manager; the writer may not', () => {
    const found = secretStatements(t).filter(({ statement }) => statement.Sid === 'ReadCursorKey');
    expect(found.map((f) => f.policy).sort()).toEqual([expect.stringMatching(/graphql query function/), expect.stringMatching(/read query function/)]);
    for (const { statement } of found) expect(statement).toEqual({ Sid: 'ReadCursorKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretIds[0] } });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('read query function'),
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Sid: 'CursorKeyThroughSecretsManager',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: keyArn,
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        }]),
      },
    });
    const writer = t.findResources('AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp('write query function') } });
    expect(JSON.stringify(writer)).not.toMatch(/secretsmanager|CursorKey/);
  });

  test('the paging functions get the secret\'s ARN from their environment and the section from config.json, with HTTPS egress of their own', () => {
    const outdir = app.synth().directory;
    for (const description of [/^SecureDbApi read queries/, /^SecureDbApi graphql queries/]) {
      const fn = functionOf(t, description);
      expect(fn.Properties.Environment.Variables[SECRET_ENV]).toEqual({ Ref: secretIds[0] });
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(2);
      const config = JSON.parse(readFileSync(path.join(outdir, fn.Metadata['aws:asset:path'], 'config.json'), 'utf8')) as { cursorKey?: unknown; queries: Array<{ name: string; pagination?: unknown }> };
      expect(config.cursorKey).toEqual({ secretArn: `\${env:${SECRET_ENV}}` });
      expect(config.queries.find((q) => q.name === 'getOrders')?.pagination).toEqual({
        orderBy: [{ column: 'created_at', descending: true }, { column: 'id', descending: true }],
        cursorLifetimeSeconds: 24 * 3600,
      });
    }
    const writer = functionOf(t, /^SecureDbApi write queries/);
    expect(writer.Properties.Environment.Variables[SECRET_ENV]).toBeUndefined();
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Paging query function: HTTPS to Secrets Manager (the cursor signing key)',
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'Secrets Manager (interface endpoint or NAT)' }],
    });
  });

  test('the method declares the optional limit and cursor query-string parameters', () => {
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      OperationName: 'getOrders',
      RequestParameters: { 'method.request.querystring.status': false, 'method.request.querystring.limit': false, 'method.request.querystring.cursor': false },
    });
  });

  test('the OpenAPI document has the paging parameters, nextCursor, links.next, the Link header and the invalid-cursor 400', () => {
    const api = stack.node.findChild('Api') as SecureDbApi;
    const doc = JSON.parse(api.openApiDocument());
    const op = doc.paths['/orders'].get;
    expect(op.parameters).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 200 } }),
      expect.objectContaining({ name: 'cursor', in: 'query', required: false, schema: expect.objectContaining({ type: 'string', maxLength: 4096 }) }),
    ]));
    const ok = op.responses['200'];
    expect(ok.headers.Link.schema).toEqual({ type: 'string' });
    const schema = ok.content['application/json'].schema;
    expect(schema.properties.meta.properties.nextCursor).toEqual(expect.objectContaining({ type: ['string', 'null'] }));
    expect(schema.properties.links.properties.next).toEqual(expect.objectContaining({ type: ['string', 'null'], format: 'uri-reference' }));
    expect(schema.required).toEqual(['data', 'meta', 'links']);
    expect(op.responses['400']).toEqual({ $ref: '#/components/responses/Problem400Paged' });
    expect(doc.components.responses.Problem400Paged.description).toMatch(/invalid-cursor/);
    // The other list routes keep their shape.
    expect(doc.paths['/orders/{id}'].get.responses['400']).toEqual({ $ref: '#/components/responses/Problem400' });
  });
});

describe('QueryOptions.pagination', () => {
  test('off: no secret, no Secrets Manager statement for the query functions, nothing in their environment', () => {
    const { stack } = postgresApi({ queries: QUERIES.map((q) => ({ ...q, pagination: undefined })) });
    const t = Template.fromStack(stack);
    expect(Object.keys(t.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('signs the cursors') } }))).toEqual([]);
    expect(secretStatements(t).filter(({ statement }) => statement.Sid === 'ReadCursorKey')).toEqual([]);
    expect(JSON.stringify(t.toJSON())).not.toContain(SECRET_ENV);
  });

  test('the secret follows the API\'s removal policy; a query added later turns paging on', () => {
    const { stack, api } = postgresApi({ queries: [QUERIES[1]], removalPolicy: RemovalPolicy.DESTROY });
    api.addQuery('GET /recent', { ...PAGED, pagination: Pagination.keyset({ orderBy: [{ column: 'id' }], cursorLifetime: Duration.minutes(30) }) });
    Template.fromStack(stack).hasResource('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('signs the cursors') }, DeletionPolicy: 'Delete' });
    const info = stack.node.findChild('Api').node.metadata.filter((m) => m.type === 'aws:cdk:info').map((m) => String(m.data));
    expect(info).toEqual(expect.arrayContaining([expect.stringMatching(/needs VPC endpoints for Secrets Manager \(.*\) for the paged queries' cursor signing key\./)]));
  });

  test('in isolated subnets the API says the paged queries need a Secrets Manager endpoint', () => {
    const { stack, app } = postgresApi({ queries: QUERIES });
    app.synth();
    const info = stack.node.findChild('Api').node.metadata.filter((m) => m.type === 'aws:cdk:info').map((m) => String(m.data));
    expect(info).toEqual(expect.arrayContaining([expect.stringMatching(/Secrets Manager \(com\.amazonaws\.eu-west-1\.secretsmanager\) for .*the paged queries' cursor signing key/)]));
  });

  const refused = (queries: QueryDefinition[], props: Partial<SecureDbApiProps> = {}) => () => postgresApi({ queries, ...props }).app.synth();

  test('misuses are refused at synth, all at once, naming the construct', () => {
    const bad: QueryDefinition[] = [
      { ...PAGED, route: 'GET /a', sql: 'SELECT id, status, created_at FROM orders WHERE status = :status ORDER BY id' },
      { ...PAGED, route: 'GET /b', sql: 'SELECT id, status, created_at FROM orders WHERE status = :status LIMIT 10' },
      { ...PAGED, route: 'GET /c', pagination: Pagination.keyset({ orderBy: [{ column: 'nope' }, { column: 'id' }, { column: 'id' }] }) },
      { ...PAGED, route: 'GET /d/{id}', sql: 'SELECT id, status, created_at FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], single: true },
      { ...PAGED, route: 'POST /e', access: AccessLevel.WRITE, sql: 'UPDATE orders SET status = :status RETURNING id, status, created_at' },
      { ...PAGED, route: 'GET /f', sql: 'SELECT id, status, created_at FROM orders WHERE status = :status AND id > :limit', parameters: [...PAGED.parameters!, QueryParameter.integer('limit')] },
      { ...PAGED, route: 'GET /g', pagination: Pagination.keyset({ orderBy: [] }) },
      { ...PAGED, route: 'GET /h', pagination: Pagination.keyset({ orderBy: [{ column: 'id' }], cursorLifetime: Duration.days(31) }) },
    ];
    let message = '';
    try {
      refused(bad)();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^SecureDbApi Test\/Api: invalid queries:/);
    for (const expected of [
      /query "getA" pagination: the SQL must not have its own ORDER BY/,
      /query "getB" pagination: the SQL must not have its own LIMIT/,
      /query "getC" pagination: ordering column "nope" is not one of the query's result columns \(id, status, created_at\)/,
      /query "getC" pagination: ordering column "id" is listed twice/,
      /query "getDById" pagination: a single-row query cannot be paged/,
      /query "postE" pagination: only read queries can be paged/,
      /query "getF" pagination: a paged query cannot have a parameter named "limit"/,
      /query "getG" pagination: orderBy must list at least one column/,
      /query "getH" pagination: cursorLifetime must be whole seconds from 1 second to 30 days/,
    ]) expect(message).toMatch(expected);
  });

  test('an ORDER BY or LIMIT inside a subquery, a window or a CTE is fine', () => {
    expect(() => postgresApi({
      queries: [{
        ...PAGED,
        sql: 'WITH recent AS (SELECT * FROM orders ORDER BY created_at DESC LIMIT 1000) SELECT id, status, created_at, row_number() OVER (ORDER BY id) AS n FROM recent WHERE status = :status',
      }],
    }).app.synth()).not.toThrow();
  });

  test('with a schema, the ordering columns are checked against the columns it describes', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-paged-schema-')), 'shop.sql');
    writeFileSync(file, 'CREATE TABLE orders (id serial PRIMARY KEY, status text, created_at timestamptz NOT NULL, doc jsonb);');
    const described = (orderBy: Array<{ column: string }>) => ({
      route: 'GET /orders',
      sql: 'SELECT id, status, created_at, doc FROM orders',
      pagination: Pagination.keyset({ orderBy }),
    });
    const schema = QuerySchema.fromFile(file);
    expect(refused([described([{ column: 'placed_at' }, { column: 'doc' }, { column: 'id' }])], { schema }))
      .toThrow(/ordering column "placed_at" is not one of the query's result columns \(id, status, created_at, doc\)[\s\S]*ordering column "doc" is a JSON column/);
    expect(refused([described([{ column: 'created_at' }, { column: 'id' }])], { schema })).not.toThrow();
  });

  test('GraphQL: a paged query\'s parameter named after is refused', () => {
    expect(refused([{ ...PAGED, sql: 'SELECT id, status, created_at FROM orders WHERE status = :status AND id > :after', parameters: [...PAGED.parameters!, QueryParameter.integer('after')] }], { graphql: {} }))
      .toThrow(/a paged query cannot have a parameter named "after"/);
  });
});

describe('paged queries on the container backend', () => {
  const t0 = postgresStack({ egress: true });
  new SecureDbApi(t0.stack, 'Api', {
    vpc: t0.vpc,
    database: DatabaseTarget.fromCluster(t0.cluster, { databaseName: 'shop' }),
    authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] }),
    backend: fargateBackend(t0.stack),
    queries: QUERIES,
  });
  const t = Template.fromStack(t0.stack);

  test('the task role may read the secret; the tasks get its ARN, the image\'s config.json the section', () => {
    const [secretId] = Object.keys(t.findResources('AWS::SecretsManager::Secret', { Properties: { Description: Match.stringLikeRegexp('signs the cursors') } }));
    expect(secretStatements(t).filter(({ statement }) => statement.Sid === 'ReadCursorKey')).toEqual([{ policy: expect.stringMatching(/query tasks/), statement: { Sid: 'ReadCursorKey', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } } }]);
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: SECRET_ENV, Value: { Ref: secretId } }]) })],
    });
    const outdir = t0.app.synth().directory;
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'Test.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string } }> };
    const [image] = Object.values(manifest.dockerImages);
    const config = JSON.parse(readFileSync(path.join(outdir, image.source.directory, 'config.json'), 'utf8')) as { cursorKey?: unknown };
    expect(config.cursorKey).toEqual({ secretArn: `\${env:${SECRET_ENV}}` });
  });
});

describe.each(BACKENDS)('with paged queries on %s', (_label, backend) => {
  test('the four cdk-nag packs and cfn-guard find nothing unacknowledged, and synth has no warnings', () => {
    const { findings, warnings } = checkedApi('Paged', '10.61.0.0/16', backend, { queries: [PAGED], ...(backend === 'fargate' ? {} : { graphql: {} }) });
    expect(findings).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
