/**
 * Opt-in idempotency for write routes: a write sent with an `Idempotency-Key` header runs at most once per
 * caller and key (Powertools' idempotency utility over a DynamoDB table). A retry with the same key answers
 * the first outcome; the key reused with a different request is a 422 problem; the same key while the first
 * request still runs is a 409 problem.
 *
 * Stored as the outcome: every answer that says what happened (2xx, 4xx, and `write-outcome-unknown`, which
 * is replayed, so a retry never writes twice). Not stored: answers that prove nothing was written
 * (`unavailable`, `timeout`, `internal`): the record is removed and a retry runs the write again.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ServerEvent } from './http-server';
import { principalOf } from './observability';
import { HttpResponse, Problem, problemResponse } from './problem';
import { PROBLEM_TYPE_BASE } from '../shared/problem';

/** The request header that carries the key. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** Printable ASCII, at most 255 characters (a UUID is typical). */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The configuration's `idempotency` section. */
export interface IdempotencySettings {
  /** The DynamoDB table (partition key `id`, TTL attribute `expiration`). */
  readonly tableName: string;
  /** How long a key's outcome is kept. */
  readonly expiresAfterSeconds: number;
}

/** Answers one event (the query handler, or the container backend's pool). */
export type EventHandler = (event: ServerEvent, requestId: string) => Promise<HttpResponse>;

/** What identifies a request under a key: the caller and the key, then the request itself for validation. */
interface KeyedRequest {
  readonly key: string;
  readonly principal: string;
  readonly route: string;
  readonly body: string | null;
  readonly query: unknown;
}

/** An answer that proves nothing was written: not kept, so a retry runs the write again. */
class NotKept extends Error {
  constructor(readonly response: HttpResponse) {
    super('not kept');
  }
}

const NOT_KEPT_TYPES = new Set(['unavailable', 'timeout', 'internal'].map((k) => `${PROBLEM_TYPE_BASE}${k}`));

function kept(response: HttpResponse): boolean {
  if (response.statusCode < 500) return true;
  try {
    return !NOT_KEPT_TYPES.has((JSON.parse(response.body) as { type?: unknown }).type as string);
  } catch {
    return false;
  }
}

function headerOf(event: ServerEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v ?? undefined;
  return undefined;
}

export interface IdempotentWritesOptions {
  readonly settings: IdempotencySettings;
  /** The DynamoDB client (tests point it at a local server). */
  readonly client: DynamoDBClient;
  /** Whether the event is for a write route (only those are made idempotent). */
  readonly isWrite: (event: ServerEvent) => boolean;
}

/** Wraps an event handler so writes with an Idempotency-Key run at most once. */
export function idempotentWrites(handle: EventHandler, options: IdempotentWritesOptions): EventHandler {
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName: options.settings.tableName, awsSdkV3Client: options.client });
  // The answers of writes that ran, by request id, for when the store fails after the write.
  const answered = new Map<string, HttpResponse>();
  const once = makeIdempotent(async (_request: KeyedRequest, event: ServerEvent, requestId: string): Promise<HttpResponse> => {
    const response = await handle(event, requestId);
    answered.set(requestId, response);
    if (!kept(response)) throw new NotKept(response);
    return response;
  }, {
    persistenceStore,
    config: new IdempotencyConfig({
      eventKeyJmesPath: '[principal, key]',
      payloadValidationJmesPath: '[route, body, query]',
      expiresAfterSeconds: options.settings.expiresAfterSeconds,
      throwOnNoIdempotencyKey: true,
    }),
  });
  return async (event, requestId) => {
    const key = headerOf(event, IDEMPOTENCY_HEADER);
    if (key === undefined || !options.isWrite(event)) return handle(event, requestId);
    if (!KEY_PATTERN.test(key)) {
      return problemResponse(new Problem('validation', 'The Idempotency-Key header is not valid', {
        errors: [{ name: 'Idempotency-Key', in: 'header', reason: 'must be 1 to 255 printable ASCII characters' }],
      }), requestId);
    }
    const request: KeyedRequest = {
      key,
      principal: principalOf(event.requestContext),
      route: `${event.httpMethod} ${event.path}`,
      body: event.body ?? null,
      query: event.multiValueQueryStringParameters ?? null,
    };
    try {
      return await once(request, event, requestId);
    } catch (e) {
      if (e instanceof NotKept) return e.response;
      // The write ran but its outcome could not be recorded: its own answer still holds.
      const ran = answered.get(requestId);
      if (ran) return ran;
      if (e instanceof IdempotencyValidationError) {
        return problemResponse(new Problem('idempotency-key-reused', 'This Idempotency-Key was used for a different request'), requestId);
      }
      if (e instanceof IdempotencyAlreadyInProgressError) {
        return problemResponse(new Problem('idempotency-key-in-use', 'A request with this Idempotency-Key is still running. Retry later.', { retryAfterSeconds: 1 }), requestId);
      }
      // The idempotency store failed before the write ran (or could not record it): nothing was written by us.
      return problemResponse(new Problem('unavailable', 'The idempotency store cannot be reached right now; nothing was written. Retry later.', { retryAfterSeconds: 2 }), requestId);
    } finally {
      answered.delete(requestId);
    }
  };
}
