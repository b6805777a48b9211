/**
 * Deploys examples/multi-tenant-oidc.ts and exercises it: the public route through API Gateway, and the
 * query and GraphQL functions with the claims the JWT authorizer passes them (the example's issuer is a
 * placeholder, so no token can pass the deployed authorizer): a tenant's write and read, row-level
 * security hiding it from another tenant, and a GraphQL query as the reader. The reader's secret rotates.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { App } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Caller, destroyOnDelete, integTest, invokeRoute, rotates, SqlRunner, testInvoke } from './fixtures';
import { MultiTenantNotesStack } from '../../examples/multi-tenant-oidc';

const ALICE: Caller = { sub: 'alice', tenantId: 'tenant-a', scope: 'notes:read notes:write' };
const BOB: Caller = { sub: 'bob', tenantId: 'tenant-b', scope: 'notes:read' };
/** SecureDbApi.functions: the reader, the writer, then the GraphQL function. */
const READER = 0;
const WRITER = 1;
const GRAPHQL = 2;

const app = new App();
const stack = new MultiTenantNotesStack(app, 'SecureDbApiIntegMultiTenantOidc');
destroyOnDelete(stack);
const cluster = stack.node.findChild('Database') as rds.DatabaseCluster;
const sql = SqlRunner.forPostgresCluster(stack, cluster, 'notes');

const integ = integTest(app, 'SecureDbApiMultiTenantOidcInteg', stack);
const a = integ.assertions;
const api = stack.notesApi;
const rotation = rotates(a, api.secrets[0]);
const listNotes = (caller: Caller, rows: unknown[]) => invokeRoute(a, api, READER, { method: 'GET', resource: '/notes', path: '/notes', caller },
  { statusCode: 200, body: { data: rows, meta: { rowCount: rows.length, truncated: false } } });

// The table and its policy, as the example's header says the schema owner runs them.
sql.run(a, [
  'CREATE TABLE IF NOT EXISTS notes (id BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL)',
  'ALTER TABLE notes ENABLE ROW LEVEL SECURITY',
  'DROP POLICY IF EXISTS tenant_only ON notes',
  "CREATE POLICY tenant_only ON notes USING (tenant_id = current_setting('request.jwt.claims', true)::json->>'tenant_id')",
])
  // The public route through API Gateway.
  .next(testInvoke(a, api, { method: 'GET', resource: '/health', path: '/health' }, { path: 'body.data.0.ok', expected: ExpectedResult.exact(1) }))
  // A write as the writer with the token's tenant and subject, then the row as the master sees it.
  .next(invokeRoute(a, api, WRITER, { method: 'POST', resource: '/notes', path: '/notes', body: { body: 'hello from integ' }, caller: ALICE },
    { statusCode: 200, body: { data: [{ id: '1' }], meta: { rowCount: 1, truncated: false, affectedRows: 1 } } }))
  .next(sql.run(a, ['SELECT tenant_id, author, body FROM notes'], [{ tenant_id: 'tenant-a', author: 'alice', body: 'hello from integ' }]))
  // Reads as the reader (BIGSERIAL ids are strings on REST, as pg returns int8): the tenant sees its note, another tenant sees nothing (row-level security).
  .next(listNotes(ALICE, [{ id: '1', author: 'alice', body: 'hello from integ' }]))
  .next(listNotes(BOB, []))
  // The same query over GraphQL.
  .next(invokeRoute(a, api, GRAPHQL, { method: 'POST', resource: '/graphql', path: '/graphql', body: { query: '{ getNotes { rows { id author body } truncated } }' }, caller: ALICE },
    { statusCode: 200, body: { data: { getNotes: { rows: [{ id: 1, author: 'alice', body: 'hello from integ' }], truncated: false } } } }))
  // The reader's password rotates; the proxy logs in with the new one.
  .next(rotation.first);
rotation.last.next(listNotes(ALICE, [{ id: '1', author: 'alice', body: 'hello from integ' }]));
