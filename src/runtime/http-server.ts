/**
 * The query handler as a plain HTTP server: each request becomes an API Gateway REST proxy event, so
 * routing, validation, errors and audit are exactly those of the Lambda function.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import * as https from 'https';
import { QueryHandler } from './handler';
import type { HttpResponse } from './problem';

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
}

function problem(res: http.ServerResponse, status: number, title: string, detail: string, then?: () => void): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...(then ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ type: `tag:cdk-secure-db-api,2026:problem:${status === 413 ? 'payload-too-large' : 'internal'}`, title, status, detail }), then);
}

export function createQueryServer(target: QueryHandler | Dispatch, options: QueryServerOptions): http.Server {
  const dispatch: Dispatch = typeof target === 'function' ? target : (event, requestId) => target.handle(event, { awsRequestId: requestId });
  const listener: http.RequestListener = (req, res) => {
    if (options.healthPath && req.method === 'GET' && req.url === options.healthPath) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end('{"status":"ok"}');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        refused = true;
        // Answer first, then drop the connection instead of reading the rest of the body.
        problem(res, 413, 'Request body too large', `The request body is larger than ${options.maxBodyBytes} bytes`, () => req.destroy());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const url = new URL(req.url ?? '/', 'http://localhost');
      const multi: Record<string, string[]> = {};
      for (const [k, v] of url.searchParams) (multi[k] ??= []).push(v);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const body = Buffer.concat(chunks);
      const identity = options.identity?.(req.headers) ?? {};
      const requestId = randomUUID();
      dispatch({
        httpMethod: req.method ?? '',
        path: url.pathname,
        resource: '',
        pathParameters: null,
        queryStringParameters: Object.keys(multi).length ? Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1]])) : null,
        multiValueQueryStringParameters: Object.keys(multi).length ? multi : null,
        headers,
        // Raw bytes, so the handler itself checks that they are UTF-8.
        body: body.length ? body.toString('base64') : null,
        isBase64Encoded: body.length > 0,
        requestContext: {
          requestId: identity.requestId ?? requestId,
          identity: { sourceIp: req.socket.remoteAddress, ...(identity.userArn ? { userArn: identity.userArn } : {}) },
          ...(identity.authorizer ? { authorizer: identity.authorizer } : {}),
        },
      }, requestId).then((out) => {
        res.writeHead(out.statusCode, out.headers);
        res.end(out.body);
      }, () => problem(res, 500, 'Internal error', 'The request could not be handled'));
    });
  };
  return options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' }, listener) : http.createServer(listener);
}
