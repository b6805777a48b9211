/**
 * SQL Server (RDS for SQL Server through RDS Proxy) with tedious. Named parameters compile to `@p1`…
 * and are sent as typed RPC parameters (`sp_executesql`), never in the text. Reads run as they are
 * (the reader's grants keep them read-only); writes run in an explicit transaction. The timeout is
 * tedious' per-request timeout, which cancels the statement on the server (attention), with the
 * client-side deadline behind it. Rows beyond the limit are not kept: the request is cancelled as soon
 * as one more row arrives. TLS is always verified (`encrypt: true`, no `trustServerCertificate`).
 */
import { Connection, ConnectionConfiguration, ConnectionError, Request, TYPES } from 'tedious';
import { withDeadline } from './deadline';
import { ConnectOptions, DatabaseEngine, DbErrorClass, EngineConnection, isNetworkError, jsonSafe, Statement, StatementResult } from './engine';
import type { BoundValue } from '../../shared/params';

type TediousType = (typeof TYPES)[keyof typeof TYPES];

/** The SQL Server type a bound value is sent as. */
export function parameterType(value: BoundValue): TediousType {
  if (value === null) return TYPES.NVarChar;
  if (typeof value === 'boolean') return TYPES.Bit;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? TYPES.BigInt : TYPES.Float;
  if (value instanceof Date) return TYPES.DateTimeOffset;
  return TYPES.NVarChar;
}

/** SQL Server error numbers and what they mean to a caller. */
const CONFLICT_NUMBERS = new Set([
  2627, // unique constraint
  2601, // unique index
  547, // foreign key / check constraint
  1205, // deadlock victim
  3960, // snapshot update conflict
]);
const DATA_NUMBERS = new Set([
  8152, 2628, // string or binary data would be truncated
  245, 8114, 8115, 220, 232, 248, // conversion / arithmetic overflow
  515, // cannot insert NULL
  241, 242, 9809, // date/time conversion out of range
  8134, // divide by zero
  6522, // CLR error on a value
]);
const AUTH_NUMBERS = new Set([18456, 18486, 18487, 18488, 4060]);

export function classifySqlServerError(error: unknown): DbErrorClass {
  const e = error as { code?: unknown; number?: unknown; name?: unknown } | undefined;
  if (!e) return 'internal';
  if (e.code === 'ETIMEOUT' || e.code === 'CLIENT_STATEMENT_TIMEOUT') return 'timeout';
  if (e.code === 'ELOGIN') return 'auth';
  if (e.code === 'ESOCKET' || e.code === 'ECLOSE' || e.code === 'EINVALIDSTATE' || e.code === 'ECONNCLOSED' || isNetworkError(error)) return 'connection';
  if (typeof e.number === 'number') {
    if (CONFLICT_NUMBERS.has(e.number)) return 'conflict';
    if (DATA_NUMBERS.has(e.number)) return 'data';
    if (AUTH_NUMBERS.has(e.number)) return 'auth';
  }
  // By class, never by name: tedious does not set one, and minification renames classes.
  if (error instanceof ConnectionError) return 'connection';
  return 'internal';
}

/** tedious' connection settings: verified TLS always, except the local-development opt-out. */
export function connectionConfig(o: ConnectOptions): ConnectionConfiguration {
  return {
    server: o.host,
    authentication: { type: 'default', options: { userName: o.credentials.user, password: o.credentials.password } },
    options: {
      port: o.port,
      database: o.database,
      encrypt: o.tls !== undefined,
      trustServerCertificate: false,
      ...(o.tls?.servername ? { serverName: o.tls.servername } : {}),
      ...(o.tls?.ca ? { cryptoCredentialsDetails: { ca: o.tls.ca } } : {}),
      connectTimeout: o.connectTimeoutMs,
      // Rows come back as objects keyed by column name; the handler never needs metadata.
      useColumnNames: true,
      rowCollectionOnDone: false,
      rowCollectionOnRequestCompletion: false,
      appName: 'cdk-secure-db-api',
      abortTransactionOnError: true,
      enableArithAbort: true,
    },
  };
}

/** Collects at most `limit` rows; says when one more arrived (the request is then cancelled). */
export class RowCollector {
  readonly rows: Record<string, unknown>[] = [];
  truncated = false;

  constructor(private readonly limit: number) {}

  /** Adds a row; false once the limit is passed. */
  add(columns: Record<string, { value: unknown }>): boolean {
    if (this.rows.length >= this.limit) {
      this.truncated = true;
      return false;
    }
    const row: Record<string, unknown> = {};
    for (const [name, column] of Object.entries(columns)) row[name] = jsonSafe(column.value);
    this.rows.push(row);
    return true;
  }
}

/** The request for one statement, its values as typed parameters `p1`, `p2`… */
export function buildRequest(st: Statement, callback: (err: Error | null | undefined, rowCount?: number) => void): Request {
  const request = new Request(st.text, callback);
  st.values.forEach((value, i) => request.addParameter(`p${i + 1}`, parameterType(value), value));
  request.setTimeout(Math.max(1, Math.trunc(st.timeoutMs)));
  return request;
}

class SqlServerConnection implements EngineConnection {
  broken = false;

  constructor(private readonly conn: Connection) {
    conn.on('error', () => {
      this.broken = true;
    });
    conn.on('end', () => {
      this.broken = true;
    });
  }

  run(st: Statement): Promise<StatementResult> {
    if (this.broken) return Promise.reject(Object.assign(new Error('connection already closed'), { code: 'ECLOSE', statementNotSent: true }));
    return withDeadline(st.timeoutMs, () => this.abandon(), () => (st.access === 'write' ? this.inTransaction(st) : this.execute(st)));
  }

  private execute(st: Statement): Promise<StatementResult> {
    return new Promise<StatementResult>((resolve, reject) => {
      const collector = new RowCollector(st.rowLimit);
      let cancelled = false;
      const request = buildRequest(st, (err, rowCount) => {
        // Cancelling after the limit ends the request with ECANCEL: that is the expected end.
        if (err && !(cancelled && (err as { code?: string }).code === 'ECANCEL')) {
          reject(err);
          return;
        }
        resolve({ rows: collector.rows, truncated: collector.truncated, ...(st.access === 'write' ? { affectedRows: rowCount } : {}) });
      });
      request.on('row', (columns: Record<string, { value: unknown }>) => {
        if (!collector.add(columns) && !cancelled) {
          cancelled = true;
          this.conn.cancel();
        }
      });
      this.conn.execSql(request);
    });
  }

  private async inTransaction(st: Statement): Promise<StatementResult> {
    await new Promise<void>((resolve, reject) => this.conn.beginTransaction((err) => (err ? reject(err) : resolve())));
    try {
      const result = await this.execute(st);
      await new Promise<void>((resolve, reject) => this.conn.commitTransaction((err) => (err ? reject(err) : resolve())));
      return result;
    } catch (e) {
      await new Promise<void>((resolve) => this.conn.rollbackTransaction(() => resolve()));
      throw e;
    }
  }

  private abandon(): void {
    this.broken = true;
    this.conn.close();
  }

  close(): Promise<void> {
    this.broken = true;
    return new Promise((resolve) => {
      this.conn.once('end', () => resolve());
      this.conn.close();
      setTimeout(resolve, 1000).unref();
    });
  }
}

export const sqlServerEngine: DatabaseEngine = {
  name: 'sqlserver',
  connect: (options) => new Promise<EngineConnection>((resolve, reject) => {
    const conn = new Connection(connectionConfig(options));
    conn.connect((err) => (err ? reject(err) : resolve(new SqlServerConnection(conn))));
  }),
  classify: classifySqlServerError,
};
