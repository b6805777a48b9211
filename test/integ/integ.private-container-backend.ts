/**
 * Deploys examples/private-container-backend.ts and exercises the path API Gateway -> VPC link -> internal
 * NLB (TLS) -> Fargate tasks (TLS) -> proxy (IAM token) -> database: a write without a token is refused
 * by the container itself (the gateway's identity headers carry no claims), and a read the test opens
 * (`GET /integ/orders/{id}`, no claims) returns the row the master wrote, as the reader. The reader's
 * secret rotates while the tasks keep reading.
 *
 * The backend's certificate must be publicly trusted for its name: set CDK_INTEG_HOSTED_ZONE_NAME and
 * CDK_INTEG_HOSTED_ZONE_ID to a public hosted zone of the account, and CDK_INTEG_ACCOUNT and
 * CDK_INTEG_REGION (or CDK_DEFAULT_*), before deploying (integ-runner checks the snapshot with its own
 * fixed values). Building the image needs Docker.
 */
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { destroyOnDelete, rotates, SqlRunner, testInvoke } from './fixtures';
import { PrivateContainerBackendStack } from '../../examples/private-container-backend';
import { QueryParameter } from '../../src';

// integ-runner's conventions: fixed values while it checks the snapshot, the maintainer's when deploying.
const zoneName = process.env.CDK_INTEG_HOSTED_ZONE_NAME ?? 'example.com';
const hostedZoneId = process.env.CDK_INTEG_HOSTED_ZONE_ID ?? 'Z23ABC4XYZL05B';
const domainName = `orders-backend.${zoneName}`;
// NLB access logging needs a concrete region.
const env = {
  account: process.env.CDK_INTEG_ACCOUNT ?? process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_INTEG_REGION ?? process.env.CDK_DEFAULT_REGION,
};

const app = new App();

// What the example takes from the organization: the certificate and the NLB log bucket.
const fixture = new Stack(app, 'SecureDbApiIntegContainerPrerequisites', { env });
destroyOnDelete(fixture);
const certificate = new acm.Certificate(fixture, 'BackendCertificate', {
  domainName,
  validation: acm.CertificateValidation.fromDns(route53.HostedZone.fromHostedZoneAttributes(fixture, 'Zone', { hostedZoneId, zoneName })),
});
const accessLogBucket = new s3.Bucket(fixture, 'NlbLogs', {
  encryption: s3.BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  removalPolicy: RemovalPolicy.DESTROY,
  autoDeleteObjects: true,
});

const stack = new PrivateContainerBackendStack(app, 'SecureDbApiIntegPrivateContainer', { env, backendDomainName: domainName, backendCertificate: certificate, accessLogBucket });
destroyOnDelete(stack);
const api = stack.ordersApi;
// A route without claims, for the test only: the example's routes need a verified token's tenant.
api.addQuery('GET /integ/orders/{id}', {
  sql: 'SELECT id, status, total_cents FROM orders WHERE id = :id',
  parameters: [QueryParameter.integer('id', { minimum: 1 })],
  single: true,
  allowUnauthenticated: true,
});
const cluster = stack.node.findChild('Database') as rds.DatabaseCluster;
const sql = SqlRunner.forPostgresCluster(stack, cluster, 'orders');

const integ = new IntegTest(app, 'SecureDbApiPrivateContainerInteg', {
  testCases: [stack],
  // In the stacks' environment, as they are.
  assertionStack: new Stack(app, 'SecureDbApiIntegPrivateContainerAssertions', { env }),
  diffAssets: false,
  stackUpdateWorkflow: false,
  cdkCommandOptions: { destroy: { args: { force: true } } },
});
const a = integ.assertions;
const rotation = rotates(a, api.secrets[0]);
const readRow = () => testInvoke(a, api, { method: 'GET', resource: '/integ/orders/{id}', path: '/integ/orders/1' }, { path: 'body.data.total_cents', expected: ExpectedResult.exact(4200) });

sql.run(a, [
  'CREATE TABLE IF NOT EXISTS orders (id BIGSERIAL PRIMARY KEY, tenant_id TEXT NOT NULL, status TEXT NOT NULL DEFAULT \'open\', total_cents INTEGER NOT NULL)',
  "INSERT INTO orders (tenant_id, total_cents) SELECT 'tenant-a', 4200 WHERE NOT EXISTS (SELECT 1 FROM orders)",
])
  // Without a token the gateway passes no claims, and the container refuses the write itself.
  .next(testInvoke(a, api, { method: 'POST', resource: '/orders', path: '/orders', body: { totalCents: 1 } },
    { path: 'body.type', expected: ExpectedResult.exact('tag:cdk-secure-db-api,2026:problem:forbidden') }))
  // A read through the tasks as the reader (so the bootstrap created it).
  .next(readRow())
  // The reader's password rotates; the proxy logs in with the new one.
  .next(rotation.first);
rotation.last.next(readRow());
