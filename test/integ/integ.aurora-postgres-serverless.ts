/**
 * Deploys examples/aurora-postgres-serverless.ts and exercises it: the user bootstrap's users exist, a
 * write and two reads through API Gateway (the reader and writer functions, the proxy with IAM tokens,
 * the database) store and return the row, and the reader's secret rotates while the API keeps serving.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { App } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { destroyOnDelete, integTest, rotates, SqlRunner, testInvoke } from './fixtures';
import { AuroraPostgresOrdersStack } from '../../examples/aurora-postgres-serverless';

const CUSTOMER = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

const app = new App();
const stack = new AuroraPostgresOrdersStack(app, 'SecureDbApiIntegAuroraPostgres');
destroyOnDelete(stack);
const cluster = stack.node.findChild('Database') as rds.DatabaseCluster;
const sql = SqlRunner.forPostgresCluster(stack, cluster, 'shop');

const integ = integTest(app, 'SecureDbApiAuroraPostgresInteg', stack);
const a = integ.assertions;
const api = stack.ordersApi;
const rotation = rotates(a, api.secrets[0]);

sql.run(a, ['CREATE TABLE IF NOT EXISTS orders (id BIGSERIAL PRIMARY KEY, customer_id UUID NOT NULL, status TEXT NOT NULL, total_cents INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())'])
  // The bootstrap created both users.
  .next(sql.run(a, ["SELECT rolname FROM pg_roles WHERE rolname IN ('api_reader', 'api_writer') ORDER BY rolname"], [{ rolname: 'api_reader' }, { rolname: 'api_writer' }]))
  // A write as the writer, then the row as the master sees it.
  .next(testInvoke(a, api, { method: 'POST', resource: '/orders', path: '/orders', body: { customerId: CUSTOMER, totalCents: 4200 } }, { path: 'status', expected: ExpectedResult.exact(200) }))
  .next(sql.run(a, [`SELECT status, total_cents FROM orders WHERE customer_id = '${CUSTOMER}'`], [{ status: 'open', total_cents: 4200 }]))
  // Reads as the reader: a list and a single row.
  .next(testInvoke(a, api, { method: 'GET', resource: '/customers/{customerId}/orders', path: `/customers/${CUSTOMER}/orders` }, { path: 'body.data.0.total_cents', expected: ExpectedResult.exact(4200) }))
  .next(testInvoke(a, api, { method: 'GET', resource: '/orders/{id}', path: '/orders/1' }, { path: 'body.data.customer_id', expected: ExpectedResult.exact(CUSTOMER) }))
  // The reader's password rotates; the proxy logs in with the new one.
  .next(rotation.first);
rotation.last.next(testInvoke(a, api, { method: 'GET', resource: '/orders/{id}', path: '/orders/1' }, { path: 'body.data.total_cents', expected: ExpectedResult.exact(4200) }));
