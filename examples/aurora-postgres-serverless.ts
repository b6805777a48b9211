/**
 * Example 1: a new VPC and an Aurora PostgreSQL Serverless v2 cluster, published as an orders API.
 */
import { App, Duration, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AccessLevel, DatabaseTarget, QueryParameter, SecureDbApi } from '../src';
import { auroraPostgres, isolatedVpc } from './shared';

export class AuroraPostgresOrdersStack extends Stack {
  public readonly ordersApi: SecureDbApi;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const vpc = isolatedVpc(this, '10.20.0.0/16');
    const cluster = auroraPostgres(this, vpc, 'shop');

    this.ordersApi = new SecureDbApi(this, 'OrdersApi', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      throttling: { rateLimit: 50, burstLimit: 100 },
      queries: [
        {
          route: 'GET /orders/{id}',
          sql: 'SELECT id, customer_id, status, total_cents, created_at FROM orders WHERE id = :id',
          parameters: [QueryParameter.integer('id', { minimum: 1 })],
          single: true,
        },
        {
          route: 'GET /customers/{customerId}/orders',
          sql: 'SELECT id, status, total_cents, created_at FROM orders WHERE customer_id = :customerId AND (:status::text IS NULL OR status = :status) ORDER BY created_at DESC',
          parameters: [
            QueryParameter.uuid('customerId'),
            QueryParameter.enumeration('status', ['open', 'paid', 'shipped'], { required: false }),
          ],
          rowLimit: 50,
        },
      ],
    });
    this.ordersApi.addQuery('POST /orders', {
      access: AccessLevel.WRITE,
      sql: 'INSERT INTO orders (customer_id, status, total_cents) VALUES (:customerId, \'open\', :totalCents) RETURNING id',
      parameters: [QueryParameter.uuid('customerId'), QueryParameter.integer('totalCents', { minimum: 0 })],
      timeout: Duration.seconds(3),
    });
  }
}

export function build(app: App): Stack[] {
  return [new AuroraPostgresOrdersStack(app, 'SecureDbApiAuroraPostgres', { env: { account: '111111111111', region: 'eu-west-1' } })];
}
