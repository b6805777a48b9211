/**
 * Example 4: the queries served by a private container backend instead of Lambda: ECS Fargate tasks in
 * private subnets behind an internal Network Load Balancer that only API Gateway's VPC link can reach,
 * TLS on both hops (an ACM certificate for the name API Gateway calls the NLB by), and callers with
 * OIDC tokens. The container image is built at deployment from the Dockerfile the package ships.
 */
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AccessLevel, ApiAuthorization, DatabaseTarget, QueryBackend, QueryParameter, SecureDbApi } from '../src';
import { auroraPostgres, egressVpc } from './shared';

/** The backend's name, certificate and log bucket, when not this example's (the integration test passes its own). */
export interface PrivateContainerBackendStackProps extends StackProps {
  readonly backendDomainName?: string;
  readonly backendCertificate?: acm.ICertificate;
  readonly accessLogBucket?: s3.IBucket;
}

export class PrivateContainerBackendStack extends Stack {
  public readonly ordersApi: SecureDbApi;

  constructor(scope: Construct, id: string, props: PrivateContainerBackendStackProps = {}) {
    super(scope, id, props);
    const vpc = egressVpc(this, '10.50.0.0/16');
    const cluster = auroraPostgres(this, vpc, 'orders');
    const certificate = props.backendCertificate
      ?? acm.Certificate.fromCertificateArn(this, 'BackendCertificate', 'arn:aws:acm:eu-west-1:111111111111:certificate/0b2f8f5e-1111-2222-3333-444455556666');
    // The organization's log archive bucket (its policy lets delivery.logs.amazonaws.com write NLB logs).
    const accessLogBucket = props.accessLogBucket ?? s3.Bucket.fromBucketName(this, 'LogArchive', 'org-log-archive-111111111111-eu-west-1');

    this.ordersApi = new SecureDbApi(this, 'OrdersApi', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'orders' }),
      authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] }),
      backend: QueryBackend.fargate({ domainName: props.backendDomainName ?? 'orders-backend.internal.example.com', certificate, accessLogBucket, desiredCount: 2, poolSize: 10 }),
      queries: [
        {
          route: 'GET /orders/{id}',
          sql: 'SELECT id, status, total_cents FROM orders WHERE id = :id AND tenant_id = :claims.tenant_id',
          parameters: [QueryParameter.integer('id', { minimum: 1 })],
          single: true,
          requiredScopes: ['orders:read'],
        },
        {
          route: 'POST /orders',
          access: AccessLevel.WRITE,
          sql: 'INSERT INTO orders (tenant_id, total_cents) VALUES (:claims.tenant_id, :totalCents) RETURNING id',
          parameters: [QueryParameter.integer('totalCents', { minimum: 0 })],
          requiredScopes: ['orders:write'],
        },
      ],
    });
  }
}

export function build(app: App): Stack[] {
  return [new PrivateContainerBackendStack(app, 'SecureDbApiPrivateContainer', { env: { account: '111111111111', region: 'eu-west-1' } })];
}
