/** What the handler needs from a database driver. One implementation per engine family. */
import { AccessLevel } from '../../shared/config';
import type { CompiledSql } from '../../shared/named-parameters';
import { BoundValue } from '../../shared/params';
import { DbCredentials } from '../credentials';

export interface TlsOptions {
  /** PEM text of extra trusted CAs; the platform's trust store is used otherwise. */
  readonly ca?: string;
  readonly servername?: string;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly credentials: DbCredentials;
  /** IAM tokens on MySQL/MariaDB are sent with the cleartext plugin (only ever over TLS). */
  readonly iamAuth: boolean;
  /** undefined: no TLS (local development only). */
  readonly tls: TlsOptions | undefined;
  readonly connectTimeoutMs: number;
}

export interface Statement {
  readonly text: string;
  readonly values: readonly BoundValue[];
  /** MySQL/MariaDB: offsets of the `?` placeholders in `text` ({@link CompiledSql.placeholders}). */
  readonly placeholders?: readonly number[];
  readonly access: AccessLevel;
  readonly rowLimit: number;
  readonly timeoutMs: number;
  /** Transaction-local settings (PostgreSQL `set_config(name, value, true)`), e.g. claims for row-level security. */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface StatementResult {
  readonly rows: Record<string, unknown>[];
  /** More rows existed than the limit allowed. */
  readonly truncated: boolean;
  /** For writes: rows the statement changed. */
  readonly affectedRows?: number;
}

export interface EngineConnection {
  /** True once the connection failed or was closed; it is then replaced. */
  readonly broken: boolean;
  run(statement: Statement): Promise<StatementResult>;
  close(): Promise<void>;
}

/** How a driver error is answered. */
export type DbErrorClass =
  /** statement timeout: 504 */
  | 'timeout'
  /** cannot reach the database or the connection broke: 503, retry */
  | 'connection'
  /** credentials refused: re-read them once, then 503 */
  | 'auth'
  /** unique / foreign key / exclusion violation: 409 */
  | 'conflict'
  /** the database rejected a value (too long, out of range, not null, check): 400 */
  | 'data'
  /** anything else (permissions, syntax): 500, logged */
  | 'internal';

export interface DatabaseEngine {
  readonly name: string;
  connect(options: ConnectOptions): Promise<EngineConnection>;
  classify(error: unknown): DbErrorClass;
}

/** Error the engines raise when their own client-side deadline passes. */
export class ClientTimeoutError extends Error {
  readonly code = 'CLIENT_STATEMENT_TIMEOUT';
  constructor() {
    super('statement exceeded its timeout; connection discarded');
    this.name = 'ClientTimeoutError';
  }
}

/** Grace the server gets to cancel a statement itself before the client gives up on the connection. */
export const CLIENT_TIMEOUT_GRACE_MS = 1000;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** Errors from the socket layer, common to all drivers. */
export function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** Values JSON carries as they are (numbers that are not finite become null, as JSON.stringify writes them). */
function plain(v: unknown): boolean {
  const t = typeof v;
  return v === null || t === 'string' || t === 'number' || t === 'boolean';
}

/**
 * A result row as JSON can carry it: the row itself when every value is already plain (the common case,
 * no copy), otherwise a copy with each value made safe.
 */
export function jsonSafeRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const k in row) {
    if (!plain(row[k])) return jsonSafe(row) as Record<string, unknown>;
  }
  return row;
}

/** Turns driver values into what JSON can carry without loss. */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}
