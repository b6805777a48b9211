/**
 * RFC 9457 problem details. Every error the handler returns is one of these; none carries a driver
 * message, SQL text or stack.
 */
import { FieldError, PROBLEM_STATUS, PROBLEM_TYPE_BASE, ProblemKind, truncate } from '../shared/problem';

export interface ProblemExtras {
  readonly errors?: readonly FieldError[];
  readonly retryAfterSeconds?: number;
  readonly allow?: readonly string[];
  /** The kind's own status otherwise; a write of unknown outcome is 504 when the client's deadline passed. */
  readonly status?: 503 | 504;
}

/**
 * Marks a Problem, whichever copy of this module made it: the REST query functions' paging chunk carries a copy
 * of its own (src/runtime/paging.ts), and `instanceof Problem` holds for the Problems of both.
 */
const PROBLEM: unique symbol = Symbol.for('secure-db-api.problem');

/** An error that becomes a problem response. `detail` must never contain data from the database driver. */
export class Problem extends Error {
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [PROBLEM]?: unknown })[PROBLEM] === true;
  }

  readonly [PROBLEM] = true;
  readonly status: number;
  readonly title: string;
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.status = extras.status ?? PROBLEM_STATUS[kind].status;
    this.title = PROBLEM_STATUS[kind].title;
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
