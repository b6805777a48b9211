/**
 * Validation and coercion of typed parameters. Values are checked here and then bound by the
 * driver; nothing is ever written into SQL text. Error reasons never echo the value. Shared: the
 * construct checks every parameter default with the same rules at synth time.
 */
import { DEFAULT_MAX_STRING_LENGTH, ParameterConfig } from './config';

/** What a driver receives for one placeholder. */
export type BoundValue = string | number | boolean | Date | null;

type Result = { readonly ok: true; readonly value: BoundValue } | { readonly ok: false; readonly reason: string };

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** A number's text whose value is not 0 but reads as 0: too small for a double (1e-400). */
export const UNDERFLOWS = (text: string): boolean => /[1-9]/.test(text.split(/[eE]/)[0]);
/** Why such a number is refused rather than taken as 0. */
export const TOO_SMALL = 'is too small to represent as a number (it would be read as 0)';
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** Half of a UTF-16 surrogate pair on its own: text that was not valid UTF-8 on the wire. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ok = (value: BoundValue): Result => ({ ok: true, value });
const fail = (reason: string): Result => ({ ok: false, reason });

function checkRange(p: ParameterConfig, n: number): Result {
  if (p.minimum !== undefined && n < p.minimum) return fail(`must be >= ${p.minimum}`);
  if (p.maximum !== undefined && n > p.maximum) return fail(`must be <= ${p.maximum}`);
  return ok(n);
}

/**
 * An RFC 3339 date-time value: the instant, as a Date, and every digit of its fraction of a second, of
 * which a Date keeps the first three. PostgreSQL and MySQL store microseconds and SQL Server's datetime2
 * 100 ns, so a value read from a row and sent back as a parameter must arrive as it was read: the engines
 * bind `toISOString()`, which writes the whole fraction, and tedious adds `nanosecondDelta` (seconds beyond
 * the millisecond) as it does for any Date that has one.
 */
export class DateTimeValue extends Date {
  /** The fraction of a second beyond the millisecond, in seconds (0 when there is none). */
  public readonly nanosecondDelta: number;

  /** `fraction`: the digits after the decimal point as written (up to 9), or '' for none. */
  constructor(milliseconds: number, private readonly fraction: string) {
    super(milliseconds);
    this.nanosecondDelta = fraction.length > 3 ? Number(`0.000${fraction.slice(3)}`) : 0;
  }

  /** UTC, with every digit of the fraction that was given (at least three, as Date writes them). */
  public toISOString(): string {
    const iso = super.toISOString();
    return this.fraction.length > 3 ? `${iso.slice(0, -4)}${this.fraction}Z` : iso;
  }
}

function parseDateTime(s: string): DateTimeValue | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const fraction = m[7]?.slice(1) ?? '';
  // The instant to the millisecond from the first three digits (Date's own parser may round or cut the rest).
  const milliseconds = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offset = m[8] === 'Z' || m[8] === 'z' ? 0 : (m[8].startsWith('-') ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  // setUTCFullYear, not Date.UTC: that one reads the years 0-99 as 1900-1999.
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, milliseconds);
  const d = new DateTimeValue(utc.getTime() - offset * 60_000, fraction);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Checks one value against its definition. `fromText` is true for path and query-string values,
 * which arrive as text; body values must already have the JSON type the parameter declares.
 */
/** Characters (code points) of a string without lone surrogates: its UTF-16 length less one per pair. */
function codePoints(s: string): number {
  let pairs = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) pairs++;
  }
  return s.length - pairs;
}

export function coerceValue(p: ParameterConfig, raw: unknown, fromText: boolean, pattern?: RegExp): Result {
  switch (p.type) {
    case 'string': {
      if (typeof raw !== 'string') return fail('must be a string');
      if (raw.includes('\u0000')) return fail('must not contain NUL characters');
      if (LONE_SURROGATE.test(raw)) return fail('must be valid Unicode text');
      const length = codePoints(raw);
      const max = p.maxLength ?? DEFAULT_MAX_STRING_LENGTH;
      if (length > max) return fail(`must be at most ${max} characters`);
      if (p.minLength !== undefined && length < p.minLength) return fail(`must be at least ${p.minLength} characters`);
      if (pattern && !pattern.test(raw)) return fail('does not match the required pattern');
      return ok(raw);
    }
    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (fromText && typeof raw === 'string' && INTEGER_TEXT.test(raw)) n = Number(raw);
      else return fail('must be an integer');
      if (!Number.isInteger(n)) return fail('must be an integer');
      if (!Number.isSafeInteger(n)) return fail('must be between -9007199254740991 and 9007199254740991');
      return checkRange(p, n);
    }
    case 'number': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (fromText && typeof raw === 'string' && NUMBER_TEXT.test(raw)) n = Number(raw);
      else return fail('must be a number');
      if (!Number.isFinite(n)) return fail('must be a finite number');
      if (n === 0 && typeof raw === 'string' && UNDERFLOWS(raw)) return fail(TOO_SMALL);
      return checkRange(p, n);
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return ok(raw);
      if (fromText && (raw === 'true' || raw === 'false')) return ok(raw === 'true');
      return fail('must be true or false');
    }
    case 'uuid': {
      if (typeof raw !== 'string' || !UUID.test(raw)) return fail('must be a UUID');
      return ok(raw.toLowerCase());
    }
    case 'date-time': {
      const d = typeof raw === 'string' ? parseDateTime(raw) : undefined;
      if (!d) return fail('must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z');
      return ok(d);
    }
    case 'enum': {
      if (typeof raw !== 'string' || !(p.values ?? []).includes(raw)) return fail(`must be one of ${(p.values ?? []).join(', ')}`);
      return ok(raw);
    }
  }
}

/** A default must itself be valid; the config check calls this so a bad default fails at load. */
export function coerceDefault(p: ParameterConfig, pattern?: RegExp): BoundValue {
  const r = coerceValue(p, p.default, false, pattern);
  if (!r.ok) throw new Error(`default of parameter "${p.name}" ${r.reason}`);
  return r.value;
}
