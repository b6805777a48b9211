/**
 * The problem types (RFC 9457) the API answers with: their kinds, statuses, titles and type URIs.
 * Shared by the runtime, which answers with them, and the construct, which documents them.
 */

/** `text` cut to at most `max` characters (code points), ending in `…` when cut: a caller's value in a message. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

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

export const PROBLEM_STATUS: Record<ProblemKind, { status: number; title: string }> = {
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
