/**
 * The page a paged call asks for: `limit` and `cursor` (REST query string) or `limit` and `after`
 * (GraphQL arguments), validated with the query's parameters and listed with their errors, and the
 * relative URL of the next page.
 */
import { pageLimit } from './pagination';
import { Problem } from './problem';
import { PublicEvent, queryParameters } from './request';
import type { PreparedQuery } from '../shared/config';
import { RESERVED_PAGING_NAMES } from '../shared/pagination';
import type { BoundValue } from '../shared/params';
import type { FieldError } from '../shared/problem';

/** A paged call's page size and cursor, as the caller sent them. */
export interface PageRequest {
  readonly limit: number;
  /** The page size as the request wrote it (REST: repeated in the next link). */
  readonly limitText?: string;
  readonly cursor?: string;
  /** What the caller calls the cursor: `cursor` (REST) or `after` (GraphQL). */
  readonly cursorName: string;
}

/** A paged request's page: its page size and cursor, or the validation errors of those. */
export interface PageInput {
  readonly request?: PageRequest;
  readonly errors: FieldError[];
}

/** The page of a REST request: `limit` and `cursor` taken out of the query string (the query's parameters cannot have those names). */
export function restPageRequest(query: PreparedQuery, queryString: Record<string, string[]>): PageInput {
  const errors: FieldError[] = [];
  const once = (name: string): string | undefined => {
    const list = queryString[name];
    delete queryString[name];
    if (list && list.length > 1) errors.push({ name, in: 'query', reason: 'must appear only once' });
    return list?.[0];
  };
  const limitText = once(RESERVED_PAGING_NAMES[0]);
  const cursor = once(RESERVED_PAGING_NAMES[1]);
  let limit = query.rowLimit;
  try {
    limit = pageLimit(query, limitText, true);
  } catch (e) {
    errors.push(...((e as Problem).extras.errors ?? []));
  }
  return { request: errors.length === 0 ? { limit, limitText, cursor, cursorName: 'cursor' } : undefined, errors };
}

/** The page of a GraphQL field: its `limit` and `after` arguments. */
export function graphqlPageRequest(query: PreparedQuery, args: Readonly<Record<string, unknown>>): PageInput {
  try {
    const limit = pageLimit(query, args.limit, false);
    const after = args.after;
    return { request: { limit, cursor: after === undefined || after === null ? undefined : String(after), cursorName: 'after' }, errors: [] };
  } catch (e) {
    return { errors: [...((e as Problem).extras.errors ?? [])] };
  }
}

/** A paged call's parameter values and its page. */
export interface PagedValues {
  readonly values: Record<string, BoundValue>;
  readonly request: PageRequest;
}

/** The parameters and the page, with the page's errors listed beside theirs (all at once, as for any parameter). */
export function withPageErrors(page: PageInput, collect: () => Record<string, BoundValue>): PagedValues {
  let values: Record<string, BoundValue>;
  try {
    values = collect();
  } catch (e) {
    if (e instanceof Problem && e.kind === 'validation' && page.errors.length > 0) {
      const errors = [...(e.extras.errors ?? []), ...page.errors];
      throw new Problem('validation', `${errors.length} parameters are invalid`, { errors });
    }
    throw e;
  }
  if (page.errors.length > 0 || !page.request) {
    throw new Problem('validation', `${page.errors.length} parameter${page.errors.length === 1 ? ' is' : 's are'} invalid`, { errors: page.errors });
  }
  return { values, request: page.request };
}

/**
 * The relative URL of the next page: the path as the caller called it (with the stage, or a custom
 * domain's base path), the request's other query-string parameters, the page size it asked for, the cursor.
 */
export function nextLink(event: PublicEvent, cursor: string | undefined, limitText: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const called = event.requestContext?.path;
  const raw = typeof called === 'string' && called.startsWith('/') ? called : event.path ?? '/';
  // One leading slash (never a scheme-relative `//host`), and characters a URL path cannot hold percent-encoded.
  const path = `/${raw.replace(/^\/+/, '')}`.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c));
  const pairs: string[] = [];
  const own = queryParameters(event);
  for (const [name, list] of Object.entries(own)) {
    if ((RESERVED_PAGING_NAMES as readonly string[]).includes(name)) continue;
    for (const v of list) pairs.push(`${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  }
  if (limitText !== undefined) pairs.push(`limit=${encodeURIComponent(limitText)}`);
  pairs.push(`cursor=${encodeURIComponent(cursor)}`);
  return `${path}?${pairs.join('&')}`;
}
