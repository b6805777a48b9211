/**
 * Lambda wiring shared by the per-engine entry points: reads `config.json` from the function's
 * asset (not environment variables, which are limited to 4 KB), builds the credentials provider,
 * and keeps one handler, with its one connection, across warm invocations.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import type * as DynamoDb from '@aws-sdk/client-dynamodb';
import type * as SecretsManager from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { CredentialsProvider, IamTokenCredentials, StaticCredentials } from './credentials';
import { CursorKeySource, secretCursorKey } from './cursor-key';
import { DatabaseEngine } from './engines/engine';
import { environmentCredentials } from './environment-credentials';
import { QueryHandler } from './handler';
import type * as Idempotency from './idempotency';
import { logLevelAllows } from './log-level';
import { HttpResponse } from './problem';
import { EngineName, RuntimeConfig } from '../shared/config';
import { CONFIG_SHA256_ENV, isSealed } from '../shared/sealed-config';

/** Environment variable that may point at another config file (local runs). */
export const CONFIG_PATH_ENV = 'SECURE_DB_API_CONFIG';

/**
 * Lambda puts the execution role's credentials into the environment; the SDK's default chain would find
 * them first too, but bundles SSO, INI files, STS and IMDS providers a function can never reach.
 */
export const LAMBDA_AWS_CREDENTIALS: AwsCredentialIdentityProvider = environmentCredentials();

/** The database credentials a configuration names; `awsCredentials` signs IAM tokens. */
export function credentialsFor(config: RuntimeConfig, awsCredentials: AwsCredentialIdentityProvider = LAMBDA_AWS_CREDENTIALS): CredentialsProvider {
  const c = config.connection;
  switch (c.credentials.type) {
    case 'iam':
      return new IamTokenCredentials({ hostname: c.host, port: c.port, user: c.user, region: c.credentials.region, awsCredentials });
    case 'static':
      return new StaticCredentials({ user: c.user, password: c.credentials.password });
    default:
      throw new Error(`unknown credentials type ${(c.credentials as { type?: unknown }).type as string}`);
  }
}

/**
 * Replaces `${env:NAME}` string values with the environment variable: deploy-time values such as the
 * proxy endpoint and the region, which a file written at synth time cannot hold.
 */
export function resolveEnvReferences<T>(value: T, env: NodeJS.ProcessEnv = process.env): T {
  if (typeof value === 'string') {
    const m = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value);
    if (!m) return value;
    const resolved = env[m[1]];
    if (resolved === undefined || resolved === '') throw new Error(`configuration needs environment variable ${m[1]}, which is not set`);
    return resolved as unknown as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveEnvReferences(v, env)) as unknown as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvReferences(v, env)])) as T;
  }
  return value;
}

/**
 * The configuration of one access level of a reader + writer configuration (GraphQL function, container):
 * its queries only, and the reader's connection or the writer's (`writeConnection`), resolved.
 * Undefined when there are no queries of that access.
 */
export function configForAccess(raw: RuntimeConfig, access: 'read' | 'write'): RuntimeConfig | undefined {
  const queries = raw.queries.filter((q) => q.access === access);
  if (queries.length === 0) return undefined;
  const connection = access === 'read' ? raw.connection : raw.writeConnection;
  if (!connection) throw new Error('the configuration has write queries but no writeConnection');
  // Only reads page: the writer never needs the cursor key.
  const cursorKey = access === 'read' ? raw.cursorKey : undefined;
  return { ...raw, graphql: undefined, writeConnection: undefined, connection: resolveEnvReferences(connection), queries, cursorKey };
}

/** Reads a configuration file (JSON). */
export function readConfigFile(file: string): RuntimeConfig {
  return JSON.parse(readFileSync(file, 'utf8')) as RuntimeConfig;
}

/** The PEM text of the CA a configuration's `tls.caFile` names (relative to `configFile`), if it names one. */
export function tlsCaFor(config: RuntimeConfig, configFile: string): string | undefined {
  const caFile = config.connection?.tls?.caFile;
  return caFile ? readFileSync(path.resolve(path.dirname(configFile), caFile), 'utf8') : undefined;
}

/**
 * A query handler for a configuration whose connection is resolved, with the CA its `tls.caFile` names
 * (relative to `configFile`). `sealed`: the file is the one the construct checked (src/shared/sealed-config.ts).
 */
export function queryHandlerFor(config: RuntimeConfig, engine: DatabaseEngine, configFile: string, sealed = false): QueryHandler {
  const tlsCa = tlsCaFor(config, configFile);
  return new QueryHandler({ config, engine, credentials: credentialsFor(config), tlsCa, cursorKey: cursorKeyFor(config), sealed });
}

/**
 * A query function's configuration file, and whether it is the file the construct sealed: a file changed
 * after synthesis is logged once and checked in full.
 */
export function readQueryFunctionConfig(file: string, env: NodeJS.ProcessEnv = process.env): { config: RuntimeConfig; sealed: boolean } {
  const text = readFileSync(file, 'utf8');
  const config = JSON.parse(text) as RuntimeConfig;
  const sealed = isSealed(text, env);
  if (!sealed && env[CONFIG_SHA256_ENV] && logLevelAllows('WARN', env)) {
    console.log(JSON.stringify({
      level: 'WARN',
      message: `${path.basename(file)} is not the file the construct checked (its SHA-256 differs from ${CONFIG_SHA256_ENV}): every query is checked again`,
    }));
  }
  return { config, sealed };
}

/**
 * The cursor signing key of a configuration's paged queries: the secret its `cursorKey` section names, read
 * with the role's credentials on first use (the endpoint the SDK's way, AWS_ENDPOINT_URL_SECRETS_MANAGER).
 * Undefined without the section. The SDK client is required here, not imported: esbuild then evaluates it on
 * this path only, and functions without paged queries never load it.
 */
export function cursorKeyFor(
  config: RuntimeConfig,
  awsCredentials: AwsCredentialIdentityProvider = LAMBDA_AWS_CREDENTIALS,
): CursorKeySource | undefined {
  if (!config.cursorKey) return undefined;
  const { secretArn } = resolveEnvReferences(config.cursorKey);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager') as typeof SecretsManager;
  return secretCursorKey(secretArn, new SecretsManagerClient({ credentials: awsCredentials }));
}

/** Builds a handler from a config file path. */
export function handlerFromFile(file: string, engineFor: (engine: EngineName) => DatabaseEngine): QueryHandler {
  const raw = readConfigFile(file);
  // Only connection settings may name environment variables; SQL and parameters are taken as written.
  const config: RuntimeConfig = { ...raw, connection: resolveEnvReferences(raw.connection) };
  return queryHandlerFor(config, engineFor(config.engine), file);
}

export interface LambdaQueryHandler {
  (event: APIGatewayProxyEvent, context: Context): Promise<HttpResponse>;
  /** Closes the warm connection (graceful shutdown, tests). */
  close(): Promise<void>;
}

/**
 * A Lambda handler that builds its handler from the configuration file on the first invocation and keeps
 * it, with its connections, warm.
 */
export function warmLambdaHandler<H extends { close(): Promise<void> }>(
  build: (configFile: string) => H,
  handle: (handler: H, event: APIGatewayProxyEvent, context: Context) => Promise<HttpResponse>,
): LambdaQueryHandler {
  let handler: H | undefined;
  // Not an async function: the handler's own promise is returned as it is, one promise less per call.
  const fn = (event: APIGatewayProxyEvent, context: Context): Promise<HttpResponse> => {
    try {
      // A broken configuration throws here, on every call, with the full list of problems in the log.
      handler ??= build(process.env[CONFIG_PATH_ENV] ?? path.join(__dirname, 'config.json'));
      return handle(handler, event, context);
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return Object.assign(fn, {
    close: async () => {
      await handler?.close();
      handler = undefined;
    },
  });
}

/** A REST query function's routes: the query handler, behind idempotent writes when configured. */
interface RestRoutes {
  handle(event: APIGatewayProxyEvent, context: Context): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * The AWS SDK packages the idempotency store needs. The Lambda Node.js runtimes ship AWS SDK for JavaScript
 * v3, so the query function bundles leave them out (scripts/bundle-runtime.js) and load them, with
 * Powertools' idempotency utility, only when the configuration has an `idempotency` section: a function
 * without it never loads them, and the bundles stay within their 500 KB budget.
 */
export const RUNTIME_SDK_PACKAGES = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb', '@aws-sdk/client-secrets-manager'] as const;

/** The REST routes of a configuration file: writes with an Idempotency-Key run at most once when it has an `idempotency` section. */
export function restRoutesFromFile(file: string, engineFor: (engine: EngineName) => DatabaseEngine): RestRoutes {
  const { config: raw, sealed } = readQueryFunctionConfig(file);
  const handler = queryHandlerFor({ ...raw, connection: resolveEnvReferences(raw.connection) }, engineFor(raw.engine), file, sealed);
  const close = () => handler.close();
  if (!raw.idempotency) return { handle: (event, context) => handler.handle(event, context), close };
  // Required here, not imported: the SDK is the runtime's own, and in the query functions' bundles
  // `./idempotency` is a file of its own beside index.js (scripts/bundle-runtime.js), which V8 then parses
  // only in a function that has the section.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { idempotentWrites } = require('./idempotency') as typeof Idempotency;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof DynamoDb;
  const dispatch = idempotentWrites((event, requestId) => handler.handle(event, { awsRequestId: requestId }), {
    settings: resolveEnvReferences(raw.idempotency),
    // The role's credentials from the environment, as for the IAM tokens; the endpoint the SDK's way (AWS_ENDPOINT_URL_DYNAMODB).
    client: new DynamoDBClient({ credentials: LAMBDA_AWS_CREDENTIALS }),
    isWrite: (event) => handler.accessOf(event) === 'write',
  });
  return {
    // Like QueryHandler.handle, without a context (local runs) the API Gateway request id stands in.
    handle: (event, context) => dispatch(event, (context as Context | undefined)?.awsRequestId ?? event.requestContext?.requestId ?? ''),
    close,
  };
}

/** The REST query functions' handler. */
export function lambdaHandler(engineFor: (engine: EngineName) => DatabaseEngine): LambdaQueryHandler {
  return warmLambdaHandler((file) => restRoutesFromFile(file, engineFor), (routes, event, context) => routes.handle(event, context));
}
