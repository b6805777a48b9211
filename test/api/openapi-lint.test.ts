/**
 * The OpenAPI documents through a maintained linter: Redocly's recommended ruleset (with operation
 * descriptions, declared tags and problem-details 4xx answers required too) finds no error in the
 * documents of the example apps and of constructs with every authorization, API keys, GraphQL and
 * parameters of every type and location, as returned, as written into the cloud assembly and as
 * served by API Gateway; every warning left is on an allow-list, with its reason.
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { ExampleModule } from '../../examples/synth-all';
import { AccessLevel, ApiAuthorization, ColumnType, DatabaseTarget, Pagination, ParameterLocation, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { LintProblem, lintOpenApi } from '../helpers/openapi-lint';
import { postgresApi, postgresStack } from '../helpers/stacks';
import { MethodProperties, onlyResourceOf } from '../helpers/template';

/** Warnings a generated document may carry, each with the reason it stays. A new kind of warning fails. */
const ALLOWED_WARNINGS: Record<string, string> = {
  'info-license': 'The licence under which the API is offered is its owner\'s to state; the construct cannot know it.',
};

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

/** Each SecureDbApi's document in the example apps, by example and construct path. */
function exampleDocuments(): Record<string, unknown> {
  const documents: Record<string, unknown> = {};
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts') && f !== 'synth-all.ts')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(path.join(EXAMPLES, file)) as ExampleModule;
    const app = new App();
    for (const stack of mod.build(app)) {
      for (const api of stack.node.findAll().filter((c): c is SecureDbApi => c instanceof SecureDbApi)) {
        documents[`${file}:${api.node.path}`] = JSON.parse(api.openApiDocument());
      }
    }
  }
  return documents;
}

const ORDER_COLUMNS = [
  { name: 'id', type: ColumnType.INTEGER, nullable: false },
  { name: 'status', type: ColumnType.STRING, description: 'open or paid' },
  { name: 'placed_at', type: ColumnType.DATE_TIME },
  { name: 'ref', type: ColumnType.UUID },
  { name: 'total', type: ColumnType.NUMBER },
  { name: 'paid', type: ColumnType.BOOLEAN },
  { name: 'extra', type: ColumnType.JSON },
];

/** Parameters of every type, `in` the given location, required and optional. */
function everyType(location: ParameterLocation, optional: boolean): QueryParameter[] {
  const o = { location, ...(optional ? { required: false } : {}) };
  const n = location === ParameterLocation.PATH ? 'p' : location === ParameterLocation.QUERY ? 'q' : 'b';
  return [
    QueryParameter.string(`${n}String`, { ...o, maxLength: 20, minLength: 1, pattern: '[a-z]+', description: 'lower-case letters' }),
    QueryParameter.integer(`${n}Integer`, { ...o, minimum: 1, maximum: 10 }),
    QueryParameter.number(`${n}Number`, { ...o, minimum: 0 }),
    QueryParameter.boolean(`${n}Boolean`, o),
    QueryParameter.uuid(`${n}Uuid`, o),
    QueryParameter.dateTime(`${n}DateTime`, o),
    QueryParameter.enumeration(`${n}Enum`, ['a', 'b'], o),
  ];
}

function sqlOf(parameters: QueryParameter[]): string {
  return `SELECT ${parameters.map((p) => `:${p.name}`).join(', ')}`;
}

const PATH = everyType(ParameterLocation.PATH, false);
const PATH_ROUTE = `/things/${PATH.map((p) => `{${p.name}}`).join('/')}`;
const QUERY = [...everyType(ParameterLocation.QUERY, false).slice(0, 3), ...everyType(ParameterLocation.QUERY, true).slice(3),
  QueryParameter.integer('qDefault', { defaultValue: 5 })];
const BODY = [...everyType(ParameterLocation.BODY, true), QueryParameter.string('bRequired'), QueryParameter.boolean('bDefault', { defaultValue: true })];

/** Queries with parameters of every type in path, query string and body, optional ones and defaults. */
const VARIED: NonNullable<SecureDbApiProps['queries']> = [
  { route: `GET ${PATH_ROUTE}`, sql: sqlOf(PATH), parameters: PATH, single: true, columns: ORDER_COLUMNS },
  { route: 'GET /things', sql: sqlOf(QUERY), parameters: QUERY },
  { route: 'PUT /things', access: AccessLevel.WRITE, sql: sqlOf(BODY), parameters: BODY, columns: [{ name: 'id', type: ColumnType.INTEGER, nullable: false }] },
  // Under its own path: API Gateway holds one path variable per position, and /things/{pString} has it.
  { route: 'DELETE /removals/{id}', access: AccessLevel.WRITE, sql: 'DELETE FROM things WHERE id = :id', parameters: [QueryParameter.integer('id')] },
];

const JWT = ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://things'] });

/** A stand-in for the RestApi's id, which CloudFormation assigns. */
const REST_API_ID = 'a1b2c3d4e5';

/** The `servers` of an OpenAPI document. */
function serversOf(document: unknown): unknown {
  return (document as { servers?: unknown }).servers;
}

/**
 * The served document as API Gateway answers it: the mapping template with CloudFormation's `Fn::Join`
 * done, the RestApi's `Ref` its id, and the region and URL suffix the stack's.
 */
function servedDocument(t: Template, region: string): unknown {
  const method = onlyResourceOf<MethodProperties>(t, 'AWS::ApiGateway::Method', { Properties: { OperationName: 'openApiDocument' } });
  const [restApiId] = Object.keys(t.findResources('AWS::ApiGateway::RestApi'));
  const refs: Record<string, string> = { [restApiId]: REST_API_ID, 'AWS::Region': region, 'AWS::URLSuffix': 'amazonaws.com' };
  const template = method.Properties.Integration.IntegrationResponses[0].ResponseTemplates['application/json'];
  const [separator, parts] = template['Fn::Join'] as [string, Array<string | { Ref: string }>];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : refs[part.Ref] ?? `unknown Ref ${part.Ref}`)).join(separator));
}

function constructDocuments(): Record<string, unknown> {
  const iam = postgresApi({ queries: VARIED }).api;
  const iamKeys = postgresApi({ queries: VARIED, usagePlan: {}, openApi: { serve: true } });
  const jwt = postgresApi({
    authorization: JWT,
    usagePlan: { quota: 1000 },
    graphql: {},
    openApi: { title: 'Things', version: '2.0.0', serve: true },
    queries: [
      ...VARIED.slice(0, 3).map((q) => ({ ...q, columns: q.columns ?? ORDER_COLUMNS, requiredScopes: ['things:read'] })),
      { route: 'GET /mine', sql: 'SELECT id FROM things WHERE owner = :claims.sub', columns: ORDER_COLUMNS.slice(0, 1), requiredGroups: ['owners', 'admins'] },
      { route: 'GET /health', sql: 'SELECT 1 AS ok', allowUnauthenticated: true, columns: [{ name: 'ok', type: ColumnType.INTEGER }] },
    ],
  }, { egress: true });
  const t = postgresStack();
  const cognitoApi = new SecureDbApi(t.stack, 'Api', {
    vpc: t.vpc,
    database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
    authorization: ApiAuthorization.cognito(new cognito.UserPool(t.stack, 'Pool')),
    queries: [
      { route: 'GET /things/{id}', sql: 'SELECT :id AS id', parameters: [QueryParameter.integer('id')], single: true, requiredScopes: ['things/read'] },
      { route: 'POST /things', access: AccessLevel.WRITE, sql: 'INSERT INTO things (owner, note) VALUES (:claims.sub, :note)', parameters: [QueryParameter.string('note', { required: false })] },
    ],
  });
  // A paged list next to a plain one: limit and cursor, nextCursor and links.next, the Link header, its own 400.
  const paged = postgresApi({
    openApi: { serve: true },
    queries: [
      {
        route: 'GET /things',
        sql: 'SELECT id, status FROM things WHERE status = :status',
        parameters: [QueryParameter.string('status')],
        columns: ORDER_COLUMNS.slice(0, 2),
        pagination: Pagination.keyset({ orderBy: [{ column: 'status' }, { column: 'id', descending: true }] }),
      },
      VARIED[0],
    ],
  });
  const inAssembly = (app: App) => {
    const dir = app.synth().directory;
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.openapi.json'));
    return JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  };
  return {
    ...Object.fromEntries(Object.entries({ iam, iamKeys: iamKeys.api, jwt: jwt.api, cognito: cognitoApi, paged: paged.api })
      .map(([k, api]) => [k, JSON.parse(api.openApiDocument())])),
    'jwt (cloud assembly)': inAssembly(jwt.app),
    'iamKeys (served)': servedDocument(Template.fromStack(iamKeys.stack), iamKeys.stack.region),
    'jwt (served)': servedDocument(Template.fromStack(jwt.stack), jwt.stack.region),
    'paged (served)': servedDocument(Template.fromStack(paged.stack), paged.stack.region),
  };
}

/** Every schema of type array in a document, by JSON pointer, that does not say what its items are. */
function arraysWithoutItems(value: unknown, pointer = '#'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => arraysWithoutItems(v, `${pointer}/${i}`));
  if (typeof value !== 'object' || value === null) return [];
  const o = value as Record<string, unknown>;
  const isArray = o.type === 'array' || (Array.isArray(o.type) && o.type.includes('array'));
  return [...(isArray && o.items === undefined ? [pointer] : []), ...Object.entries(o).flatMap(([k, v]) => arraysWithoutItems(v, `${pointer}/${k}`))];
}

describe('OpenAPI documents through Redocly\'s recommended ruleset', () => {
  const documents = { ...exampleDocuments(), ...constructDocuments() };
  const results = lintOpenApi(documents);
  const show = (p: LintProblem) => `${p.severity} ${p.ruleId} at ${p.pointer}: ${p.message}`;

  test('the documents of all four example apps and of the varied constructs are linted', () => {
    expect(Object.keys(results).filter((k) => k.includes('.ts:'))).toHaveLength(4);
    expect(Object.keys(results)).toEqual(expect.arrayContaining(['iam', 'iamKeys', 'jwt', 'cognito', 'jwt (cloud assembly)', 'iamKeys (served)', 'jwt (served)', 'paged', 'paged (served)']));
  });

  test('the served document names the deployed stage; the others a templated execute-api server', () => {
    expect(serversOf(documents['jwt (served)'])).toEqual([{ url: `https://${REST_API_ID}.execute-api.eu-west-1.amazonaws.com/v1`, description: 'This API\'s stage' }]);
    expect(serversOf(documents.jwt)).toEqual([{
      url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/v1',
      description: expect.stringMatching(/the stack output ApiRestApiEndpoint[0-9A-F]{8} holds this URL\.$/),
      variables: { restApiId: { default: 'restApiId' }, region: { default: 'eu-west-1' } },
    }]);
  });

  test('every array schema says what its items are (Spectral\'s array-items)', () => {
    expect(Object.entries(documents).flatMap(([name, doc]) => arraysWithoutItems(doc).map((p) => `${name}: ${p}`))).toEqual([]);
  });

  test('no document has an error', () => {
    const errors = Object.entries(results).flatMap(([name, problems]) => problems.filter((p) => p.severity === 'error').map((p) => `${name}: ${show(p)}`));
    expect(errors).toEqual([]);
  });

  test('every warning is on the allow-list, and every allowed warning still occurs', () => {
    const all = Object.values(results).flat();
    const unexplained = Object.entries(results).flatMap(([name, problems]) => problems.filter((p) => !(p.ruleId in ALLOWED_WARNINGS)).map((p) => `${name}: ${show(p)}`));
    expect(unexplained).toEqual([]);
    expect(Object.keys(ALLOWED_WARNINGS).filter((rule) => !all.some((p) => p.ruleId === rule))).toEqual([]);
  });

  test('the linter does find problems: a document without servers, summary and with an unused component fails', () => {
    const base = documents.iam as Record<string, any>;
    const broken = { ...base, servers: undefined, paths: { '/x': { get: { responses: { 200: { description: 'ok' } } } } } };
    const problems = lintOpenApi({ broken }).broken.map((p) => p.ruleId);
    expect(problems).toEqual(expect.arrayContaining(['no-empty-servers', 'operation-summary', 'no-unused-components', 'operation-4xx-response']));
  });
});
