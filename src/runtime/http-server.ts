/**
 * The query handler as a plain HTTP server: each request becomes an API Gateway REST proxy event, so
 * routing, validation, errors and audit are exactly those of the Lambda function.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import type { Duplex } from 'stream';
import { QueryHandler } from './handler';
import { logLevelAllows } from './log-level';
import { Problem, problemResponse, type HttpResponse } from './problem';

/** The API Gateway event a request becomes. */
export type ServerEvent = Parameters<QueryHandler['handle']>[0];

/** Answers one event (a QueryHandler, or the container backend's pools). */
export type Dispatch = (event: ServerEvent, requestId: string) => Promise<HttpResponse>;

/** The caller as a trusted proxy describes it. */
export interface ServerIdentity {
  readonly requestId?: string;
  readonly authorizer?: unknown;
  readonly userArn?: string;
}

export interface QueryServerOptions {
  /** Requests with larger bodies are refused with 413 without reading further. */
  readonly maxBodyBytes: number;
  /**
   * The caller's identity, from headers a trusted proxy (API Gateway through a VPC link) set. Default:
   * none; the request then carries no authorizer context at all.
   */
  readonly identity?: (headers: http.IncomingHttpHeaders) => ServerIdentity;
  /** Serve HTTPS with this key and certificate (PEM). Default: plain HTTP (local development). */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer };
  /** Answered without touching the database, for load balancer health checks. */
  readonly healthPath?: string;
  /**
   * Milliseconds a whole request may take to arrive before it is answered 408 (Request Timeout).
   * Default: DEFAULT_REQUEST_TIMEOUT_MS.
   */
  readonly requestTimeoutMs?: number;
  /** Called with what a request threw before it was answered with 500. Default: logs the error's name. */
  readonly onError?: (error: unknown) => void;
}

/** Answers a problem the server finds itself, before or instead of the handler. */
function sendProblem(res: http.ServerResponse, p: Problem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const out = problemResponse(p, undefined);
  res.writeHead(out.statusCode, out.headers);
  res.end(out.body);
}

/** What the server answers when a request threw before it was answered. */
const INTERNAL = new Problem('internal', 'The request could not be handled');

/** After a 413, at most this much more of the body is read (and dropped) before the connection is cut. */
const DRAIN_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * Answers 413 at once, then reads and drops the rest of the body before closing: closing a socket
 * with unread data resets it, and the client would lose the answer it was sent.
 */
function refuseBody(req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): void {
  const out = problemResponse(new Problem('payload-too-large', `The request body is larger than ${maxBodyBytes} bytes`), undefined);
  res.writeHead(out.statusCode, { ...out.headers, 'content-length': Buffer.byteLength(out.body), 'connection': 'close' });
  res.write(out.body);
  req.once('end', () => res.end());
  req.once('close', () => res.end());
}

/** A request target the server cannot read: answered 400, never thrown out of the listener. */
class TargetError extends Error {}

/** Characters a request target may hold (RFC 9112 §3.2: visible ASCII); anything else is refused. */
const TARGET_CHARS = /^[\x21-\x7e]+$/;

/**
 * Path and query string of a request target, origin-form (`/items?a=1`) or absolute-form
 * (`http://host/items?a=1`, RFC 9112 §3.2.2: the host is ignored). Throws TargetError.
 */
export function parseTarget(target: string): { readonly path: string; readonly search: string } {
  if (!TARGET_CHARS.test(target)) throw new TargetError('The request target is not valid');
  let url: URL;
  try {
    // Origin-form is resolved against a fixed origin, so `//host/..` cannot name a host.
    url = target.startsWith('/') ? new URL(`http://localhost${target}`) : new URL(target);
  } catch {
    throw new TargetError('The request target is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetError('The request target is not an http(s) URL');
  return { path: url.pathname, search: url.search.slice(1) };
}

/**
 * Query-string pairs as API Gateway reports them (`+` is a space), decoded strictly: invalid
 * percent-encoding or UTF-8 is refused rather than becoming U+FFFD. Keys live in a Map, so
 * `__proto__` or `constructor` are keys like any other.
 */
export function parseQueryString(search: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const decode = (part: string) => {
      try {
        return decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        throw new TargetError('The query string is not valid percent-encoded UTF-8');
      }
    };
    const key = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/** An object without a prototype, so no key can reach Object.prototype. */
function record<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const out: Record<string, V> = Object.create(null);
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** Turns one request into the API Gateway event the handler answers. Throws TargetError. */
function toEvent(req: http.IncomingMessage, body: Buffer, identity: ServerIdentity, requestId: string): ServerEvent {
  const { path, search } = parseTarget(req.url ?? '/');
  const multi = parseQueryString(search);
  const headers = record(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return {
    httpMethod: req.method ?? '',
    path,
    resource: '',
    pathParameters: null,
    queryStringParameters: multi.size ? record([...multi].map(([k, v]) => [k, v[v.length - 1]] as const)) : null,
    multiValueQueryStringParameters: multi.size ? record(multi) : null,
    headers,
    // Raw bytes, so the handler itself checks that they are UTF-8.
    body: body.length ? body.toString('base64') : null,
    isBase64Encoded: body.length > 0,
    requestContext: {
      requestId: identity.requestId ?? requestId,
      identity: { sourceIp: req.socket.remoteAddress, ...(identity.userArn ? { userArn: identity.userArn } : {}) },
      ...(identity.authorizer ? { authorizer: identity.authorizer } : {}),
    },
  };
}

/** Problems for requests Node's HTTP parser refuses before any listener sees them; anything else is a 400. */
const CLIENT_ERRORS: Readonly<Record<string, Problem>> = {
  HPE_HEADER_OVERFLOW: new Problem('headers-too-large', 'The request headers are larger than the server accepts'),
  ERR_HTTP_REQUEST_TIMEOUT: new Problem('request-timeout', 'The request was not received in time'),
};
const NOT_HTTP = new Problem('validation', 'The request is not valid HTTP/1.1');

/**
 * A request Node's parser refuses (a method or target that is not HTTP, malformed headers) is answered
 * with a problem like every other 4xx, instead of Node's bare `400 Bad Request`; then the connection closes.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  answerOnSocket(socket, CLIENT_ERRORS[error.code ?? ''] ?? NOT_HTTP);
}

/** Writes `problem` as the whole answer on a raw socket, then closes the connection. */
function answerOnSocket(socket: Duplex, problem: Problem, extraHeaders: Record<string, string> = {}): void {
  const out = problemResponse(problem, undefined);
  const head = Object.entries({ ...out.headers, ...extraHeaders, 'content-length': String(Buffer.byteLength(out.body)), 'connection': 'close' }).map(([k, v]) => `${k}: ${v}`);
  socket.end([`HTTP/1.1 ${out.statusCode} ${http.STATUS_CODES[out.statusCode] ?? ''}`, ...head, '', out.body].join('\r\n'));
}

/** CONNECT asks for a tunnel, which Node hands over as a bare socket: answered, never left open. */
const NO_TUNNEL = new Problem('method-not-allowed', 'CONNECT is not served here');

/**
 * How long a whole request (headers and body) may take to arrive before it is answered 408 and its
 * connection closed: a client that announced a longer body than it sends must not hold a connection for
 * Node's default of five minutes. API Gateway gives up on an integration after 29 seconds.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** How the server reports an error it answered with 500: the error's name only, never its message. */
function logUnexpected(error: unknown): void {
  if (logLevelAllows('ERROR')) console.error(JSON.stringify({ level: 'ERROR', message: 'request failed', error: error instanceof Error ? error.name : typeof error }));
}

export function createQueryServer(target: QueryHandler | Dispatch, options: QueryServerOptions): http.Server {
  const dispatch: Dispatch = typeof target === 'function' ? target : (event, requestId) => target.handle(event, { awsRequestId: requestId });
  const onError = options.onError ?? logUnexpected;
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => {
    const requestId = randomUUID();
    let event: ServerEvent;
    try {
      event = toEvent(req, body, options.identity?.(req.headers) ?? {}, requestId);
    } catch (e) {
      if (e instanceof TargetError) {
        sendProblem(res, new Problem('validation', e.message));
        return;
      }
      throw e;
    }
    // One chain with a final catch: a rejection here must never be unhandled (it would end the process).
    dispatch(event, requestId).then((out) => {
      res.writeHead(out.statusCode, out.headers);
      res.end(out.body);
    }).catch((e) => {
      onError(e);
      sendProblem(res, INTERNAL);
    });
  };
  const listener: http.RequestListener = (req, res) => {
    // No input may end the process: whatever one request throws is answered and logged.
    const guard = (f: () => void) => {
      try {
        f();
      } catch (e) {
        onError(e);
        sendProblem(res, INTERNAL);
      }
    };
    guard(() => {
      if (options.healthPath && req.method === 'GET' && req.url === options.healthPath) {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end('{"status":"ok"}');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      let refused = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (refused) {
          // A client that never stops sending is cut off after a bounded amount.
          if (size > options.maxBodyBytes + DRAIN_LIMIT_BYTES) req.destroy();
          return;
        }
        if (size > options.maxBodyBytes) {
          refused = true;
          chunks.length = 0;
          guard(() => refuseBody(req, res, options.maxBodyBytes));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (!refused) guard(() => answer(req, res, Buffer.concat(chunks)));
      });
    });
  };
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Node checks the timeouts every connectionsCheckingInterval (30 s by default), not at the deadline.
  const timeouts = { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(1000, requestTimeout) };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2', ...timeouts }, listener)
    : http.createServer(timeouts, listener);
  server.on('clientError', answerClientError);
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => answerOnSocket(socket, NO_TUNNEL, { allow: 'GET, POST, PUT, PATCH, DELETE' }));
  return server;
}
