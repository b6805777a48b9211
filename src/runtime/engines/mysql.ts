/**
 * MySQL and MariaDB through mysql2. Statements go over the text protocol (server-side prepared
 * statements would pin RDS Proxy sessions) with values written as literals that no `sql_mode` or
 * character set can change the meaning of (`mysql-literal.ts`), never with mysql2's escaping. The timeout
 * is per statement (`SET STATEMENT max_statement_time=… FOR` on MariaDB, the `MAX_EXECUTION_TIME`
 * hint for MySQL SELECTs), rows beyond the limit are dropped as they stream in, and nothing
 * session-level is ever SET.
 */
import { Connection, createConnection, ResultSetHeader } from 'mysql2';
import { armDeadline } from './deadline';
import { ClientTimeoutError, ConnectOptions, DatabaseEngine, DbErrorClass, EngineConnection, isNetworkError, jsonSafeRow, Statement, StatementResult } from './engine';
import { bindMysqlValues } from './mysql-literal';

export type MysqlFlavor = 'mysql' | 'mariadb';

/** Adds the per-statement server-side timeout to SQL text (integer from configuration only). */
export function withServerTimeout(flavor: MysqlFlavor, sql: string, timeoutMs: number, access: 'read' | 'write'): string {
  const ms = Math.max(1, Math.trunc(timeoutMs));
  if (flavor === 'mariadb') return `SET STATEMENT max_statement_time=${(ms / 1000).toFixed(3)} FOR ${sql}`;
  // MySQL only bounds SELECT statements server-side; others rely on the client-side deadline.
  const m = /^(\s*)(select)\b/i.exec(sql);
  if (access === 'read' && m) return `${m[1]}${m[2]} /*+ MAX_EXECUTION_TIME(${ms}) */${sql.slice(m[0].length)}`;
  return sql;
}

class MysqlConnection implements EngineConnection {
  broken = false;
  /** The statements running on the connection: its own error or end fails each of them. */
  private readonly running = new Set<(err: Error) => void>();

  constructor(private readonly conn: Connection, private readonly flavor: MysqlFlavor) {
    // mysql2 reports a connection that dies under a callback-less query only on the connection itself.
    conn.on('error', (err: Error & { code?: string }) => {
      this.broken = true;
      for (const fail of [...this.running]) fail(markNotSent(err));
    });
    conn.on('end', () => {
      this.broken = true;
      for (const fail of [...this.running]) fail(Object.assign(new Error('connection lost'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }));
    });
  }

  /**
   * One statement, with a client-side deadline a little after the server-side timeout (the server normally
   * cancels first; if it does not answer in time, the connection is discarded and the late outcome ignored),
   * armed once the statement is written. One promise and one timer per call.
   */
  run(st: Statement): Promise<StatementResult> {
    if (this.broken) {
      return Promise.reject(Object.assign(new Error('connection already closed'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true, statementNotSent: true }));
    }
    // Bound before the timeout prefix is added: the placeholder offsets are those of `st.text`.
    const sql = withServerTimeout(this.flavor, bindMysqlValues(st.text, st.placeholders ?? [], st.values), st.timeoutMs, st.access);
    return new Promise<StatementResult>((resolve, reject) => {
      const rows: Record<string, unknown>[] = [];
      let seen = 0;
      let affectedRows: number | undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(fail);
        f();
      };
      const fail = (err: Error) => finish(() => reject(err));
      this.running.add(fail);
      const q = this.conn.query({ sql });
      q.on('error', (err: Error & { code?: string }) => fail(markNotSent(err)));
      // mysql2 announces each result with 'fields': the column list before rows, undefined before an OK
      // packet (a ResultSetHeader). Class names do not survive minification, so they are never compared.
      let okPacketNext = false;
      q.on('fields', (fields: unknown) => {
        okPacketNext = fields === undefined;
      });
      q.on('result', (row: unknown) => {
        if (okPacketNext) {
          affectedRows = (affectedRows ?? 0) + (row as ResultSetHeader).affectedRows;
          return;
        }
        seen++;
        if (rows.length < st.rowLimit) rows.push(jsonSafeRow(row as Record<string, unknown>));
      });
      q.on('end', () => finish(() => resolve({ rows, truncated: seen > st.rowLimit, ...(st.access === 'write' ? { affectedRows: affectedRows ?? 0 } : {}) })));
      if (!settled) {
        timer = armDeadline(st.timeoutMs, (error) => {
          // Answered first: the abandoned connection's error then finds the statement settled.
          fail(error);
          this.abandon();
        });
      }
    });
  }

  private abandon(): void {
    this.broken = true;
    this.conn.destroy();
  }

  async close(): Promise<void> {
    this.broken = true;
    await new Promise<void>((resolve) => this.conn.end(() => resolve()));
  }
}

/**
 * Errors that prove the statement never reached the server: the socket refused the write (EPIPE), or
 * mysql2 refused to queue it behind a fatal error. The caller may then repeat even a write.
 */
function markNotSent<E extends Error & { code?: string }>(err: E): E {
  if (err.code === 'EPIPE' || err.code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR' || err.code === 'PROTOCOL_ENQUEUE_AFTER_QUIT') {
    Object.assign(err, { statementNotSent: true });
  }
  return err;
}

const TIMEOUT_ERRNOS = new Set([1969, 3024, 1317]);
const CONNECTION_ERRNOS = new Set([1040, 1053, 1077, 1129, 1152, 1153, 1159, 1161, 1184, 1927, 2002, 2003, 2006, 2013, 4031]);
const CONNECTION_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT', 'ER_CON_COUNT_ERROR', 'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT']);
const CONFLICT_ERRNOS = new Set([1062, 1451, 1452, 1586]);
const DATA_ERRNOS = new Set([1048, 1264, 1265, 1292, 1366, 1406, 1411, 3819, 4025, 1690]);

export function mysqlEngine(flavor: MysqlFlavor): DatabaseEngine {
  return {
    name: flavor,

    connect(o: ConnectOptions): Promise<EngineConnection> {
      const password = o.credentials.password;
      return new Promise((resolve, reject) => {
        const conn = createConnection({
          host: o.host,
          port: o.port,
          database: o.database,
          user: o.credentials.user,
          password,
          // mysql2 checks the host name only with verifyIdentity; it always verifies against `host`.
          ssl: o.tls ? { rejectUnauthorized: true, verifyIdentity: true, ca: o.tls.ca } : undefined,
          connectTimeout: o.connectTimeoutMs,
          // Exact values: big integers and decimals as strings, DATE as written, DATETIME/TIMESTAMP as UTC.
          supportBigNumbers: true,
          bigNumberStrings: true,
          dateStrings: ['DATE'],
          timezone: 'Z',
          charset: 'utf8mb4_unicode_ci',
          multipleStatements: false,
          // RDS IAM authentication asks for the cleartext plugin; it is only enabled for tokens, over TLS.
          ...(o.iamAuth ? { authPlugins: { mysql_clear_password: () => () => Buffer.from(`${password}\0`) } } : {}),
        });
        const onError = (err: Error) => {
          conn.destroy();
          reject(err);
        };
        conn.once('error', onError);
        conn.once('connect', () => {
          conn.removeListener('error', onError);
          resolve(new MysqlConnection(conn, flavor));
        });
      });
    },

    classify(error: unknown): DbErrorClass {
      if (error instanceof ClientTimeoutError) return 'timeout';
      const e = error as { errno?: unknown; code?: unknown; fatal?: unknown } | undefined;
      const errno = typeof e?.errno === 'number' ? e.errno : undefined;
      if (errno !== undefined) {
        if (TIMEOUT_ERRNOS.has(errno)) return 'timeout';
        if (errno === 1045 || errno === 1044 || errno === 1698) return 'auth';
        if (CONNECTION_ERRNOS.has(errno)) return 'connection';
        if (CONFLICT_ERRNOS.has(errno)) return 'conflict';
        if (DATA_ERRNOS.has(errno)) return 'data';
      }
      if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return 'connection';
      if (isNetworkError(error)) return 'connection';
      if (typeof e?.code === 'string' && /CERT|SELF_SIGNED|ERR_TLS|UNABLE_TO/.test(e.code)) return 'connection';
      if (e?.fatal === true) return 'connection';
      return 'internal';
    },
  };
}
