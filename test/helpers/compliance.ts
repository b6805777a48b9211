/**
 * An API over Aurora PostgreSQL in an egress VPC, on the Lambda or the container backend, checked as the
 * examples are (the four cdk-nag packs, cfn-guard, synth warnings): what a feature test asserts is clean.
 */
import { mkdtempSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { auroraPostgres, egressVpc } from '../../examples/shared';
import { checkExample } from '../../examples/synth-all';
import { ApiAuthorization, DatabaseTarget, QueryBackend, SecureDbApi, SecureDbApiProps } from '../../src';

/** The backends a feature is checked on: `undefined` is the default (Lambda). */
export const BACKENDS = [
  ['the Lambda backend', undefined],
  ['the container backend', 'fargate'],
] as const;

/** What the checks found: unacknowledged findings and synth warnings. */
export function checkedApi(
  stackName: string,
  cidr: string,
  backend: 'fargate' | undefined,
  feature: Omit<SecureDbApiProps, 'vpc' | 'database'>,
): ReturnType<typeof checkExample> {
  return checkExample({
    build(app: App) {
      const stack = new Stack(app, stackName, { env: { account: '111111111111', region: 'eu-west-1' } });
      const vpc = egressVpc(stack, cidr);
      const cluster = auroraPostgres(stack, vpc, 'orders');
      new SecureDbApi(stack, 'OrdersApi', {
        vpc,
        database: DatabaseTarget.fromCluster(cluster, { databaseName: 'orders' }),
        authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] }),
        ...feature,
        ...(backend === 'fargate' ? {
          backend: QueryBackend.fargate({
            domainName: 'orders-backend.internal.example.com',
            certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:eu-west-1:111111111111:certificate/0b2f8f5e-1111-2222-3333-444455556666'),
            accessLogBucket: s3.Bucket.fromBucketName(stack, 'LogArchive', 'org-log-archive-111111111111-eu-west-1'),
          }),
        } : {}),
      });
      return [stack];
    },
  }, mkdtempSync(path.join(os.tmpdir(), `sdba-${stackName.toLowerCase()}-`)));
}
