/**
 * What the construct and the runtime share of keyset pagination: the paging parameters' names, the
 * longest cursor, and the checks of a query's `pagination` that the configuration check lists with its
 * other problems. The cursor itself is made and read by the runtime (`src/runtime/pagination.ts`).
 */
import type { EngineName, QueryConfig } from './config';

/**
 * Longest cursor, in characters: it holds one value per ordering column, and must fit in a URL (API Gateway
 * takes about 8 KB of request line). A row whose ordering values need more has no cursor (a 500, logged).
 */
export const MAX_CURSOR_CHARS = 4096;
/** The names a paged query's parameters cannot have: the paging parameters of the REST routes. */
export const RESERVED_PAGING_NAMES = ['limit', 'cursor'] as const;

/** Longest cursor lifetime: 30 days. */
export const MAX_CURSOR_LIFETIME_SECONDS = 30 * 24 * 3600;
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The SQL's code outside any parentheses (subqueries, window definitions and calls blanked out). */
function topLevel(code: string): string {
  let depth = 0;
  let out = '';
  for (const c of code) {
    if (c === '(') depth++;
    if (depth === 0) out += c;
    else out += ' ';
    if (c === ')' && depth > 0) depth--;
  }
  return out;
}

/**
 * What is wrong with a query's `pagination`, as the configuration check lists problems. `code` is the SQL
 * without comments and literals.
 */
export function paginationProblems(q: QueryConfig, engine: EngineName, code: string | undefined): string[] {
  const p = q.pagination;
  if (p === undefined) return [];
  const label = `query "${q.name}" pagination`;
  const problems: string[] = [];
  if (engine === 'sqlserver') problems.push(`${label}: keyset pagination is for PostgreSQL, MySQL and MariaDB only`);
  if (q.access !== 'read') problems.push(`${label}: only read queries can be paged`);
  if (q.single) problems.push(`${label}: a single-row query cannot be paged`);
  const orderBy = Array.isArray(p.orderBy) ? p.orderBy : [];
  if (orderBy.length === 0) problems.push(`${label}: orderBy must list at least one column`);
  const seen = new Set<string>();
  const columns = Array.isArray(q.columns) ? new Map(q.columns.map((c) => [c.name, c])) : undefined;
  for (const o of orderBy) {
    if (typeof o?.column !== 'string' || !COLUMN_NAME.test(o.column)) {
      problems.push(`${label}: ordering column "${String(o?.column)}" must be a result column's name (${COLUMN_NAME})`);
      continue;
    }
    if (seen.has(o.column)) problems.push(`${label}: ordering column "${o.column}" is listed twice`);
    seen.add(o.column);
    const declared = columns?.get(o.column);
    if (columns && !declared) problems.push(`${label}: ordering column "${o.column}" is not one of the query's result columns (${[...columns.keys()].join(', ')})`);
    if (declared?.type === 'json') problems.push(`${label}: ordering column "${o.column}" is a JSON column, which has no order`);
  }
  if (!Number.isSafeInteger(p.cursorLifetimeSeconds) || p.cursorLifetimeSeconds < 1 || p.cursorLifetimeSeconds > MAX_CURSOR_LIFETIME_SECONDS) {
    problems.push(`${label}: cursorLifetime must be whole seconds from 1 second to 30 days`);
  }
  for (const name of RESERVED_PAGING_NAMES) {
    if ((q.parameters ?? []).some((x) => x.name === name)) problems.push(`${label}: a paged query cannot have a parameter named "${name}": it is the paging parameter`);
  }
  if (code !== undefined) {
    const m = /\b(order\s+by|limit|offset|fetch)\b/i.exec(topLevel(code));
    if (m) problems.push(`${label}: the SQL must not have its own ${m[1].replace(/\s+/, ' ').toUpperCase()}: the pages are ordered by orderBy and sized by the limit parameter`);
  }
  return problems;
}
