/**
 * Reading an API Gateway REST proxy event: its headers, query string and JSON body, as the REST routes
 * and the GraphQL endpoint accept them. Problems for what is refused (413, 415, 400).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Problem } from './problem';
import { LONE_SURROGATE } from '../shared/params';

/** The part of the event the handlers read. */
export type PublicEvent = Pick<APIGatewayProxyEvent, 'httpMethod' | 'path' | 'resource' | 'pathParameters' | 'queryStringParameters' | 'multiValueQueryStringParameters' | 'headers' | 'body' | 'isBase64Encoded'> & {
  readonly requestContext?: { readonly requestId?: string; readonly authorizer?: unknown; readonly identity?: unknown; readonly path?: string };
};

/** A header's value, whatever the case of its name. */
export function header(event: PublicEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name) return v ?? undefined;
  return undefined;
}

/** The query string, every parameter a list of its values. */
export function queryParameters(event: PublicEvent): Record<string, string[]> {
  // No prototype: `?__proto__=x` is a key like any other (and refused as unknown), never a setter.
  const out: Record<string, string[]> = Object.create(null);
  if (event.multiValueQueryStringParameters) {
    for (const [k, v] of Object.entries(event.multiValueQueryStringParameters)) if (v) out[k] = [...v];
  } else if (event.queryStringParameters) {
    for (const [k, v] of Object.entries(event.queryStringParameters)) if (v !== undefined) out[k] = [v];
  }
  return out;
}

/** `application/json`, optionally with a UTF-8 charset. */
export const JSON_CONTENT_TYPE = /^application\/json\s*(;\s*charset=(?:"?utf-8"?)\s*)?$/i;

/** Refuses bytes that are not UTF-8; without `stream`, each decode starts afresh, so one serves every call. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The JSON value of a request body (undefined when there is none), as the REST routes and the GraphQL
 * endpoint accept it: at most `maxBodyBytes`, a JSON content type, valid UTF-8. Throws Problems
 * (413, 415, 400).
 */
export function decodeJsonBody(event: PublicEvent, maxBodyBytes: number, contentTypes: RegExp = JSON_CONTENT_TYPE): unknown {
  if (event.body === null || event.body === undefined || event.body === '') return undefined;
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : undefined;
  // A text body is measured in the UTF-8 bytes it arrived as, without copying it into a buffer.
  const size = bytes ? bytes.length : Buffer.byteLength(event.body, 'utf8');
  if (size > maxBodyBytes) throw new Problem('payload-too-large', `The request body is larger than ${maxBodyBytes} bytes`);
  const contentType = header(event, 'content-type');
  if (!contentType || !contentTypes.test(contentType.trim())) {
    throw new Problem('unsupported-media-type', 'The request body must be application/json (UTF-8)');
  }
  let text: string;
  if (bytes) {
    try {
      text = STRICT_UTF8.decode(bytes);
    } catch {
      throw bodyProblem('is not valid UTF-8');
    }
  } else {
    // A text body with a lone surrogate was not valid UTF-8 before API Gateway decoded it.
    if (LONE_SURROGATE.test(event.body)) throw bodyProblem('is not valid UTF-8');
    // A leading byte order mark is ignored, as the decoder ignores it in a base64 body (RFC 8259 allows both).
    text = event.body.charCodeAt(0) === 0xfeff ? event.body.slice(1) : event.body;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw bodyProblem('is not valid JSON');
  }
}

/** A 400 naming what is wrong with the body. */
export function bodyProblem(reason: string): Problem {
  return new Problem('validation', `The request body ${reason}`, { errors: [{ name: 'body', in: 'body', reason }] });
}
