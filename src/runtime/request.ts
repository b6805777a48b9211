/**
 * Reading an API Gateway REST proxy event: its headers, query string and JSON body, as the REST routes
 * and the GraphQL endpoint accept them. Problems for what is refused (413, 415, 400).
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { Problem } from './problem';
import { LONE_SURROGATE, TOO_SMALL, UNDERFLOWS } from '../shared/params';
import { truncate } from '../shared/problem';

/** The part of the event the handlers read. */
export type PublicEvent = Pick<APIGatewayProxyEvent, 'httpMethod' | 'path' | 'resource' | 'pathParameters' | 'queryStringParameters' | 'multiValueQueryStringParameters' | 'headers' | 'body' | 'isBase64Encoded'> & {
  readonly requestContext?: { readonly requestId?: string; readonly authorizer?: unknown; readonly identity?: unknown; readonly path?: string };
};

/** A header's value, whatever the case of its name (`name` in lower case): the first name that matches. */
export function header(event: PublicEvent, name: string): string | undefined {
  const headers = event.headers;
  if (!headers) return undefined;
  // Only names of the same length are lowered (a call through API Gateway carries a dozen headers).
  for (const k of Object.keys(headers)) if (k.length === name.length && k.toLowerCase() === name) return headers[k] ?? undefined;
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
    // A text body with a lone surrogate was not valid UTF-8 before API Gateway decoded it (one of ASCII
    // characters only, as many bytes as characters, has none).
    if (size !== event.body.length && LONE_SURROGATE.test(event.body)) throw bodyProblem('is not valid UTF-8');
    // A leading byte order mark is ignored, as the decoder ignores it in a base64 body (RFC 8259 allows both).
    text = event.body.charCodeAt(0) === 0xfeff ? event.body.slice(1) : event.body;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bodyProblem('is not valid JSON');
  }
  // JSON.parse keeps the last of two equal names; a validator or proxy in front may have read the first.
  const twice = typeof parsed === 'object' && parsed !== null ? repeatedJsonName(text) : undefined;
  if (twice !== undefined) {
    throw new Problem('validation', 'The request body names a field twice in one object', { errors: [{ name: twice, in: 'body', reason: 'appears twice in one JSON object' }] });
  }
  const tiny = mayUnderflow(text) ? underflowingJsonNumber(text) : undefined;
  if (tiny !== undefined) throw bodyProblem(`has a number that ${TOO_SMALL}: ${truncate(tiny, 40)}`);
  return parsed;
}

/**
 * The shortest number that reads as 0 without being 0 and has no exponent: `0.` and 323 zeros before a
 * digit (the smallest double is about 4.9e-324; below half of it, a number is read as 0).
 */
const SHORTEST_UNDERFLOW_WITHOUT_EXPONENT = 326;

/**
 * Whether a JSON text can hold a number that reads as 0 without being 0: one with a negative exponent, or
 * a text at least as long as the shortest one without. Most bodies are neither, and skip the scan.
 */
function mayUnderflow(text: string): boolean {
  return text.length >= SHORTEST_UNDERFLOW_WITHOUT_EXPONENT || /[eE]-/.test(text);
}

/** Strings (skipped) and numbers of a JSON text. */
const JSON_STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * The first number of `text` (valid JSON) that JSON.parse reads as 0 although it is not (1e-400, or a
 * decimal with hundreds of zeros): taken as 0, the value the caller sent would be lost.
 */
export function underflowingJsonNumber(text: string): string | undefined {
  for (const [token] of text.matchAll(JSON_STRING_OR_NUMBER)) {
    if (token.charCodeAt(0) !== 0x22 && Number(token) === 0 && UNDERFLOWS(token)) return token;
  }
  return undefined;
}

/**
 * The first name that occurs twice in one object of `text`, at any depth, compared as JSON.parse decodes
 * names (`"a"` and `"\u0061"` are the same name). `text` must be valid JSON: it is read once, left to right,
 * skipping over strings and numbers, with the names seen so far in each open object.
 */
export function repeatedJsonName(text: string): string | undefined {
  // One entry per open container: the names of an object, or undefined for an array.
  const open: Array<Set<string> | undefined> = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // "
      let end = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(end); d !== 0x22; d = text.charCodeAt(end)) {
        if (d === 0x5c) { // \
          escaped = true;
          end++;
        }
        end++;
      }
      if (nameNext) {
        const names = open[open.length - 1];
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (names?.has(name)) return name;
        names?.add(name);
        nameNext = false;
      }
      i = end;
    } else if (c === 0x7b) { // {
      open.push(new Set());
      nameNext = true;
    } else if (c === 0x5b) { // [
      open.push(undefined);
      nameNext = false;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      open.pop();
      nameNext = false;
    } else if (c === 0x2c) { // ,
      nameNext = open[open.length - 1] !== undefined;
    }
  }
  return undefined;
}

/** A 400 naming what is wrong with the body. */
export function bodyProblem(reason: string): Problem {
  return new Problem('validation', `The request body ${reason}`, { errors: [{ name: 'body', in: 'body', reason }] });
}
