/**
 * Local development server: serves an app's queries on localhost with the real handler.
 *
 *   npx secure-db-api-dev --config cdk.out/asset.<hash>/config.json [--seed seed.sql] [--port 3000]
 *                         [--database-url postgres://user:pass@host:5432/db] [--data-dir .secure-db-api/pglite]
 *                         [--pool-size 10]
 *
 * Without --database-url it runs an embedded PGlite database kept on disk in --data-dir, seeded from
 * --seed the first time the directory is created (PostgreSQL configurations only). The route table is the
 * `config.json` the construct writes into each function's asset (after `cdk synth`), or any file in that
 * format. Local only: TLS is off and credentials come from the URL.
 *
 * Requests run on the container backend's pool (--pool-size connections, 10, with a database URL; one for
 * PGlite, which serves one connection at a time) and SIGTERM drains like the container: accepted requests are
 * answered with `Connection: close`, then every connection is closed.
 */
import { existsSync, mkdirSync, readFileSync } from 'fs';
import { AddressInfo } from 'net';
import * as path from 'path';
import { RuntimeConfig } from '../shared/config';
import { HandlerPool } from './container/backend';
import { Drain } from './container/drain';
import { StaticCredentials } from './credentials';
import { DatabaseEngine } from './engines/engine';
import { mysqlEngine } from './engines/mysql';
import { postgresEngine } from './engines/postgres';
import { QueryHandler } from './handler';
import { createQueryServer } from './http-server';
import { Observer } from './observability';

export interface DevServerOptions {
  readonly config: RuntimeConfig;
  /** postgres://… or mysql://…; default: embedded PGlite. */
  readonly databaseUrl?: string;
  readonly dataDir?: string;
  readonly seedSql?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly observer?: Observer;
  /** Connections to a database URL (the embedded database always has one). Default: 10. */
  readonly poolSize?: number;
}

/** Default size of the dev server's pool with a database URL. */
export const DEFAULT_DEV_POOL_SIZE = 10;
/** How long SIGTERM waits for accepted requests before it closes the remaining connections. */
const DEV_DRAIN_MS = 10_000;

export interface DevServer {
  readonly url: string;
  /** The connections requests run on. */
  readonly pool: HandlerPool;
  /** Drains like SIGTERM: answers accepted requests (Connection: close), then closes every connection. */
  close(): Promise<void>;
}

interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  engine: DatabaseEngine;
  /** Most connections the database takes at once (PGlite: one). */
  maxConnections?: number;
  stop(): Promise<void>;
}

async function fromUrl(databaseUrl: string, config: RuntimeConfig): Promise<Target> {
  const u = new URL(databaseUrl);
  const isPg = u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  const isMy = u.protocol === 'mysql:' || u.protocol === 'mariadb:';
  if (!isPg && !isMy) throw new Error(`--database-url must start with postgres:// or mysql://, got ${u.protocol}`);
  if (isPg !== (config.engine === 'postgres')) throw new Error(`--database-url is ${u.protocol.slice(0, -1)} but the configuration is for ${config.engine}`);
  return {
    host: u.hostname,
    port: Number(u.port || (isPg ? 5432 : 3306)),
    database: decodeURIComponent(u.pathname.slice(1)) || config.connection.database,
    user: decodeURIComponent(u.username) || config.connection.user,
    password: decodeURIComponent(u.password),
    engine: isPg ? postgresEngine : mysqlEngine(config.engine === 'mysql' ? 'mysql' : 'mariadb'),
    stop: async () => undefined,
  };
}

async function embedded(config: RuntimeConfig, dataDir: string, seedSql: string | undefined): Promise<Target> {
  if (config.engine !== 'postgres') throw new Error('the embedded database is PostgreSQL (PGlite): give --database-url for MySQL/MariaDB configurations');
  let pglite: typeof import('@electric-sql/pglite');
  let socket: typeof import('@electric-sql/pglite-socket');
  try {
    // Optional: only the embedded mode needs them, and they are never bundled (PGlite ships WebAssembly).
    /* eslint-disable @typescript-eslint/no-require-imports */
    pglite = require('@electric-sql/pglite');
    socket = require('@electric-sql/pglite-socket');
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch {
    throw new Error('the embedded database needs: npm install --save-dev @electric-sql/pglite @electric-sql/pglite-socket (or give --database-url)');
  }
  const fresh = !existsSync(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const db = await pglite.PGlite.create(dataDir);
  if (fresh && seedSql) await db.exec(seedSql);
  // PGlite serves one connection at a time: the pool keeps exactly one.
  const server = new socket.PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  await server.start();
  const port = Number(server.getServerConn().split(':').pop());
  return {
    host: '127.0.0.1',
    port,
    database: 'postgres',
    user: 'postgres',
    password: '',
    engine: postgresEngine,
    maxConnections: 1,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const target = options.databaseUrl
    ? await fromUrl(options.databaseUrl, options.config)
    : await embedded(options.config, options.dataDir ?? path.join('.secure-db-api', 'pglite'), options.seedSql);
  const config: RuntimeConfig = {
    ...options.config,
    connection: {
      ...options.config.connection,
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      credentials: { type: 'static', password: target.password },
      tls: { enabled: false },
    },
  };
  const requested = options.poolSize ?? DEFAULT_DEV_POOL_SIZE;
  if (!Number.isSafeInteger(requested) || requested < 1) throw new Error('the pool size must be a positive whole number');
  const size = Math.min(requested, target.maxConnections ?? requested);
  // One handler, with its own connection, per request at a time: a timed-out query drops only its own
  // connection, and a request's timeout starts when it has one.
  const handlers = Array.from({ length: size }, () => new QueryHandler({
    config,
    engine: target.engine,
    credentials: new StaticCredentials({ user: target.user, password: target.password }),
    observer: options.observer,
  }));
  const pool = new HandlerPool(handlers, { size, maxQueue: Math.max(100, size * 10), acquireTimeoutMs: 5000 });
  const drain = new Drain(DEV_DRAIN_MS);
  const dispatch = drain.wrap((event, requestId) => pool.dispatch(event, requestId));
  const server = createQueryServer(dispatch, { maxBodyBytes: config.maxBodyBytes ?? 64 * 1024 });
  drain.attach(server);
  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    close: () => (closing ??= (async () => {
      await drain.shutdown(server, () => pool.close());
      await target.stop();
    })()),
  };
}

/** What the dev server says when the configuration asks for idempotent writes, which it does not make. */
export const DEV_IDEMPOTENCY_NOTE = 'note: idempotency is not applied here (it needs the deployed API\'s DynamoDB table): '
  + 'a retried Idempotency-Key runs the write again, and the key is not checked';

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

export async function main(argv: string[]): Promise<DevServer> {
  const configFile = arg(argv, 'config');
  if (!configFile) throw new Error('usage: secure-db-api-dev --config <config.json> [--seed <file.sql>] [--port 3000] [--database-url <url>] [--data-dir <dir>] [--pool-size 10]');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as RuntimeConfig;
  const seed = arg(argv, 'seed');
  const port = Number(arg(argv, 'port') ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a TCP port');
  const poolSize = Number(arg(argv, 'pool-size') ?? DEFAULT_DEV_POOL_SIZE);
  if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 1000) throw new Error('--pool-size must be a whole number from 1 to 1000');
  const server = await startDevServer({
    config,
    databaseUrl: arg(argv, 'database-url') ?? process.env.DATABASE_URL,
    dataDir: arg(argv, 'data-dir'),
    seedSql: seed ? readFileSync(seed, 'utf8') : undefined,
    port,
    poolSize,
  });
  for (const q of config.queries) console.error(`${q.method.padEnd(6)} ${server.url}${q.path}  (${q.name}, ${q.access})`);
  // The idempotency store is a DynamoDB table of the deployed API: locally, a retried key writes again.
  if (config.idempotency) console.error(DEV_IDEMPOTENCY_NOTE);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`secure-db-api-dev: ${(e as Error).message}`);
    process.exit(1);
  });
}
