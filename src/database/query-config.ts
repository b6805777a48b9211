import { Duration } from 'aws-cdk-lib';
import { AccessLevel, QueryDefinition } from './query';
import { MAX_TIMEOUT_MS } from '../shared/config';
import type { ColumnConfig, HttpMethod as RuntimeMethod, QueryConfig } from '../shared/config';
import { truncate } from '../shared/problem';

/** Time beyond the statement timeout to connect and answer. */
const ANSWER_GRACE_MS = 3000;

/** How long before API Gateway gives up (its integration limit) a function or backend must have answered. */
const GATEWAY_HEADROOM_MS = 1000;

/**
 * The longest statement timeout: its answer (after `ANSWER_GRACE_MS`) must reach API Gateway
 * `GATEWAY_HEADROOM_MS` before the 29-second integration limit, or callers get API Gateway's own 504
 * instead of the query's answer.
 */
export const MAX_STATEMENT_TIMEOUT_MS = MAX_TIMEOUT_MS - GATEWAY_HEADROOM_MS - ANSWER_GRACE_MS;

/**
 * How long a function or integration may take for queries of `timeoutMs`: the statement timeout plus
 * time to connect and answer, at least `GATEWAY_HEADROOM_MS` under API Gateway's 29-second limit.
 */
export function answerTimeout(timeoutMs: number): Duration {
  return Duration.millis(Math.min(MAX_TIMEOUT_MS - GATEWAY_HEADROOM_MS, timeoutMs + ANSWER_GRACE_MS));
}

/** A query function's timeout: `answerTimeout` rounded up to whole seconds, the unit Lambda takes. */
export function functionTimeout(timeoutMs: number): Duration {
  return Duration.seconds(Math.ceil(answerTimeout(timeoutMs).toMilliseconds() / 1000));
}

const ROUTE = /^(GET|POST|PUT|PATCH|DELETE)\s+(\/\S*)$/;

/** Splits `GET /orders/{id}`; throws a clear error on anything else. */
export function parseRoute(route: string): { method: RuntimeMethod; path: string } {
  const m = ROUTE.exec(route.trim());
  if (!m) throw new Error(`Route "${route}" must be "METHOD /path" with METHOD one of GET, POST, PUT, PATCH, DELETE`);
  return { method: m[1] as RuntimeMethod, path: m[2] };
}

function nameFromRoute(method: string, path: string): string {
  const words = path.split('/').filter(Boolean).map((seg) => (seg.startsWith('{') ? `by_${seg.slice(1, -1)}` : seg));
  const camel = [method.toLowerCase(), ...words]
    .join('_')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w : w[0].toUpperCase() + w.slice(1)))
    .join('');
  return /^[A-Za-z_]/.test(camel) ? camel : `q${camel}`;
}

/** True when `value` is an object with the method `method` (an instance of the library's class, or of a copy of it). */
function madeBy(value: unknown, method: string): boolean {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[method] === 'function';
}

/** A value in an error message, as JSON where it has one (not a cyclic object's), at most 80 characters. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return truncate(text, 80);
}

/** Turns a definition into the runtime's query configuration. */
export function toQueryConfig(def: QueryDefinition): QueryConfig {
  const { method, path } = parseRoute(def.route);
  const pathNames = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const timeout = def.timeout ?? Duration.seconds(5);
  const name = def.name ?? nameFromRoute(method, path);
  // What a type checker would have said, for JavaScript callers (a number for a Duration, a plain object
  // for a QueryParameter), instead of "x is not a function" from deep inside.
  if (!madeBy(timeout, 'toMilliseconds')) throw new Error(`query "${name}": timeout must be a Duration (e.g. Duration.seconds(5)), got ${shown(timeout)}`);
  (def.parameters ?? []).forEach((p, i) => {
    if (!madeBy(p, '_toConfig')) throw new Error(`query "${name}": parameter ${i + 1} must be made by QueryParameter (e.g. QueryParameter.integer('id')), got ${shown(p)}`);
  });
  if (def.pagination !== undefined && !madeBy(def.pagination, '_toConfig')) {
    throw new Error(`query "${name}": pagination must be made by Pagination.keyset(...), got ${shown(def.pagination)}`);
  }
  const ms = timeout.toMilliseconds({ integral: false });
  if (!Number.isInteger(ms) || ms < 1) {
    throw new Error(`query "${name}": timeout must be a whole number of milliseconds, at least 1 (got ${timeout.toHumanString()})`);
  }
  if (ms > MAX_STATEMENT_TIMEOUT_MS) {
    throw new Error(`query "${name}": timeout ${timeout.toHumanString()} is too long: at most ${MAX_STATEMENT_TIMEOUT_MS / 1000} seconds, so that the answer `
      + `(${ANSWER_GRACE_MS / 1000} s to connect and respond) reaches API Gateway ${GATEWAY_HEADROOM_MS / 1000} s before its ${MAX_TIMEOUT_MS / 1000}-second integration limit`);
  }
  return {
    name,
    method,
    path,
    sql: def.sql,
    access: (def.access ?? AccessLevel.READ) as QueryConfig['access'],
    parameters: (def.parameters ?? []).map((p) => p._toConfig(method, pathNames)),
    rowLimit: def.rowLimit ?? 100,
    timeoutMs: ms,
    ...(def.single ? { single: true } : {}),
    ...(def.requiredScopes?.length ? { requiredScopes: [...def.requiredScopes] } : {}),
    ...(def.requiredGroups?.length ? { requiredGroups: [...def.requiredGroups] } : {}),
    ...(def.pagination ? { pagination: def.pagination._toConfig() } : {}),
    ...(def.columns ? {
      columns: def.columns.map((c) => ({
        name: c.name,
        type: c.type as string as ColumnConfig['type'],
        ...(c.nullable !== undefined ? { nullable: c.nullable } : {}),
        ...(c.description ? { description: c.description } : {}),
      })),
    } : {}),
  };
}
