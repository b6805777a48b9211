/**
 * PostgreSQL through node-postgres. Each call is one short transaction: `BEGIN READ ONLY` for reads
 * (a read route cannot change data even if its SQL tried), `SET LOCAL statement_timeout` for the
 * per-query timeout (transaction-scoped, so RDS Proxy does not pin the session), a cursor that
 * fetches at most rowLimit + 1 rows, then COMMIT. Nothing session-level is ever SET.
 */
import { Client, types as pgTypes } from 'pg';
import Cursor from 'pg-cursor';
import { withDeadline } from './deadline';
import { ClientTimeoutError, ConnectOptions, DatabaseEngine, DbErrorClass, EngineConnection, isNetworkError, jsonSafe, Statement, StatementResult } from './engine';

const OID_DATE = 1082;
const OID_TIMESTAMP = 1114;

/** Dates and zone-less timestamps stay as the database wrote them, so no local time zone shifts them. */
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID_DATE) return (v: string) => v;
    if (oid === OID_TIMESTAMP) return (v: string) => v.replace(' ', 'T');
    return pgTypes.getTypeParser(oid, format as 'text');
  }) as typeof pgTypes.getTypeParser,
};

class PostgresConnection implements EngineConnection {
  broken = false;

  constructor(private readonly client: Client) {
    // An idle connection the server terminated emits 'error'; without a listener the process would crash.
    client.on('error', () => {
      this.broken = true;
    });
    client.on('end', () => {
      this.broken = true;
    });
  }

  async run(st: Statement): Promise<StatementResult> {
    return withDeadline(st.timeoutMs, () => this.abandon(), async () => {
      const begin = st.access === 'read' ? 'BEGIN READ ONLY' : 'BEGIN READ WRITE';
      // Integer from validated configuration, never from the request.
      try {
        await this.client.query(`${begin}; SET LOCAL statement_timeout = ${Math.trunc(st.timeoutMs)}`);
      } catch (e) {
        // The statement itself was never sent: the caller may safely repeat it on a new connection.
        if (e && typeof e === 'object') Object.assign(e, { statementNotSent: true });
        throw e;
      }
      try {
        let result: StatementResult;
        if (st.access === 'read') {
          const cursor = this.client.query(new Cursor(st.text, st.values as unknown[]));
          const rows = await cursor.read(st.rowLimit + 1);
          await cursor.close();
          result = { rows: rows.slice(0, st.rowLimit).map((r) => jsonSafe(r) as Record<string, unknown>), truncated: rows.length > st.rowLimit };
        } else {
          const res = await this.client.query({ text: st.text, values: st.values as unknown[] });
          const rows = res.rows ?? [];
          result = {
            rows: rows.slice(0, st.rowLimit).map((r) => jsonSafe(r) as Record<string, unknown>),
            truncated: rows.length > st.rowLimit,
            affectedRows: res.rowCount ?? 0,
          };
        }
        await this.client.query('COMMIT');
        return result;
      } catch (e) {
        if (!this.broken) await this.client.query('ROLLBACK').catch(() => this.abandon());
        throw e;
      }
    });
  }

  private abandon(): void {
    this.broken = true;
    const stream = (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }

  async close(): Promise<void> {
    this.broken = true;
    await this.client.end().catch(() => undefined);
  }
}

const CONNECTION_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const CONFLICT_CODES = new Set(['23505', '23503', '23P01']);
const CONNECTION_MESSAGES = /Connection terminated|not queryable|Client was closed|timeout expired|connection error|does not support SSL/i;

export const postgresEngine: DatabaseEngine = {
  name: 'postgres',

  async connect(o: ConnectOptions): Promise<EngineConnection> {
    const client = new Client({
      host: o.host,
      port: o.port,
      database: o.database,
      user: o.credentials.user,
      password: o.credentials.password,
      ssl: o.tls ? { rejectUnauthorized: true, ca: o.tls.ca, servername: o.tls.servername } : false,
      connectionTimeoutMillis: o.connectTimeoutMs,
      types: typeParsers,
    });
    // Errors during connect reject the promise below; this keeps a late socket error from crashing.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    return new PostgresConnection(client);
  },

  classify(error: unknown): DbErrorClass {
    if (error instanceof ClientTimeoutError) return 'timeout';
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') {
      if (code === '57014') return 'timeout';
      if (code === '28P01' || code === '28000') return 'auth';
      if (CONNECTION_CODES.has(code)) return 'connection';
      if (CONFLICT_CODES.has(code)) return 'conflict';
      if (code === '23502' || code === '23514' || code.startsWith('22')) return 'data';
    }
    if (isNetworkError(error)) return 'connection';
    const message = (error as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return 'connection';
    // TLS verification failures (self-signed, wrong host) are connection problems, not the caller's.
    if (typeof code === 'string' && /CERT|SELF_SIGNED|ERR_TLS|UNABLE_TO/.test(code)) return 'connection';
    return 'internal';
  },
};
