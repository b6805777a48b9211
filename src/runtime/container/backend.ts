/**
 * The runtime query module as a long-running container behind API Gateway (VPC link → internal NLB →
 * this server): the same routes, validation, errors and audit as the functions, with a bounded pool
 * of connections per access level (reads as the reader, writes as the writer), backpressure when the
 * pool and its queue are full, identity from the headers API Gateway sets, and graceful shutdown.
 */
import type * as http from 'http';
import * as path from 'path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { EngineName, parsePathTemplate, RuntimeConfig } from '../../shared/config';
import { IDENTITY_HEADERS } from '../../shared/identity-headers';
import { secretCursorKey } from '../cursor-key';
import { DatabaseEngine } from '../engines/engine';
import { QueryHandler } from '../handler';
import type { ServerEvent, ServerIdentity } from '../http-server';
import { idempotentWrites } from '../idempotency';
import { configForAccess, credentialsFor, resolveEnvReferences, tlsCaFor } from '../lambda';
import { Observer } from '../observability';
import { HttpResponse, Problem, problemResponse } from '../problem';

export { IDENTITY_HEADERS };

/** The identity API Gateway forwarded, as the handler's request context. */
export function identityFromHeaders(headers: http.IncomingHttpHeaders): ServerIdentity {
  const one = (name: string) => {
    const v = headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const claims: Record<string, unknown> = {};
  const json = one(IDENTITY_HEADERS.claims);
  if (json) {
    try {
      const parsed = JSON.parse(json) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(claims, parsed);
    } catch {
      // Not JSON: no claims at all (the handler then answers 403 where a claim is needed).
    }
  }
  return {
    requestId: one(IDENTITY_HEADERS.requestId),
    userArn: one(IDENTITY_HEADERS.principal),
    ...(Object.keys(claims).length > 0 ? { authorizer: { claims } } : {}),
  };
}

export interface PoolOptions {
  /** Connections (one handler each) per access level. */
  readonly size: number;
  /** Requests that may wait for a connection; more are answered 503 at once. */
  readonly maxQueue: number;
  /** Longest wait for a connection before 503. */
  readonly acquireTimeoutMs: number;
}

/** A fixed set of handlers, each with its own connection, lent to one request at a time. */
export class HandlerPool {
  private readonly idle: QueryHandler[];
  private readonly waiting: Array<{ resolve: (h: QueryHandler) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  /** No new work once closed (after every request the server accepted was answered). */
  private closed = false;
  private closing?: Promise<void>;
  private allIdle?: () => void;
  /** Most handlers lent at once. */
  peakInUse = 0;

  constructor(private readonly handlers: readonly QueryHandler[], private readonly options: PoolOptions) {
    this.idle = [...handlers];
  }

  get inUse(): number {
    return this.handlers.length - this.idle.length;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Connections opened by all handlers so far. */
  get connectionsOpened(): number {
    return this.handlers.reduce((n, h) => n + h.stats.connectionsOpened, 0);
  }

  /** Answers one event on a lent handler; a full queue or a shutdown is a 503 problem, never a thrown error. */
  async dispatch(event: ServerEvent, requestId: string): Promise<HttpResponse> {
    try {
      return await this.use((handler) => handler.handle(event, { awsRequestId: requestId }));
    } catch (e) {
      return problemResponse(e instanceof Problem ? e : new Problem('internal', 'An internal error occurred.'), requestId);
    }
  }

  async use(work: (handler: QueryHandler) => Promise<HttpResponse>): Promise<HttpResponse> {
    const handler = await this.acquire();
    try {
      return await work(handler);
    } finally {
      this.release(handler);
    }
  }

  private acquire(): Promise<QueryHandler> {
    if (this.closed) return Promise.reject(new Problem('unavailable', 'The server is shutting down', { retryAfterSeconds: 2 }));
    const handler = this.idle.pop();
    if (handler) {
      this.peakInUse = Math.max(this.peakInUse, this.inUse);
      return Promise.resolve(handler);
    }
    if (this.waiting.length >= this.options.maxQueue) {
      return Promise.reject(new Problem('unavailable', 'All database connections are busy. Retry later.', { retryAfterSeconds: 1 }));
    }
    return new Promise<QueryHandler>((resolve, reject) => {
      const entry = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(entry), 1);
          reject(new Problem('unavailable', 'No database connection became free in time. Retry later.', { retryAfterSeconds: 1 }));
        }, this.options.acquireTimeoutMs),
      };
      this.waiting.push(entry);
    });
  }

  private release(handler: QueryHandler): void {
    const next = this.waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve(handler);
      return;
    }
    this.idle.push(handler);
    if (this.idle.length === this.handlers.length) this.allIdle?.();
  }

  /**
   * Lets every request already lent a handler or waiting for one finish (each waiter within its own acquire
   * timeout), then refuses new work and closes every connection. Requests accepted before a shutdown are
   * answered, not failed: the server stops accepting first and calls this once they are done.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.idle.length < this.handlers.length || this.waiting.length > 0) await new Promise<void>((resolve) => (this.allIdle = resolve));
      this.closed = true;
      await Promise.all(this.handlers.map((h) => h.close()));
    })();
    return this.closing;
  }
}

export interface ContainerBackendOptions {
  readonly config: RuntimeConfig;
  readonly engine: DatabaseEngine;
  readonly pool: PoolOptions;
  readonly observer?: Observer;
  /** Sign IAM tokens with these AWS credentials (a task: the SDK's default chain finds the task role). */
  readonly awsCredentials: AwsCredentialIdentityProvider;
  /** Where the configuration was read from: a connection's `tls.caFile` is relative to it. Default: the current directory. */
  readonly configFile?: string;
  /** The idempotency store's client, when the configuration has an `idempotency` section. Default: the SDK's default chain. */
  readonly dynamoDb?: DynamoDBClient;
  /** Reads the cursor signing key, when the configuration has a `cursorKey` section. Default: the SDK's default chain. */
  readonly secretsManager?: SecretsManagerClient;
}

/** Routes each request to the pool of its query's access level. */
export class ContainerBackend {
  readonly reader?: HandlerPool;
  readonly writer?: HandlerPool;
  /** Answers one event: on its access level's pool, writes with an Idempotency-Key at most once when configured. */
  readonly dispatch: (event: ServerEvent, requestId: string) => Promise<HttpResponse>;
  private readonly routes: Array<{ method: string; pattern: RegExp; access: 'read' | 'write' }>;

  constructor(options: ContainerBackendOptions) {
    const raw = options.config;
    // One key for every handler of both pools, read once.
    const cursorKey = raw.cursorKey
      ? secretCursorKey(resolveEnvReferences(raw.cursorKey).secretArn, options.secretsManager ?? new SecretsManagerClient({}))
      : undefined;
    const make = (config: RuntimeConfig | undefined) => {
      if (!config) return undefined;
      const tlsCa = tlsCaFor(config, options.configFile ?? path.join(process.cwd(), 'config.json'));
      const handlers = Array.from({ length: options.pool.size }, () => new QueryHandler({
        config,
        engine: options.engine,
        credentials: credentialsFor(config, options.awsCredentials),
        observer: options.observer,
        tlsCa,
        cursorKey,
      }));
      return new HandlerPool(handlers, options.pool);
    };
    this.reader = make(configForAccess(raw, 'read'));
    this.writer = make(configForAccess(raw, 'write'));
    this.routes = raw.queries.map((q) => ({ method: q.method, pattern: parsePathTemplate(q.path).pattern, access: q.access }));
    this.dispatch = raw.idempotency
      ? idempotentWrites(this.dispatchToPool, {
        settings: resolveEnvReferences(raw.idempotency),
        client: options.dynamoDb ?? new DynamoDBClient({}),
        isWrite: (event) => this.accessOf(event) === 'write',
      })
      : this.dispatchToPool;
  }

  private readonly dispatchToPool = async (event: ServerEvent, requestId: string): Promise<HttpResponse> => {
    // Unknown routes go to either pool: its handler answers 404 or 405 like the functions do.
    const pool = (this.accessOf(event) === 'write' ? this.writer : this.reader) ?? this.reader ?? this.writer!;
    return pool.dispatch(event, requestId);
  };

  private accessOf(event: ServerEvent): 'read' | 'write' | undefined {
    return this.routes.find((r) => r.method === event.httpMethod && r.pattern.test(event.path ?? ''))?.access;
  }

  /** Lets the requests in flight and those waiting for a connection finish, then closes every connection; later requests get 503. */
  async close(): Promise<void> {
    await Promise.all([this.reader?.close(), this.writer?.close()]);
  }
}

export type EngineFor = (engine: EngineName) => DatabaseEngine;
