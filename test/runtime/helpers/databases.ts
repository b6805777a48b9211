/**
 * The machine's real database servers (see README "Tests"): PostgreSQL on 127.0.0.1:5432 (trust auth,
 * database test) and MariaDB on 127.0.0.1:3306 (root, empty password, database test).
 */
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { startThrowawayMariadb } from './throwaway-mariadb';
import { startThrowawayPostgres } from './throwaway-postgres';
import { CredentialsProvider, StaticCredentials } from '../../../src/runtime/credentials';
import { DatabaseEngine } from '../../../src/runtime/engines/engine';
import { mysqlEngine } from '../../../src/runtime/engines/mysql';
import { postgresEngine } from '../../../src/runtime/engines/postgres';
import { LogSink, QueryHandler } from '../../../src/runtime/handler';
import { Observer } from '../../../src/runtime/observability';
import { EngineName, ParameterConfig, QueryConfig, RuntimeConfig } from '../../../src/shared/config';

export const PG = { host: '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), database: 'test', user: 'postgres' };
export const MARIADB = { host: '127.0.0.1', port: Number(process.env.MYSQL_PORT ?? 3306), database: 'test', user: 'root' };

export interface TestDatabase {
  readonly engine: EngineName;
  readonly driver: DatabaseEngine;
  readonly admin: { host: string; port: number; database: string; user: string };
  /** Column definitions per logical type. */
  readonly types: Record<'serial' | 'text' | 'int' | 'float' | 'bool' | 'uuid' | 'timestamp', string>;
  /** Runs admin SQL (DDL, grants, checks) outside the handler. */
  exec(sql: string, values?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Kills every other session of `user`. */
  killSessionsOf(user: string): Promise<number>;
  sleepSql(seconds: string): string;
  createReadOnlyUser(user: string, tables: string[]): Promise<void>;
  close(): Promise<void>;
}

export async function postgres(admin: typeof PG = PG): Promise<TestDatabase> {
  const client = new Client(admin);
  await client.connect();
  return {
    engine: 'postgres',
    driver: postgresEngine,
    admin,
    exec: async (sql, values) => (await client.query(sql, values)).rows,
    types: { serial: 'SERIAL PRIMARY KEY', text: 'TEXT', int: 'BIGINT', float: 'DOUBLE PRECISION', bool: 'BOOLEAN', uuid: 'UUID', timestamp: 'TIMESTAMPTZ' },
    killSessionsOf: async (user) => {
      const rows = (await client.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [user])).rows;
      return rows.length;
    },
    sleepSql: (s) => `SELECT pg_sleep(${s}) AS slept`,
    createReadOnlyUser: async (user, tables) => {
      await client.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${user}') THEN CREATE ROLE ${user} LOGIN; END IF; END $$`);
      for (const t of tables) await client.query(`GRANT SELECT ON ${t} TO ${user}`);
    },
    close: () => client.end(),
  };
}

export async function mariadb(admin: typeof MARIADB = MARIADB): Promise<TestDatabase> {
  const conn = await mysql.createConnection({ ...admin, multipleStatements: false });
  return {
    engine: 'mariadb',
    driver: mysqlEngine('mariadb'),
    admin,
    exec: async (sql, values) => {
      const [rows] = await conn.query(sql, values);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    types: { serial: 'INT AUTO_INCREMENT PRIMARY KEY', text: 'VARCHAR(2000) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin', int: 'BIGINT', float: 'DOUBLE', bool: 'BOOLEAN', uuid: 'CHAR(36)', timestamp: 'DATETIME(3)' },
    killSessionsOf: async (user) => {
      const [rows] = await conn.query('SELECT id FROM information_schema.PROCESSLIST WHERE USER = ? AND id <> CONNECTION_ID()', [user]);
      for (const r of rows as { id: number }[]) await conn.query(`KILL ${Number(r.id)}`);
      return (rows as unknown[]).length;
    },
    sleepSql: (s) => `SELECT SLEEP(${s}) AS slept`,
    createReadOnlyUser: async (user, tables) => {
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'%'`);
      await conn.query(`CREATE USER IF NOT EXISTS '${user}'@'localhost'`);
      for (const t of tables) {
        await conn.query(`GRANT SELECT ON test.${t} TO '${user}'@'%'`);
        await conn.query(`GRANT SELECT ON test.${t} TO '${user}'@'localhost'`);
      }
    },
    close: () => conn.end(),
  };
}

export const ENGINES: ReadonlyArray<[string, () => Promise<TestDatabase>]> = [
  ['PostgreSQL', () => postgres()],
  ['MariaDB', () => mariadb()],
];

/** A database on a throwaway server: closing it also stops the server. */
async function onThrowaway<S extends { readonly port: number }>(
  start: () => Promise<S>,
  stop: (server: S) => void | Promise<void>,
  open: (port: number) => Promise<TestDatabase>,
): Promise<TestDatabase> {
  const server = await start();
  const db = await open(server.port).catch(async (e) => {
    await stop(server);
    throw e;
  });
  return {
    ...db,
    async close() {
      await db.close();
      await stop(server);
    },
  };
}

/**
 * The same engines under server settings that change how SQL text is read: every MariaDB `sql_mode`
 * that changes the meaning of quotes and backslashes, a server whose default character set is a
 * multi-byte one with backslash trail bytes, and PostgreSQL with backslash escapes in plain strings.
 * Each starts its own throwaway server.
 */
export const SERVER_MODES: ReadonlyArray<[string, () => Promise<TestDatabase>]> = [
  ...[
    'NO_BACKSLASH_ESCAPES',
    'ANSI_QUOTES',
    'ANSI,NO_BACKSLASH_ESCAPES',
  ].map((mode): [string, () => Promise<TestDatabase>] => [
    `MariaDB sql_mode=${mode}`,
    () => onThrowaway(() => startThrowawayMariadb([`--sql-mode=${mode}`]), (s) => s.stop(), (port) => mariadb({ ...MARIADB, port })),
  ]),
  [
    'MariaDB character-set-server=gbk',
    () => onThrowaway(() => startThrowawayMariadb(['--character-set-server=gbk', '--collation-server=gbk_chinese_ci']), (s) => s.stop(), (port) => mariadb({ ...MARIADB, port })),
  ],
  [
    'PostgreSQL standard_conforming_strings=off',
    () => onThrowaway(
      () => startThrowawayPostgres('', { secure: false, settings: { standard_conforming_strings: 'off', backslash_quote: 'on', escape_string_warning: 'off' } }),
      (s) => s.stop(),
      (port) => postgres({ ...PG, port, database: 'postgres' }),
    ),
  ],
];

/** A query definition with test defaults. */
export function query(q: Partial<QueryConfig> & Pick<QueryConfig, 'name' | 'method' | 'path' | 'sql'>): QueryConfig {
  return { access: 'read', parameters: [], rowLimit: 100, timeoutMs: 5000, ...q };
}

export function param(p: Partial<ParameterConfig> & Pick<ParameterConfig, 'name' | 'type'>): ParameterConfig {
  return { in: 'body', ...p };
}

/** A handler on a real server, without TLS and with trust auth (local only). */
export interface HandlerForOptions {
  readonly user?: string;
  readonly port?: number;
  readonly extra?: Partial<RuntimeConfig>;
  /** Defaults to static credentials with an empty password (trust auth). */
  readonly credentials?: CredentialsProvider;
  /** Defaults to discarding audit records (the audit tests use the real Powertools observer). */
  readonly observer?: Observer;
  /** The handler's own audit log on stdout, as deployed, instead of `observer`. */
  readonly defaultObserver?: boolean;
  /** Defaults to discarding the operational log lines. */
  readonly log?: LogSink;
}

export function handlerFor(db: TestDatabase, queries: QueryConfig[], options: HandlerForOptions = {}): QueryHandler {
  const user = options.user ?? db.admin.user;
  const config: RuntimeConfig = {
    version: 1,
    engine: db.engine,
    connection: {
      host: db.admin.host,
      port: options.port ?? db.admin.port,
      database: db.admin.database,
      user,
      credentials: { type: 'static', password: '' },
      tls: { enabled: false },
      connectTimeoutMs: 2000,
    },
    queries,
    ...options.extra,
  };
  const credentials = options.credentials ?? new StaticCredentials({ user, password: '' });
  const observer = options.defaultObserver ? undefined : options.observer ?? { record: () => undefined };
  return new QueryHandler({ config, engine: db.driver, credentials, log: options.log ?? (() => undefined), observer });
}

export interface EventInput {
  readonly resource?: string;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string | string[]>;
  readonly body?: unknown;
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
  /** IAM caller, as API Gateway puts it in requestContext.identity. */
  readonly userArn?: string;
  readonly requestId?: string;
}

/** An API Gateway REST proxy event as the gateway sends it. */
export function apiEvent(method: string, path: string, input: EventInput = {}) {
  const multi: Record<string, string[]> | null = input.query
    ? Object.fromEntries(Object.entries(input.query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))
    : null;
  const body = input.rawBody ?? (input.body === undefined ? null : JSON.stringify(input.body));
  return {
    httpMethod: method,
    path,
    resource: input.resource ?? path,
    pathParameters: input.pathParameters ?? null,
    queryStringParameters: multi ? Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1]])) : null,
    multiValueQueryStringParameters: multi,
    headers: input.headers ?? (body !== null ? { 'Content-Type': 'application/json' } : {}),
    body,
    isBase64Encoded: input.isBase64Encoded ?? false,
    requestContext: { requestId: input.requestId ?? 'req-test', identity: input.userArn ? { userArn: input.userArn } : {} },
  };
}

export function json(res: { body: string }): any {
  return JSON.parse(res.body);
}
