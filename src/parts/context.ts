import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DatabaseTargetConfig } from '../database/database-target';
import type { IdempotencyTable } from '../idempotency/idempotency-table';
import type { CursorKeySecret } from '../pagination/cursor-key-secret';
import type { SecureDbApiProps } from '../secure-db-api-props';

/**
 * What every part of a `SecureDbApi` shares, resolved once from the props, instead of parameters threaded
 * through each method. Parts create their resources in `scope` (the SecureDbApi itself) with the ids they
 * always had, so construct paths, and with them logical ids, do not depend on how the code is divided.
 */
export interface ApiContext {
  /** The SecureDbApi. */
  readonly scope: Construct;
  readonly props: SecureDbApiProps;
  readonly target: DatabaseTargetConfig;
  /** The port of the proxy (the engine's default port). */
  readonly port: number;
  readonly readerUser: string;
  readonly writerUser: string;
  readonly vpc: ec2.IVpc;
  /** Where the proxy and everything the construct runs go: private subnets only. */
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly apiName: string;
  readonly stageName: string;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Encrypts the secrets, the log groups and the alarm topic. */
  readonly encryptionKey: kms.IKey;
  /** Whether the new proxy logs in with IAM (ProxyAuthentication.END_TO_END_IAM). */
  readonly endToEndIam: boolean;
  /** The idempotency store of the write routes (`SecureDbApiProps.idempotency`). */
  readonly idempotency?: IdempotencyTable;
  /** The signing key of paged queries' cursors, created on first call (only when some query pages). */
  readonly cursorKey: () => CursorKeySecret;
}

/** A synth-time error, in the one form every error of the construct has: it names the construct's path. */
export function apiError(scope: Construct, message: string): Error {
  return new Error(`SecureDbApi ${scope.node.path}: ${message}`);
}

/** Problems of the queries, in that form: one per line. */
export function invalidQueries(scope: Construct, problems: readonly string[]): Error {
  return apiError(scope, `invalid queries:\n- ${problems.join('\n- ')}`);
}

/**
 * `error` in that form: as it is when it already names the construct's path, else with the path before its
 * message (the original kept as the `cause`), e.g. a part's or aws-cdk-lib's own validation error.
 */
export function namingConstruct(scope: Construct, error: unknown): Error {
  if (!(error instanceof Error)) return apiError(scope, String(error));
  if (error.message.includes(scope.node.path)) return error;
  return Object.assign(apiError(scope, error.message), { cause: error });
}
