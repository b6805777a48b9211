/**
 * Validation and coercion of typed parameters. Values are checked here and then bound by the
 * driver; nothing is ever written into SQL text. Error reasons never echo the value.
 */
import { DEFAULT_MAX_STRING_LENGTH, ParameterConfig, ParameterSource, PreparedQuery } from './config';
import { FieldError, Problem } from './problem';

/** What a driver receives for one placeholder. */
export type BoundValue = string | number | boolean | Date | null;

type Result = { readonly ok: true; readonly value: BoundValue } | { readonly ok: false; readonly reason: string };

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
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

function parseDateTime(s: string): Date | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const d = new Date(s.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Checks one value against its definition. `fromText` is true for path and query-string values,
 * which arrive as text; body values must already have the JSON type the parameter declares.
 */
export function coerceValue(p: ParameterConfig, raw: unknown, fromText: boolean, pattern?: RegExp): Result {
  switch (p.type) {
    case 'string': {
      if (typeof raw !== 'string') return fail('must be a string');
      if (raw.includes('\u0000')) return fail('must not contain NUL characters');
      if (LONE_SURROGATE.test(raw)) return fail('must be valid Unicode text');
      const length = [...raw].length;
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

/** The request pieces parameters are read from. */
export interface ParameterInput {
  readonly path: Readonly<Record<string, string | undefined>>;
  readonly query: Readonly<Record<string, readonly string[] | undefined>>;
  /** Parsed JSON object body, or undefined when the request has none. */
  readonly body: Readonly<Record<string, unknown>> | undefined;
}

/** An own property only: a parameter named `constructor` must not find Object.prototype's. */
function own<V>(from: Readonly<Record<string, V>>, name: string): V | undefined {
  return Object.hasOwn(from, name) ? from[name] : undefined;
}

/**
 * Reads, validates and coerces every parameter of a query. Unknown query-string and body fields are
 * rejected, so a typo never silently falls back to a default. All errors are reported at once.
 */
export function collectParameters(query: PreparedQuery, input: ParameterInput): Record<string, BoundValue> {
  const errors: FieldError[] = [];
  const values: Record<string, BoundValue> = {};
  const known = (source: ParameterSource) => new Set(query.parameters.filter((p) => p.in === source).map((p) => p.name));

  const knownQuery = known('query');
  for (const name of Object.keys(input.query)) {
    if (!knownQuery.has(name)) errors.push({ name, in: 'query', reason: 'is not a parameter of this route' });
  }
  if (input.body !== undefined) {
    const knownBody = known('body');
    if (knownBody.size === 0) {errors.push({ name: 'body', in: 'body', reason: 'this route takes no request body' });} else {
      for (const name of Object.keys(input.body)) {
        if (!knownBody.has(name)) errors.push({ name, in: 'body', reason: 'is not a parameter of this route' });
      }
    }
  }

  for (const p of query.parameters) {
    let raw: unknown;
    let present: boolean;
    if (p.in === 'path') {
      raw = own(input.path, p.name);
      present = raw !== undefined;
    } else if (p.in === 'query') {
      const list = own(input.query, p.name);
      present = list !== undefined && list.length > 0;
      if (present && list!.length > 1) {
        errors.push({ name: p.name, in: 'query', reason: 'must appear only once' });
        continue;
      }
      raw = present ? list![0] : undefined;
    } else {
      present = input.body !== undefined && Object.hasOwn(input.body, p.name) && input.body[p.name] !== null;
      raw = present ? input.body![p.name] : undefined;
    }
    if (!present) {
      if (p.default !== undefined) {
        values[p.name] = coerceDefault(p, query.patterns.get(p.name));
      } else if (p.in === 'path' || p.required !== false) {
        errors.push({ name: p.name, in: p.in, reason: 'is required' });
      } else {
        values[p.name] = null;
      }
      continue;
    }
    const r = coerceValue(p, raw, p.in !== 'body', query.patterns.get(p.name));
    if (r.ok) values[p.name] = r.value;
    else errors.push({ name: p.name, in: p.in, reason: r.reason });
  }
  if (errors.length > 0) {
    throw new Problem('validation', `${errors.length} parameter${errors.length === 1 ? ' is' : 's are'} invalid`, { errors });
  }
  return values;
}

/** A default must itself be valid; the config check calls this so a bad default fails at load. */
export function coerceDefault(p: ParameterConfig, pattern?: RegExp): BoundValue {
  const r = coerceValue(p, p.default, false, pattern);
  if (!r.ok) throw new Error(`default of parameter "${p.name}" ${r.reason}`);
  return r.value;
}
