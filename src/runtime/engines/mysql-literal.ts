/**
 * Values written into MySQL/MariaDB statement text as literals whose meaning no server setting can
 * change. Statements go over the text protocol (server-side prepared statements would pin RDS Proxy
 * sessions), so values are encoded on the client; mysql2's own escaping writes a quote as `\'`, which
 * under `sql_mode=NO_BACKSLASH_ESCAPES` ends the literal. Here:
 *
 * - a quote is doubled (`''`), which every mode reads as one quote;
 * - a backslash is never written as an escape: it comes from `SUBSTRING('\\', 1, 1)`, one backslash
 *   whether the server reads `'\\'` as one backslash (default) or two (NO_BACKSLASH_ESCAPES);
 * - strings stay plain string literals (no introducer), so they keep the connection's collation and
 *   compare with columns exactly as a bound value would;
 * - the only bytes this code writes next to a value's bytes are `'`, `,` and ASCII letters, none of which
 *   is a trail byte in any multi-byte character set MySQL knows (gbk, big5, sjis, cp932, gb18030), so a
 *   connection character set forced by the server cannot make the closing quote part of a character.
 *
 * `ANSI_QUOTES` does not matter (only single quotes are written), nor does `PIPES_AS_CONCAT` (CONCAT()).
 */
import type { BoundValue } from '../../shared/params';

const QUOTE = /'/g;

/** One string as a literal (see the module comment). */
function stringLiteral(s: string): string {
  const quoted = (part: string) => `'${part.replace(QUOTE, "''")}'`;
  if (!s.includes('\\')) return quoted(s);
  return `CONCAT(${s.split('\\').map(quoted).join(", SUBSTRING('\\\\', 1, 1), ")})`;
}

const ISO_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}\.\d{3,9})Z$/;

/**
 * A UTC date-time literal (the connection's time zone is UTC); only digits, `-`, `:`, `.` and a space. Every
 * digit of the fraction a date-time parameter was given is kept (`DateTimeValue.toISOString`): the server
 * stores what its column holds (DATETIME(6): microseconds).
 */
function dateLiteral(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('cannot bind an invalid date');
  const m = ISO_UTC.exec(d.toISOString());
  if (!m) throw new TypeError('cannot bind a date outside the years 0000-9999');
  return `'${m[1]} ${m[2]}'`;
}

/** One bound value as a MySQL/MariaDB literal. */
export function mysqlLiteral(value: BoundValue): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return stringLiteral(value);
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('cannot bind a number that is not finite');
      // A space first: `x-?` with -1 must not read as `x--1` (a comment in some dialects' eyes).
      return value < 0 ? ` ${String(value)}` : String(value);
    default:
      return dateLiteral(value);
  }
}

/**
 * The statement text with each placeholder replaced by its value's literal. `placeholders` are the
 * offsets of the `?` placeholders in `text` (from the SQL compiler, which knows which `?` are
 * placeholders and which sit in the SQL's own literals and comments).
 */
export function bindMysqlValues(text: string, placeholders: readonly number[], values: readonly BoundValue[]): string {
  if (placeholders.length !== values.length) {
    throw new Error(`statement has ${placeholders.length} placeholders but ${values.length} values`);
  }
  let out = '';
  let from = 0;
  placeholders.forEach((at, i) => {
    if (text[at] !== '?') throw new Error(`no placeholder at offset ${at}`);
    out += text.slice(from, at) + mysqlLiteral(values[i]);
    from = at + 1;
  });
  return out + text.slice(from);
}
