/**
 * PostgreSQL through node-postgres in pipeline mode. Each call is one short transaction, written at
 * once and answered in one round trip: `BEGIN READ ONLY` for reads (a read route cannot change data
 * even if its SQL tried) with `SET LOCAL statement_timeout` for the per-query timeout
 * (transaction-scoped, so RDS Proxy does not pin the session), the statement (reads wrapped in
 * `LIMIT rowLimit + 1`), then COMMIT. Nothing session-level is ever SET.
 */
import { Client, QueryResult, types as pgTypes } from 'pg';
import { withDeadline } from './deadline';
import { ClientTimeoutError, ConnectOptions, DatabaseEngine, DbErrorClass, EngineConnection, isNetworkError, jsonSafeRow, Statement, StatementResult } from './engine';

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
    if (this.broken) {
      throw Object.assign(new Error('Client has encountered a connection error and is not queryable'), { statementNotSent: true });
    }
    return withDeadline(st.timeoutMs, () => this.abandon(), async () => {
      const begin = st.access === 'read' ? 'BEGIN READ ONLY' : 'BEGIN READ WRITE';
      const text = st.access === 'read'
        // The limit is applied by the server: at most rowLimit + 1 rows are produced and sent.
        ? `SELECT * FROM (\n${st.text}\n) AS secure_db_api_result LIMIT ${Math.trunc(st.rowLimit) + 1}`
        : st.text;
      // Pipelined: the statements are written at once and answered in one round trip. node-postgres writes
      // each protocol message on its own (Parse, Bind, Describe, Execute, Sync, and each simple query):
      // corked, they leave in one write (one TLS record, one system call) instead of seven.
      const stream = this.stream();
      stream?.cork();
      let opening: Promise<unknown>;
      let settings: Array<Promise<unknown>>;
      let statement: Promise<QueryResult>;
      let commit: Promise<unknown>;
      try {
        // The timeout is an integer from validated configuration, never from the request.
        opening = this.client.query(`${begin}; SET LOCAL statement_timeout = ${Math.trunc(st.timeoutMs)}`);
        // Transaction-local, bound values: visible to row-level security policies, gone at COMMIT.
        settings = st.settings ? Object.entries(st.settings).map(([name, value]) => this.client.query('SELECT set_config($1, $2, true)', [name, value])) : [];
        statement = this.client.query({ text, values: st.values as unknown[] });
        commit = this.client.query('COMMIT');
      } finally {
        stream?.uncork();
      }
      const [o, r, c, ...sets] = await Promise.allSettled([opening, statement, commit, ...settings]);
      if (o.status === 'rejected') {
        const e = o.reason as { message?: string };
        // A client that was already unusable sent nothing: the caller may repeat even a write.
        if (e && typeof e === 'object' && /not queryable/.test(e.message ?? '')) Object.assign(e, { statementNotSent: true });
        throw e;
      }
      const failedSetting = sets.find((x) => x.status === 'rejected');
      if (failedSetting) throw (failedSetting as PromiseRejectedResult).reason;
      // A failed statement aborts the transaction; the pipelined COMMIT then rolls it back.
      if (r.status === 'rejected') throw r.reason;
      if (c.status === 'rejected') throw c.reason;
      const rows = r.value.rows ?? [];
      return {
        rows: rows.slice(0, st.rowLimit).map(jsonSafeRow),
        truncated: rows.length > st.rowLimit,
        ...(st.access === 'write' ? { affectedRows: r.value.rowCount ?? 0 } : {}),
      };
    });
  }

  /** The client's socket (node-postgres keeps it on its connection), to cork around one call's messages. */
  private stream(): { cork(): void; uncork(): void } | undefined {
    const stream = (this.client as unknown as { connection?: { stream?: { cork?: unknown; uncork?: unknown } } }).connection?.stream;
    return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? stream as { cork(): void; uncork(): void } : undefined;
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
      // Statements of one call are sent together and answered in one round trip.
      pipeline: true,
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
