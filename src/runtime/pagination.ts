/**
 * Opt-in keyset pagination of list (read, non-`single`) queries.
 *
 * A paged query's SQL runs as a subquery, filtered by the keyset predicate on the cursor's values, ordered
 * by the declared columns and limited to `limit + 1` rows (the extra row says whether a next page exists).
 * The predicate is written in its expanded form, `(a > x) OR (a = x AND b < y)`, so mixed directions work on
 * every engine; the values are bound (PostgreSQL) or written by the safe literal path (MySQL/MariaDB), never
 * concatenated. NULL sorts before every value on every engine (`ASC NULLS FIRST`, `DESC NULLS LAST`, which
 * MySQL and MariaDB do by default), and the predicate treats it the same way, so no row is skipped or repeated.
 *
 * The cursor is opaque base64url: a version byte, the JSON payload (the ordering values, the query's name,
 * hashes of the request's other parameter values and of the caller, the issue time) and an HMAC-SHA256 of
 * both. Any cursor that is not exactly one this API issued for this query, these parameter values and this
 * caller within its lifetime is refused with a 400 `invalid-cursor` problem saying why.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { Problem } from './problem';
import type { ColumnType, PaginationConfig, PreparedQuery } from '../shared/config';
import { MAX_CURSOR_CHARS } from '../shared/pagination';
import type { BoundValue } from '../shared/params';

/** The runtime's cursor format. A cursor of another version is refused. */
export const CURSOR_VERSION = 1;
/** A cursor issued this far in the future (clock skew between instances) is still accepted. */
const CLOCK_SKEW_SECONDS = 300;
const MAC_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** A value in a cursor: what a JSON row holds in an ordering column. */
export type CursorValue = string | number | boolean | null;

/** What a cursor says, once verified. */
interface CursorPayload {
  /** The query's name. */
  readonly q: string;
  /** Hash of the request's other parameter values. */
  readonly p: string;
  /** Hash of the caller. */
  readonly c: string;
  /** Issue time, epoch seconds. */
  readonly t: number;
  /** The ordering values of the last row of the page. */
  readonly k: readonly CursorValue[];
}

/** What a cursor is checked against: the query, the request's other parameter values, the caller, the time. */
export interface CursorContext {
  readonly query: PreparedQuery;
  readonly values: Readonly<Record<string, BoundValue>>;
  readonly principal: string;
  /** Epoch seconds; default now. */
  readonly now?: number;
}

/** The query's pagination: only paged queries reach the functions below. */
function paginationOf(query: PreparedQuery): PaginationConfig {
  if (!query.pagination) throw new Error(`query "${query.name}" is not paged`);
  return query.pagination;
}

function invalid(reason: string, name: string): Problem {
  return new Problem('invalid-cursor', `The cursor ${reason}`, { errors: [{ name, in: 'query', reason }] });
}

function digest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest().subarray(0, 16).toString('base64url');
}

/** The request's parameter values in a canonical form (names sorted; dates as RFC 3339). */
function parametersHash(query: PreparedQuery, values: Readonly<Record<string, BoundValue>>): string {
  const entries = query.parameters.map((p) => p.name).sort().map((name) => {
    const v = values[name];
    return [name, v instanceof Date ? v.toISOString() : v ?? null];
  });
  return digest(JSON.stringify(entries));
}

function mac(key: Uint8Array, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * The page statement also selects each ordering column as the database writes it as text (`HIDDEN_PREFIX<i>`),
 * which the handler takes out of the rows: a driver's value can be less exact than the column (a JavaScript
 * Date holds milliseconds, a timestamp microseconds), and a cursor value that is not exactly the row's would
 * skip or repeat rows.
 */
export const HIDDEN_PREFIX = 'secure_db_api_k';

/**
 * The ordering values of a row, as a cursor carries them: numbers, booleans and NULL as the driver read them
 * (exact in JSON), every other value as the database's own text of it. Undefined when a value is neither (a
 * JSON document).
 */
export function orderingValues(query: PreparedQuery, row: Readonly<Record<string, unknown>>): CursorValue[] | undefined {
  const out: CursorValue[] = [];
  for (const [i, o] of paginationOf(query).orderBy.entries()) {
    const v = row[o.column];
    const text = row[`${HIDDEN_PREFIX}${i}`];
    if (v === null || v === undefined) out.push(null);
    else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out.push(v);
    else if (typeof v === 'string') out.push(typeof text === 'string' ? text : v);
    else return undefined;
  }
  return out;
}

/** A row without the page statement's hidden ordering texts. */
export function withoutHidden(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in row) if (!k.startsWith(HIDDEN_PREFIX)) out[k] = row[k];
  return out;
}

/** A cursor for the page after `row`. */
export function issueCursor(key: Uint8Array, ctx: CursorContext, row: Readonly<Record<string, unknown>>): string {
  const k = orderingValues(ctx.query, row);
  if (!k) throw new Error(`query "${ctx.query.name}": an ordering column holds a value a cursor cannot carry (only text, numbers, booleans, dates and NULL)`);
  const payload: CursorPayload = {
    q: ctx.query.name,
    p: parametersHash(ctx.query, ctx.values),
    c: digest(ctx.principal),
    t: ctx.now ?? Math.floor(Date.now() / 1000),
    k,
  };
  const body = Buffer.concat([Buffer.from([CURSOR_VERSION]), Buffer.from(JSON.stringify(payload), 'utf8')]);
  const cursor = Buffer.concat([body, mac(key, body)]).toString('base64url');
  // Never issue a cursor that would be refused when it comes back.
  if (cursor.length > MAX_CURSOR_CHARS) throw new Error(`query "${ctx.query.name}": the ordering values of a row need a cursor longer than ${MAX_CURSOR_CHARS} characters; order by shorter columns`);
  return cursor;
}

/**
 * The ordering values of a cursor, verified; throws a 400 `invalid-cursor` Problem naming what is wrong.
 * `name` is what the caller called it (`cursor` on REST, `after` on GraphQL).
 */
export function readCursor(key: Uint8Array, ctx: CursorContext, cursor: unknown, name = 'cursor'): CursorValue[] {
  if (typeof cursor !== 'string' || cursor === '') throw invalid('must be a non-empty string', name);
  if (cursor.length > MAX_CURSOR_CHARS) throw invalid(`is longer than ${MAX_CURSOR_CHARS} characters`, name);
  if (!BASE64URL.test(cursor)) throw invalid('is not base64url text', name);
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length < 1 + 2 + MAC_BYTES) throw invalid('is too short to be one this API issued', name);
  if (bytes[0] !== CURSOR_VERSION) throw invalid(`has a format version this API does not read (${bytes[0]})`, name);
  const body = bytes.subarray(0, bytes.length - MAC_BYTES);
  const expected = mac(key, body);
  if (!timingSafeEqual(expected, bytes.subarray(bytes.length - MAC_BYTES))) throw invalid('was not issued by this API, or was altered', name);
  let payload: CursorPayload;
  try {
    payload = JSON.parse(body.subarray(1).toString('utf8')) as CursorPayload;
  } catch {
    throw invalid('is not a cursor of this API', name);
  }
  if (payload === null || typeof payload !== 'object' || typeof payload.q !== 'string' || typeof payload.p !== 'string'
    || typeof payload.c !== 'string' || !Number.isSafeInteger(payload.t) || !Array.isArray(payload.k)) {
    throw invalid('is not a cursor of this API', name);
  }
  const query = ctx.query;
  if (payload.q !== query.name) throw invalid('belongs to another query', name);
  if (payload.p !== parametersHash(query, ctx.values)) throw invalid('was issued for other parameter values: repeat the first request\'s parameters with it', name);
  if (payload.c !== digest(ctx.principal)) throw invalid('was issued to another caller', name);
  const now = ctx.now ?? Math.floor(Date.now() / 1000);
  const lifetime = paginationOf(query).cursorLifetimeSeconds;
  if (payload.t > now + CLOCK_SKEW_SECONDS) throw invalid('was issued in the future', name);
  if (payload.t + lifetime < now) throw invalid(`has expired (cursors last ${lifetime} seconds): start again from the first page`, name);
  const orderBy = paginationOf(query).orderBy;
  if (payload.k.length !== orderBy.length) throw invalid('does not fit this query\'s ordering', name);
  for (const v of payload.k) {
    if (!(v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))) {
      throw invalid('does not fit this query\'s ordering', name);
    }
  }
  return [...payload.k];
}

/** The page size a request asks for: 1 to the row limit, the row limit when absent. Throws a 400 validation Problem. */
export function pageLimit(query: PreparedQuery, raw: unknown, fromText: boolean, name = 'limit', where: 'query' | 'body' = 'query'): number {
  if (raw === undefined || raw === null) return query.rowLimit;
  let n: number | undefined;
  if (typeof raw === 'number') n = raw;
  else if (fromText && typeof raw === 'string' && /^-?(?:0|[1-9][0-9]{0,15})$/.test(raw)) n = Number(raw);
  if (n === undefined || !Number.isSafeInteger(n) || n < 1 || n > query.rowLimit) {
    const reason = `must be a whole number from 1 to ${query.rowLimit}`;
    throw new Problem('validation', '1 parameter is invalid', { errors: [{ name, in: where, reason }] });
  }
  return n;
}

/** The SQL of one page, to run instead of the query's own. */
export interface PageStatement {
  readonly text: string;
  readonly values: BoundValue[];
  readonly placeholders: number[];
  /** The page size: the engine fetches one row more, which says whether a next page exists. */
  readonly rowLimit: number;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The statement of one page: the query's compiled SQL as a subquery, after the row with `after` (the
 * cursor's values) when given, ordered by the declared columns, `limit + 1` rows.
 */
export function pageStatement(query: PreparedQuery, dialect: 'postgres' | 'mysql', values: readonly BoundValue[], limit: number, after?: readonly CursorValue[]): PageStatement {
  const orderBy = paginationOf(query).orderBy;
  const ident = (c: string) => (dialect === 'postgres' ? `"${c}"` : `\`${c}\``);
  // Each ordering column also as exact text, next to the row (see HIDDEN_PREFIX).
  const texts = orderBy.map((o, i) => {
    const col = `secure_db_api_page.${ident(o.column)}`;
    return `${dialect === 'postgres' ? `${col}::text` : `CAST(${col} AS CHAR)`} AS ${HIDDEN_PREFIX}${i}`;
  });
  const head = `SELECT secure_db_api_page.*, ${texts.join(', ')} FROM (\n`;
  const bound: BoundValue[] = [...values];
  const placeholders = query.compiled.placeholders.map((at) => at + head.length);
  let text = `${head}${query.compiled.text}\n) AS secure_db_api_page`;
  const types = new Map<string, ColumnType>((query.columns ?? []).map((c) => [c.name, c.type]));
  /** PostgreSQL: each cursor value's number, once bound. */
  const numbers = new Map<number, string>();
  /** The placeholder of the cursor's value `i`, appended to `text` (MySQL: its offset recorded). */
  const value = (i: number): string => {
    const known = numbers.get(i);
    if (known) return known;
    let v: BoundValue = after![i];
    // MySQL reads date-time columns as UTC Dates; as a literal they are written back in the server's form.
    if (dialect === 'mysql' && typeof v === 'string' && types.get(orderBy[i].column) === 'date-time' && ISO_UTC.test(v)) v = new Date(v);
    bound.push(v);
    if (dialect === 'postgres') {
      numbers.set(i, `$${bound.length}`);
      return `$${bound.length}`;
    }
    placeholders.push(text.length);
    return '?';
  };
  if (after) {
    text += '\nWHERE ';
    let first = true;
    orderBy.forEach((o, i) => {
      // Rows after the cursor in column i, the columns before it equal. NULL sorts before every value.
      const isNull = after[i] === null;
      if (o.descending && isNull) return;
      text += first ? '(' : ' OR (';
      first = false;
      for (let j = 0; j < i; j++) {
        const col = `secure_db_api_page.${ident(orderBy[j].column)}`;
        if (after[j] === null) {
          text += `${col} IS NULL AND `;
        } else {
          text += `${col} = `;
          text += value(j);
          text += ' AND ';
        }
      }
      const col = `secure_db_api_page.${ident(o.column)}`;
      if (isNull) {
        text += `${col} IS NOT NULL`;
      } else {
        text += `(${col} ${o.descending ? '<' : '>'} `;
        text += value(i);
        text += o.descending ? ` OR ${col} IS NULL)` : ')';
      }
      text += ')';
    });
    if (first) text += '1 = 0';
  }
  text += `\nORDER BY ${orderBy.map((o) => `${ident(o.column)}${o.descending ? ' DESC' : ' ASC'}${dialect === 'postgres' ? (o.descending ? ' NULLS LAST' : ' NULLS FIRST') : ''}`).join(', ')}`;
  text += `\nLIMIT ${Math.trunc(limit) + 1}`;
  return { text, values: bound, placeholders, rowLimit: limit };
}
