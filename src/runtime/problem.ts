/**
 * RFC 9457 problem details. Every error the handler returns is one of these; none carries a driver
 * message, SQL text or stack.
 */

export interface FieldError {
  /** Parameter name (or `body` for the body as a whole). */
  readonly name: string;
  /** Where the value came from. */
  readonly in: 'path' | 'query' | 'body' | 'header';
  readonly reason: string;
}

export type ProblemKind =
  | 'validation'
  /** A paging cursor that is not one this API issued for this query, parameters and caller, or has expired. */
  | 'invalid-cursor'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'payload-too-large'
  | 'request-timeout'
  | 'headers-too-large'
  | 'unsupported-media-type'
  | 'conflict'
  /** The Idempotency-Key is still in use by a running request. */
  | 'idempotency-key-in-use'
  /** The Idempotency-Key was used before for a different request. */
  | 'idempotency-key-reused'
  | 'timeout'
  | 'unavailable'
  /** A write reached the database, then the connection broke or the client's deadline passed: it may have been applied. */
  | 'write-outcome-unknown'
  | 'internal';

const STATUS: Record<ProblemKind, { status: number; title: string }> = {
  'validation': { status: 400, title: 'Request validation failed' },
  'invalid-cursor': { status: 400, title: 'The paging cursor is not valid' },
  'forbidden': { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'request-timeout': { status: 408, title: 'Request timeout' },
  'headers-too-large': { status: 431, title: 'Request header fields too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'conflict': { status: 409, title: 'Conflict with the current state of the data' },
  'idempotency-key-in-use': { status: 409, title: 'A request with this idempotency key is in progress' },
  'idempotency-key-reused': { status: 422, title: 'The idempotency key was used for another request' },
  'timeout': { status: 504, title: 'The query took too long' },
  'unavailable': { status: 503, title: 'The database is unavailable' },
  'write-outcome-unknown': { status: 503, title: 'The outcome of the write is unknown' },
  'internal': { status: 500, title: 'Internal error' },
};

/** Problem type URIs are stable identifiers clients can switch on. */
export const PROBLEM_TYPE_BASE = 'tag:cdk-secure-db-api,2026:problem:';

export interface ProblemExtras {
  readonly errors?: readonly FieldError[];
  readonly retryAfterSeconds?: number;
  readonly allow?: readonly string[];
  /** The kind's own status otherwise; a write of unknown outcome is 504 when the client's deadline passed. */
  readonly status?: 503 | 504;
}

/** An error that becomes a problem response. `detail` must never contain data from the database driver. */
export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = extras.status ?? STATUS[kind].status;
    this.title = STATUS[kind].title;
  }
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** At most this many field errors are listed in a problem; `omittedErrors` counts the rest. */
export const MAX_FIELD_ERRORS = 20;
/** A field name longer than this (it may be a caller's key) is cut, ending in `…`. */
export const MAX_FIELD_NAME_CHARS = 64;

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Serializes a problem. `instance` is the request id, so a caller can quote it to support. */
export function problemResponse(p: Problem, requestId: string | undefined): HttpResponse {
  const headers: Record<string, string> = { ...SECURITY_HEADERS, 'content-type': 'application/problem+json' };
  if (p.extras.retryAfterSeconds !== undefined) headers['retry-after'] = String(p.extras.retryAfterSeconds);
  if (p.extras.allow) headers.allow = p.extras.allow.join(', ');
  const body: Record<string, unknown> = {
    type: `${PROBLEM_TYPE_BASE}${p.kind}`,
    title: p.title,
    status: p.status,
    detail: p.detail,
  };
  if (requestId) body.instance = `urn:request:${requestId}`;
  if (p.extras.errors) {
    // Bounded: a request with thousands of unknown keys must not get an answer larger than itself.
    body.errors = p.extras.errors.slice(0, MAX_FIELD_ERRORS).map((e) => ({ ...e, name: truncate(e.name, MAX_FIELD_NAME_CHARS) }));
    if (p.extras.errors.length > MAX_FIELD_ERRORS) body.omittedErrors = p.extras.errors.length - MAX_FIELD_ERRORS;
  }
  return { statusCode: p.status, headers, body: JSON.stringify(body) };
}
