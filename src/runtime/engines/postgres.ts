/**
 * PostgreSQL through node-postgres. Each call is one short transaction sent as one batch of
 * extended-protocol messages with a single Sync at the end: written at once (one buffer, one TCP write;
 * what is the same for every call of a query is serialized once) and answered
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
import { serialize } from 'pg-protocol';
import { armDeadline } from './deadline';
import { ClientTimeoutError, ConnectOptions, DatabaseEngine, DbErrorClass, EngineConnection, isNetworkError, jsonSafeRow, Statement, StatementResult } from './engine';
import { batchMessages, WireValue } from './postgres-messages';

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
  /** A value as text, a Buffer (binary) or null: what the Bind message carries. */
  readonly utils: { prepareValue(value: unknown): WireValue };
  readonly Result: new (rowMode: undefined, types: typeof typeParsers) => PgResult;
}
// The module object itself: bundled, pg's ESM wrapper exports it as the default only.
const pgInternals = (pg as unknown as { default?: PgInternals }).default ?? (pg as unknown as PgInternals);

interface PgResult extends QueryResult<Record<string, unknown>> {
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): Record<string, unknown>;
  addCommandComplete(message: unknown): void;
}

/** The first step of every call: the transaction-local settings, as a statement of its own (its row is not read). */
interface SettingsStep {
  /** Parse, Bind and Execute of the settings statement when it binds no value: the same for every call. */
  readonly fixed?: Buffer;
  /** Otherwise its Parse (the same for every call), followed by a Bind of `values` and an Execute. */
  readonly parse?: Buffer;
  readonly values?: readonly string[];
}

/** Execute of the unnamed portal, all rows (pg-protocol's own message). */
const EXECUTE = serialize.execute({ portal: '', rows: 0 });
/** Describe of the unnamed portal, then Execute and the Sync that ends the call's transaction. */
const DESCRIBE_EXECUTE_SYNC = Buffer.concat([serialize.describe({ type: 'P', name: '' }), EXECUTE, serialize.sync()]);

/**
 * A bound value as node-postgres writes it, except dates: pg writes a Date's milliseconds only, in the
 * process's time zone; a date-time parameter is sent as its RFC 3339 text in UTC with every digit of its
 * fraction (`DateTimeValue.toISOString`), which the server reads to the microsecond.
 */
function bindValue(value: unknown): WireValue {
  return value instanceof Date ? value.toISOString() : pgInternals.utils.prepareValue(value);
}

/**
 * One call's batch as a node-postgres submittable: Parse, Bind and Execute of the settings statement, then
 * Parse, Bind, Describe and Execute of the call's statement (the answering step), then one Sync, written as
 * one buffer. The client hands the server's answers to it; it settles with the first error (the server
 * then skips to the Sync, which rolls back) or, at ReadyForQuery, with the rows and command tag of the
 * answering step.
 */
class CallBatch {
  private step = 0;
  /** Made when the answer arrives, not before the batch is written. */
  private answer?: PgResult;
  private settled = false;
  private readonly answering = 1;

  constructor(
    private readonly settings: SettingsStep,
    private readonly text: string,
    private readonly values: readonly unknown[],
    private readonly done: (error: Error | undefined, result: PgResult) => void,
  ) {}

  /** Writes the batch; returns (node-postgres' contract) the error of a value that cannot be bound, having written nothing. */
  submit(connection: Connection): Error | undefined {
    const s = this.settings;
    let batch: Buffer;
    try {
      const head = s.fixed ?? Buffer.concat([s.parse as Buffer, serialize.bind({ values: s.values as string[] }), EXECUTE]);
      batch = batchMessages(head, this.text, this.values.map(bindValue), DESCRIBE_EXECUTE_SYNC);
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
    // As node-postgres' own writes: nothing is written on a stream that is no longer writable.
    const stream = connection.stream as { writable?: boolean; write(b: Buffer): boolean };
    if (stream.writable) stream.write(batch);
    return undefined;
  }

  private get result(): PgResult {
    this.answer ??= new pgInternals.Result(undefined, typeParsers);
    return this.answer;
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

  /** Settles with `error` (the client's deadline passed); what the server still answers is ignored. */
  abandon(error: Error): void {
    this.settle(error);
  }

  private settle(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.done(error, this.result);
  }
}

/** The settings steps that bind no value, per access level and timeout (a fixed set: the configuration's queries). */
const fixedSettings = { read: new Map<number, SettingsStep>(), write: new Map<number, SettingsStep>() };
/** The Parse of a settings statement with claims, per access level, timeout and number of settings. */
const settingsParses = new Map<string, Buffer>();

/** The settings statement: `set_config(..., true)` of the timeout (a literal), read-only for reads, then `count` bound settings. */
function settingsText(access: Statement['access'], timeout: string, count: number): string {
  const settings = [`set_config('statement_timeout', '${timeout}', true)`];
  if (access === 'read') settings.push("set_config('transaction_read_only', 'on', true)");
  for (let i = 0; i < count; i++) settings.push(`set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
  return `SELECT ${settings.join(', ')}`;
}

/**
 * The settings step of a statement: `set_config(..., true)` (transaction-local) of its `statement_timeout`
 * (an integer from the validated configuration, written as a literal) and, for reads,
 * `transaction_read_only`; claims for row-level security policies are bound values (names included).
 */
function settingsStep(st: Statement): SettingsStep {
  const names = st.settings ? Object.keys(st.settings) : undefined;
  if (!names || names.length === 0) {
    const cache = st.access === 'read' ? fixedSettings.read : fixedSettings.write;
    let fixed = cache.get(st.timeoutMs);
    if (!fixed) {
      const text = settingsText(st.access, String(Math.trunc(st.timeoutMs)), 0);
      fixed = { fixed: Buffer.concat([serialize.parse({ name: '', text, types: [] }), serialize.bind({ values: [] }), EXECUTE]) };
      cache.set(st.timeoutMs, fixed);
    }
    return fixed;
  }
  const timeout = String(Math.trunc(st.timeoutMs));
  const key = `${st.access}\u0000${timeout}\u0000${names.length}`;
  let parse = settingsParses.get(key);
  if (!parse) {
    parse = serialize.parse({ name: '', text: settingsText(st.access, timeout, names.length), types: [] });
    settingsParses.set(key, parse);
  }
  const settings = st.settings ?? {};
  return { parse, values: names.flatMap((n) => [n, settings[n]]) };
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

  /**
   * One call's batch, with a client-side deadline a little after the server-side statement timeout (the
   * server normally cancels first; if it does not answer in time, the connection is discarded and the
   * batch's late outcome ignored). One promise and one timer per call.
   */
  run(st: Statement): Promise<StatementResult> {
    if (this.broken) {
      return Promise.reject(Object.assign(new Error('Client has encountered a connection error and is not queryable'), { statementNotSent: true }));
    }
    const text = st.access === 'read'
      // The limit is applied by the server: at most rowLimit + 1 rows are produced and sent.
      ? `SELECT * FROM (\n${st.text}\n) AS secure_db_api_result LIMIT ${Math.trunc(st.rowLimit) + 1}`
      : st.text;
    return new Promise<StatementResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const batch = new CallBatch(settingsStep(st), text, st.values, (error, r) => {
        settled = true;
        clearTimeout(timer);
        if (error) {
          // A client that was already unusable sent nothing: the caller may repeat even a write.
          if (/not queryable/.test(error.message ?? '')) Object.assign(error, { statementNotSent: true });
          reject(error);
          return;
        }
        const truncated = r.rows.length > st.rowLimit;
        const rows = truncated ? r.rows.slice(0, st.rowLimit) : r.rows;
        // In place: the result's own array (or its copy) is nobody else's.
        for (let i = 0; i < rows.length; i++) rows[i] = jsonSafeRow(rows[i]);
        resolve({
          rows,
          truncated,
          ...(st.access === 'write' ? { affectedRows: r.rowCount ?? 0 } : {}),
        });
      });
      this.client.query(batch);
      // Armed once the batch is written: while the server works, not before it has the statement.
      if (!settled) {
        timer = armDeadline(st.timeoutMs, (error) => {
          // Answered first: the abandoned connection's error then finds the batch settled.
          batch.abandon(error);
          this.abandon();
        });
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
