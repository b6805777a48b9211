/**
 * PostgreSQL through node-postgres. Each call is one short transaction sent as one batch of
 * extended-protocol messages with a single Sync at the end: written at once (one TCP write) and answered
 * at once (the server flushes its output at the Sync only: one TCP read), in one round trip. The batch
 * opens with `set_config(..., true)` for the per-query `statement_timeout` and, for reads,
 * `transaction_read_only` (transaction-local: RDS Proxy pins nothing, nothing session-level is ever SET),
 * then runs the statement (reads wrapped in `LIMIT rowLimit + 1`). Everything before the Sync is one
 * transaction, which the Sync commits, or rolls back if any step failed. A reader's SQL cannot undo
 * read-only, `set_config(...)` included: it runs after the transaction took its snapshot, when read-write
 * can no longer be set.
 */
import * as pg from 'pg';
import { Client, Connection, QueryResult, types as pgTypes } from 'pg';
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

/** node-postgres' own conversion of bound values (what its Query binds with) and its row parser. */
interface PgInternals {
  readonly utils: { prepareValue(value: unknown): unknown };
  readonly Result: new (rowMode: undefined, types: typeof typeParsers) => PgResult;
}
// The module object itself: bundled, pg's ESM wrapper exports it as the default only.
const pgInternals = (pg as unknown as { default?: PgInternals }).default ?? (pg as unknown as PgInternals);

interface PgResult extends QueryResult<Record<string, unknown>> {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addCommandComplete(message: unknown): void;
}

/** One step of a call's batch: an unnamed statement and its bound values. */
interface BatchStep {
  readonly text: string;
  readonly values: readonly unknown[];
}

type Message<M extends 'parse' | 'bind' | 'execute'> = Parameters<Connection[M]>[0];

/**
 * A bound value as node-postgres writes it, except dates: pg writes a Date's milliseconds only, in the
 * process's time zone; a date-time parameter is sent as its RFC 3339 text in UTC with every digit of its
 * fraction (`DateTimeValue.toISOString`), which the server reads to the microsecond.
 */
function bindValue(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : pgInternals.utils.prepareValue(value);
}

/**
 * One call's steps as a node-postgres submittable: Parse, Bind and Execute per step (and Describe for the
 * step whose rows are the answer), then one Sync. The client hands the server's answers to it; it settles
 * with the first error (the server then skips to the Sync, which rolls back) or, at ReadyForQuery, with the
 * rows and command tag of the answering step.
 */
class CallBatch {
  private step = 0;
  private readonly result = new pgInternals.Result(undefined, typeParsers);
  private settled = false;

  constructor(
    private readonly steps: readonly BatchStep[],
    private readonly answering: number,
    private readonly done: (error: Error | undefined, result: PgResult) => void,
  ) {}

  submit(connection: Connection): void {
    const stream = connection.stream as { cork?: () => void; uncork?: () => void };
    // node-postgres writes each message on its own: corked, they leave in one write (one TLS record).
    stream.cork?.();
    try {
      this.steps.forEach((s, i) => {
        connection.parse({ name: '', text: s.text, types: [] }, false);
        connection.bind({ values: s.values, valueMapper: bindValue } as unknown as Message<'bind'>, false);
        if (i === this.answering) connection.describe({ type: 'P', name: '' }, false);
        connection.execute({ portal: '', rows: 0 } as unknown as Message<'execute'>, false);
      });
      connection.sync();
    } finally {
      stream.uncork?.();
    }
  }

  handleRowDescription(message: { fields: unknown[] }): void {
    if (this.step === this.answering) this.result.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }): void {
    if (this.step !== this.answering || this.settled) return;
    try {
      this.result.rows.push(this.result.parseRow(message.fields));
    } catch (e) {
      this.settle(e as Error);
    }
  }

  handleCommandComplete(message: unknown): void {
    if (this.step === this.answering) this.result.addCommandComplete(message);
    this.step++;
  }

  handleEmptyQuery(): void {
    this.step++;
  }

  handlePortalSuspended(): void {
    // Every Execute asks for all rows: a portal is never suspended.
  }

  handleCopyInResponse(connection: { sendCopyFail?: (message: string) => void }): void {
    connection.sendCopyFail?.('COPY is not supported');
  }

  handleCopyData(): void {
    // No COPY is ever started.
  }

  /** The server's error (it then skips to the Sync, which rolls back), or the socket's. */
  handleError(error: Error): void {
    this.settle(error);
  }

  handleReadyForQuery(): void {
    this.settle(undefined);
  }

  private settle(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.done(error, this.result);
  }
}

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
      // Transaction-local settings as bound values; the timeout is an integer from validated configuration.
      const values: string[] = [String(Math.trunc(st.timeoutMs))];
      const settings = ["set_config('statement_timeout', $1, true)"];
      if (st.access === 'read') settings.push("set_config('transaction_read_only', 'on', true)");
      // Claims for row-level security policies: bound values, gone at the end of the transaction.
      for (const [name, value] of Object.entries(st.settings ?? {})) {
        settings.push(`set_config($${values.length + 1}, $${values.length + 2}, true)`);
        values.push(name, value);
      }
      const text = st.access === 'read'
        // The limit is applied by the server: at most rowLimit + 1 rows are produced and sent.
        ? `SELECT * FROM (\n${st.text}\n) AS secure_db_api_result LIMIT ${Math.trunc(st.rowLimit) + 1}`
        : st.text;
      const r = await new Promise<PgResult>((resolve, reject) => {
        this.client.query(new CallBatch([{ text: `SELECT ${settings.join(', ')}`, values }, { text, values: st.values }], 1, (error, result) => {
          if (!error) {
            resolve(result);
            return;
          }
          // A client that was already unusable sent nothing: the caller may repeat even a write.
          if (/not queryable/.test(error.message ?? '')) Object.assign(error, { statementNotSent: true });
          reject(error);
        }));
      });
      const rows = r.rows;
      return {
        rows: rows.slice(0, st.rowLimit).map(jsonSafeRow),
        truncated: rows.length > st.rowLimit,
        ...(st.access === 'write' ? { affectedRows: r.rowCount ?? 0 } : {}),
      };
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
