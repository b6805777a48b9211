/**
 * What a failed database call becomes: one operational log line (the error's class, name and codes,
 * never its data) and the problem the caller gets.
 */
import { DbErrorClass } from './engines/engine';
import type { LogSink } from './handler';
import { Problem } from './problem';
import { PreparedQuery } from '../shared/config';

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 2;

/** A write that reached the database but whose outcome is unknown (a timeout or a broken connection). */
export function writeOutcomeUnknown(cls: DbErrorClass, query: PreparedQuery): Problem {
  const timedOut = cls === 'timeout';
  return new Problem('write-outcome-unknown', timedOut
    ? `The write reached the database but did not answer within ${query.timeoutMs} ms: it may have been applied. Check before retrying, or retry with the same Idempotency-Key.`
    : 'The connection to the database broke after the write was sent: it may have been applied. Check before retrying, or retry with the same Idempotency-Key.', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    status: timedOut ? 504 : 503,
  });
}

/** One operational line per failed database call: the error's class, name and codes, never its data. */
export function logDatabaseError(log: LogSink, cls: DbErrorClass, error: unknown, query: PreparedQuery): void {
  const e = error as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown } | undefined;
  log({
    level: cls === 'internal' ? 'ERROR' : 'WARN',
    message: 'database call failed',
    query: query.name,
    errorClass: cls,
    errorName: e?.name,
    code: e?.code,
    errno: e?.errno,
    // Driver messages can quote data (constraint details); only internal errors log theirs.
    ...(cls === 'internal' && typeof e?.message === 'string' ? { driverMessage: e.message } : {}),
  });
}

/** The problem a failed database call answers with, by the class of its error: never the driver's message. */
export function databaseProblem(cls: DbErrorClass, query: PreparedQuery): Problem {
  switch (cls) {
    case 'timeout':
      return new Problem('timeout', query.access === 'write'
        ? `The query did not finish within ${query.timeoutMs} ms; the database cancelled it and nothing was written`
        : `The query did not finish within ${query.timeoutMs} ms`);
    case 'connection':
    case 'auth':
      return new Problem('unavailable', query.access === 'write'
        ? 'The database cannot be reached right now; nothing was written. Retry later.'
        : 'The database cannot be reached right now. Retry later.', { retryAfterSeconds: RETRY_AFTER_SECONDS });
    case 'conflict':
      return new Problem('conflict', 'The change conflicts with existing data');
    case 'data':
      return new Problem('validation', 'The database rejected one of the values');
    default:
      return new Problem('internal', 'An internal error occurred. Quote the instance when reporting it.');
  }
}
