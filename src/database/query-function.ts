import * as path from 'path';
import { ArnFormat, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { DatabaseEngineFamily } from './database-target';
import { ENGINES } from './engines';
import { functionTimeout } from './query-config';
import type { IdempotencyTable } from '../idempotency/idempotency-table';
import type { CursorKeySecret } from '../pagination/cursor-key-secret';
import { invalidQueries } from '../parts/context';
import { privateFunction } from '../security/private-function';
import { ConfigError } from '../shared/config';
import type { ConnectionConfig, GraphqlConfig, QueryConfig, RuntimeConfig } from '../shared/config';
import { SERVICE_NAME_ENV } from '../shared/metric-names';
import { CONFIG_SHA256_ENV, sealConfig, SealedConfig } from '../shared/sealed-config';

/** Environment variable the runtime reads the proxy endpoint from (a deploy-time value). */
export const DB_HOST_ENV = 'SECURE_DB_API_DB_HOST';

/** Bundles live in assets/runtime, built by esbuild at build time (both from src/ and from lib/). */
export function bundleDir(engine: DatabaseEngineFamily, graphql = false): string {
  return path.join(__dirname, '..', '..', 'assets', 'runtime', `${graphql ? 'graphql-' : ''}${ENGINES[engine].bundle}`);
}

/** What the runtime needs to serve queries through the proxy with IAM tokens. */
export interface ProxyRuntimeOptions {
  readonly engine: DatabaseEngineFamily;
  readonly port: number;
  readonly databaseName: string;
  /** Runs the read queries (all queries when there is no `writeUser`). */
  readonly user: string;
  /** Runs the write queries, on a connection of its own. */
  readonly writeUser?: string;
  readonly queries: QueryConfig[];
  readonly rlsClaims?: boolean;
  readonly graphql?: GraphqlConfig;
}

/**
 * The runtime configuration a function or container gets: the proxy endpoint and the region are
 * deploy-time values, so they are `${env:…}` references the runtime resolves at start.
 */
export function proxyRuntimeConfig(o: ProxyRuntimeOptions): RuntimeConfig {
  const connection = (user: string): ConnectionConfig => ({
    host: `\${env:${DB_HOST_ENV}}`,
    port: o.port,
    database: o.databaseName,
    user,
    credentials: { type: 'iam', region: '${env:AWS_REGION}' },
    tls: { enabled: true },
  });
  return {
    version: 1,
    engine: o.engine,
    connection: connection(o.user),
    queries: o.queries,
    ...(o.rlsClaims ? { rlsClaims: true } : {}),
    ...(o.graphql ? { graphql: o.graphql } : {}),
    ...(o.writeUser ? { writeConnection: connection(o.writeUser) } : {}),
  };
}

export interface QueryFunctionProps {
  /** `graphql`: the GraphQL function, which runs reads as `dbUser` and writes as `writeDbUser`. */
  readonly access: 'read' | 'write' | 'graphql';
  readonly engine: DatabaseEngineFamily;
  readonly databaseName: string;
  readonly dbUser: string;
  /** The GraphQL function's writer (when there are write queries). */
  readonly writeDbUser?: string;
  /** The GraphQL endpoint's settings (GraphQL function only). */
  readonly graphql?: GraphqlConfig;
  readonly port: number;
  readonly queries: QueryConfig[];
  readonly proxy: rds.IDatabaseProxy;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly memorySize: number;
  readonly reservedConcurrentExecutions?: number;
  /** PostgreSQL: set the verified claims as `request.jwt.claims` per transaction. */
  readonly rlsClaims?: boolean;
  /** The API's name: the `service` of the function's audit records and metrics. */
  readonly serviceName: string;
  /** The idempotency store (the write function only): its configuration, environment, grants and egress. */
  readonly idempotency?: IdempotencyTable;
  /** The cursor signing key (functions that serve paged queries only): its configuration, environment, grants and egress. */
  readonly cursorKey?: CursorKeySecret;
}

/**
 * One query function: the engine's bundle plus a `config.json` with its routes, a role that can only
 * `rds-db:connect` as its own database user through the proxy, in private subnets.
 */
export class QueryFunction extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: QueryFunctionProps) {
    super(scope, id);

    const users = [props.dbUser, ...(props.writeDbUser ? [props.writeDbUser] : [])];
    const routes = proxyRuntimeConfig({
      engine: props.engine,
      port: props.port,
      databaseName: props.databaseName,
      user: props.dbUser,
      writeUser: props.writeDbUser,
      queries: props.queries,
      rlsClaims: props.rlsClaims,
      graphql: props.graphql,
    });
    const idempotency = props.idempotency;
    const cursorKey = props.cursorKey;
    const config: RuntimeConfig = {
      ...routes,
      ...(idempotency ? { idempotency: idempotency.runtimeConfig() } : {}),
      ...(cursorKey ? { cursorKey: cursorKey.runtimeConfig() } : {}),
    };

    const file = configFile(this, props.access, config);
    const fn = privateFunction(this, 'Function', {
      description: `SecureDbApi ${props.access} queries (${props.queries.length} route${props.queries.length === 1 ? '' : 's'})`,
      roleDescription: `Runs ${props.access} queries as database user${users.length > 1 ? 's' : ''} ${users.join(' and ')}`,
      policyDescription: `Least privilege for the ${props.access} query function`,
      statements: [new iam.PolicyStatement({
        sid: 'ConnectAsOwnDbUserThroughProxy',
        actions: ['rds-db:connect'],
        resources: users.map((u) => proxyDbUserArn(props.proxy, u)),
      }), ...(idempotency?.statements() ?? []), ...(cursorKey?.statements() ?? [])],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      bundle: path.join(bundleDir(props.engine, props.access === 'graphql'), 'index.js'),
      files: { 'config.json': file.text },
      // Deploy-time values, and the digest of config.json in the asset, which holds the route table.
      environment: {
        [DB_HOST_ENV]: props.proxy.endpoint,
        [SERVICE_NAME_ENV]: props.serviceName,
        ...file.environment,
        ...idempotency?.environment(),
        ...cursorKey?.environment(),
      },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroup: props.securityGroup,
      // The shared group reaches only the proxy; this function alone also reaches DynamoDB.
      extraSecurityGroups: idempotency || cursorKey
        ? [...(idempotency ? [idempotency.egressFrom(this, props.vpc)] : []), ...(cursorKey ? [cursorKey.egressFrom(this, props.vpc)] : [])]
        : undefined,
      memorySize: props.memorySize,
      timeout: functionTimeout(Math.max(...props.queries.map((q) => q.timeoutMs))),
      tracing: true,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      noDlqReason: 'Invoked synchronously by API Gateway: failures go back to the caller, there is no event to dead-letter.',
      noReservedConcurrencyReason: 'Stage throttling and the proxy connection cap bound load; set SecureDbApiProps.reservedConcurrency to reserve concurrency.',
    });
    this.function = fn.function;
    this.role = fn.role;
    this.logGroup = fn.logGroup;
  }
}

/**
 * A function's `config.json`: a REST query function's sealed, with its digest in the environment, so its
 * cold start takes the queries as checked and compiled here (src/shared/sealed-config.ts). The GraphQL
 * function splits the queries between its reader and writer, and checks them at its start.
 */
function configFile(scope: Construct, access: QueryFunctionProps['access'], config: RuntimeConfig): { text: string; environment: Record<string, string> } {
  if (access === 'graphql') return { text: JSON.stringify(config), environment: {} };
  let sealed: SealedConfig;
  try {
    sealed = sealConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) throw invalidQueries(scope, e.problems);
    throw e;
  }
  return { text: sealed.text, environment: { [CONFIG_SHA256_ENV]: sealed.sha256 } };
}

/** `arn:aws:rds-db:REGION:ACCOUNT:dbuser:prx-ID/USER`, the only form RDS Proxy IAM auth accepts. */
export function proxyDbUserArn(proxy: rds.IDatabaseProxy, dbUser: string): string {
  // dbProxyArn is arn:aws:rds:REGION:ACCOUNT:db-proxy:prx-ID
  const proxyId = Fn.select(6, Fn.split(':', proxy.dbProxyArn));
  return Stack.of(proxy).formatArn({ service: 'rds-db', resource: 'dbuser', resourceName: `${proxyId}/${dbUser}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
