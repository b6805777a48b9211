/**
 * Reading a request's parameters: every value is checked by the shared rules (`coerceValue`) and
 * then bound by the driver; nothing is ever written into SQL text.
 */
import { Problem } from './problem';
import { ParameterSource, PreparedQuery } from '../shared/config';
import { BoundValue, coerceDefault, coerceValue } from '../shared/params';
import { FieldError } from '../shared/problem';

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

/** The names of a query's query-string and body parameters, worked out once per query. */
const KNOWN_NAMES = new WeakMap<PreparedQuery, Readonly<Record<'query' | 'body', ReadonlySet<string>>>>();

function knownNames(query: PreparedQuery): Readonly<Record<'query' | 'body', ReadonlySet<string>>> {
  let known = KNOWN_NAMES.get(query);
  if (known === undefined) {
    const of = (source: ParameterSource) => new Set(query.parameters.filter((p) => p.in === source).map((p) => p.name));
    known = { query: of('query'), body: of('body') };
    KNOWN_NAMES.set(query, known);
  }
  return known;
}

/**
 * Reads, validates and coerces every parameter of a query. Unknown query-string and body fields are
 * rejected, so a typo never silently falls back to a default. All errors are reported at once.
 */
export function collectParameters(query: PreparedQuery, input: ParameterInput): Record<string, BoundValue> {
  const errors: FieldError[] = [];
  const values: Record<string, BoundValue> = {};
  const { query: knownQuery, body: knownBody } = knownNames(query);
  for (const name of Object.keys(input.query)) {
    if (!knownQuery.has(name)) errors.push({ name, in: 'query', reason: 'is not a parameter of this route' });
  }
  if (input.body !== undefined) {
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
