/**
 * The query handler as a plain HTTP server: each request becomes an API Gateway REST proxy event, so
 * routing, validation, errors and audit are exactly those of the Lambda function.
 */
import { randomUUID } from 'crypto';
import * as http from 'http';
import { QueryHandler } from './handler';

export interface QueryServerOptions {
  /** Requests with larger bodies are refused with 413 without reading further. */
  readonly maxBodyBytes: number;
}

function problem(res: http.ServerResponse, status: number, title: string, detail: string, then?: () => void): void {
  res.writeHead(status, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...(then ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ type: `tag:cdk-secure-db-api,2026:problem:${status === 413 ? 'payload-too-large' : 'internal'}`, title, status, detail }), then);
}

export function createQueryServer(handler: QueryHandler, options: QueryServerOptions): http.Server {
  return http.createServer((req, res) => {
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
      const requestId = randomUUID();
      handler.handle({
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
        requestContext: { requestId, identity: { sourceIp: req.socket.remoteAddress } },
      }, { awsRequestId: requestId }).then((out) => {
        res.writeHead(out.statusCode, out.headers);
        res.end(out.body);
      }, () => problem(res, 500, 'Internal error', 'The request could not be handled'));
    });
  });
}
