/**
 * Example 3: a multi-tenant notes API for callers with Okta (or Auth0, or any OIDC provider) access
 * tokens. Every query runs for the verified caller: the tenant and the author come from the token's
 * claims, never from the request; PostgreSQL row-level security sees the same claims; scopes and
 * groups gate each route at the gateway and again in the function. Partners also need an API key.
 *
 * The table and its policy (run once by the schema owner) are in multi-tenant-oidc.sql: every query is
 * checked against that schema at synthesis (in an embedded PGlite), and the result columns of the GraphQL
 * types and the OpenAPI document come from it (BIGSERIAL ids are exact strings, as pg answers int8).
 */
import * as path from 'path';
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { AccessLevel, ApiAuthorization, ColumnType, DatabaseTarget, QueryParameter, QuerySchema, SecureDbApi } from '../src';
import { auroraPostgres, egressVpc } from './shared';

export class MultiTenantNotesStack extends Stack {
  public readonly notesApi: SecureDbApi;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    // The JWT authorizer fetches Okta's signing keys: its subnets need egress (here a NAT gateway).
    const vpc = egressVpc(this, '10.40.0.0/16');
    const cluster = auroraPostgres(this, vpc, 'notes');

    this.notesApi = new SecureDbApi(this, 'NotesApi', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'notes' }),
      authorization: ApiAuthorization.jwt({
        issuer: 'https://example.okta.com/oauth2/default',
        audiences: ['api://notes'],
      }),
      rowLevelSecurityClaims: true,
      usagePlan: { throttling: { rateLimit: 20, burstLimit: 40 }, quota: 100_000, quotaPeriod: apigw.Period.MONTH },
      // The same queries as GraphQL (POST /graphql), and an OpenAPI 3.1 document served at GET /openapi.json.
      graphql: { maxDepth: 4 },
      openApi: { title: 'Notes', version: '1.0.0', serve: true },
      // Queries are checked against the schema at synthesis; results are typed from it (no `columns`).
      schema: QuerySchema.fromFile(path.join(__dirname, 'multi-tenant-oidc.sql')),
      queries: [
        {
          // No WHERE on the tenant: row-level security filters with the token's tenant_id.
          route: 'GET /notes',
          sql: 'SELECT id, author, body FROM notes ORDER BY id DESC',
          requiredScopes: ['notes:read'],
          rowLimit: 50,
        },
        {
          route: 'POST /notes',
          access: AccessLevel.WRITE,
          sql: 'INSERT INTO notes (tenant_id, author, body) VALUES (:claims.tenant_id, :claims.sub, :body) RETURNING id',
          parameters: [QueryParameter.string('body', { maxLength: 2000 })],
          requiredScopes: ['notes:read', 'notes:write'],
        },
        {
          route: 'DELETE /notes/{id}',
          access: AccessLevel.WRITE,
          sql: 'DELETE FROM notes WHERE id = :id AND tenant_id = :claims.tenant_id RETURNING id',
          parameters: [QueryParameter.integer('id', { minimum: 1 })],
          requiredScopes: ['notes:write'],
          requiredGroups: ['notes-admins'],
          single: true,
        },
        {
          // Public, read-only and claim-free, opened on purpose.
          route: 'GET /health',
          sql: 'SELECT 1 AS ok',
          // Declared (an expression's nullability is unknown to the schema), and checked against it.
          columns: [{ name: 'ok', type: ColumnType.INTEGER, nullable: false }],
          allowUnauthenticated: true,
        },
      ],
    });
    this.notesApi.addApiKey('PartnerKey', { description: 'Partner integration' });
  }
}

export function build(app: App): Stack[] {
  return [new MultiTenantNotesStack(app, 'SecureDbApiMultiTenantOidc', { env: { account: '111111111111', region: 'eu-west-1' } })];
}
