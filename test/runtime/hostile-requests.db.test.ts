/**
 * Hostile requests at every entry point: the HTTP server (what the container backend and the dev server
 * run) and the Lambda handler, on both real servers. Keys named after every Object.prototype member,
 * request targets Node's own client would refuse, invalid encodings, oversized bodies and answers, and
 * generated requests (fast-check). Every request is answered 2xx or 4xx (problem+json), nothing reaches
 * the unexpected-error path, and the server keeps serving.
 */
import * as http from 'http';
import * as net from 'net';
import { AddressInfo } from 'net';
import * as fc from 'fast-check';
import { apiEvent, ENGINES, handlerFor, json, param, query, TestDatabase } from './helpers/databases';
import { rawRequest, RawReply } from './helpers/raw-http';
import { sqliPayloads } from './helpers/sqli';
import { QueryHandler } from '../../src/runtime/handler';
import { createQueryServer, DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/runtime/http-server';
import { MAX_FIELD_ERRORS } from '../../src/runtime/problem';

/** Every name Object.prototype has: each must be a key like any other. */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);
const PAYLOADS = sqliPayloads([]);
const PROBLEM = 'application/problem+json';

/** Keys a generated request uses: declared ones, prototype names, payloads and arbitrary text. */
const keyArb = fc.oneof(
  fc.constantFrom('name', 'id', 'limit', ...PROTOTYPE_NAMES),
  fc.constantFrom(...PAYLOADS),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const valueArb = fc.oneof(fc.constantFrom(...PAYLOADS), fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.integer().map(String));

/** Percent-encodes text, with some raw bytes left as the attacker wrote them (valid or not). */
const encodedArb = fc.oneof(
  valueArb.map((v) => encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, 'x'))),
  fc.constantFrom('%', '%Z', '%C0%AF', '%ED%A0%80', '%FF', '%00', '+', '%2B', '%25%32%35', '..%2F', '%E2%82'),
  fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,16}$/),
);
const queryArb = fc.array(fc.tuple(fc.oneof(keyArb.map((k) => encodeURIComponent(k.replace(/[\uD800-\uDFFF]/g, 'x'))), encodedArb), encodedArb), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const pathArb = fc.oneof(
  fc.constantFrom('/items', '/items/1', '/items/', '/items/-1', '/items/%31', '/items/%C0%AF', '/items/1/x', '/', '//a:b:c/items', '/%2e%2e/items', '/items/..'),
  fc.array(encodedArb, { maxLength: 4 }).map((segments) => `/${segments.join('/')}`),
);
const targetArb = fc.oneof(
  fc.tuple(pathArb, queryArb).map(([p, q]) => (q ? `${p}?${q}` : p)),
  fc.tuple(fc.constantFrom('http://a:b:c', 'http://example.com', 'https://[::1]', 'ftp://x', 'http://%', 'mailto:', '*', 'http:', 'HTTP://X'), pathArb, queryArb)
    .map(([origin, p, q]) => `${origin}${p}${q ? `?${q}` : ''}`),
);
const bodyArb = fc.oneof(
  fc.constant(''),
  fc.json({ maxDepth: 3 }),
  fc.dictionary(keyArb, fc.oneof(valueArb, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 })
    .map((o) => JSON.stringify(o)),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const methodArb = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'get', 'BREW');
const contentTypeArb = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/json; charset=latin1', '');

describe.each(ENGINES)('hostile requests on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;
  let server: http.Server;
  let port: number;
  const unexpected: unknown[] = [];

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_hreq');
    await db.exec(`CREATE TABLE rt_hreq (id ${db.types.serial}, name ${db.types.text})`);
    await db.exec("INSERT INTO rt_hreq (name) VALUES ('apple')");
    handler = handlerFor(db, [
      query({
        name: 'list',
        method: 'GET',
        path: '/items',
        sql: "SELECT id, name FROM rt_hreq WHERE name LIKE COALESCE(:name, '%') ORDER BY id LIMIT 5",
        parameters: [param({ name: 'name', type: 'string', in: 'query', required: false })],
      }),
      query({ name: 'get', method: 'GET', path: '/items/{id}', single: true, sql: 'SELECT id, name FROM rt_hreq WHERE id = :id', parameters: [param({ name: 'id', type: 'integer', in: 'path' })] }),
      query({
        name: 'add',
        method: 'POST',
        path: '/items',
        access: 'write',
        sql: 'INSERT INTO rt_hreq (name) VALUES (:name)',
        parameters: [param({ name: 'name', type: 'string', maxLength: 100 })],
      }),
      // Parameters named like Object.prototype members are read from the request only.
      query({
        name: 'protoNamed',
        method: 'GET',
        path: '/proto/{toString}',
        sql: 'SELECT :toString AS a, :constructor AS b',
        parameters: [param({ name: 'toString', type: 'string', in: 'path' }), param({ name: 'constructor', type: 'string', in: 'query', required: false })],
      }),
    ]);
    server = createQueryServer(handler, { maxBodyBytes: 64 * 1024, onError: (e) => unexpected.push(e) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await handler?.close();
    await db?.close();
  });

  afterEach(() => {
    // Nothing a request sends may reach the server's unexpected-error path.
    expect(unexpected).toEqual([]);
  });

  const get = (target: string) => rawRequest(port, `GET ${target} HTTP/1.1`);

  function expectAnswered(res: RawReply, what: string): void {
    if (res.status < 200 || res.status >= 500 || res.error) throw new Error(`${what}: answered ${res.status}${res.error ? ` (${res.error})` : ''}`);
    if (res.status >= 400) expect(res.headers['content-type']).toBe(PROBLEM);
  }

  async function expectServing(): Promise<void> {
    const res = await get('/items/1');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).data).toEqual({ id: 1, name: 'apple' });
  }

  describe('HTTP server', () => {
    test.each(PROTOTYPE_NAMES)('?%s=1 is refused as an unknown parameter, and the server keeps serving', async (name) => {
      const res = await get(`/items?${encodeURIComponent(name)}=1`);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toBe(PROBLEM);
      expect(JSON.parse(res.body).errors).toEqual([{ name, in: 'query', reason: 'is not a parameter of this route' }]);
      await expectServing();
    });

    test.each(PROTOTYPE_NAMES)('%s as a body key is refused as an unknown field', async (name) => {
      const res = await rawRequest(port, 'POST /items HTTP/1.1\r\nContent-Type: application/json', `{"name":"x",${JSON.stringify(name)}:{"polluted":true}}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).errors).toEqual([{ name, in: 'body', reason: 'is not a parameter of this route' }]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    test('parameters named toString and constructor take only what the request sends', async () => {
      const absent = await get('/proto/x');
      expect(absent.status).toBe(200);
      expect(JSON.parse(absent.body).data).toEqual([{ a: 'x', b: null }]);
      const given = await get('/proto/x?constructor=y');
      expect(JSON.parse(given.body).data).toEqual([{ a: 'x', b: 'y' }]);
    });

    test('an absolute-form target is served by its path (RFC 9112); one that is not a URL is a 400 problem', async () => {
      const served = await get('http://api.example.com/items/1');
      expect(served.status).toBe(200);
      for (const target of ['http://a:b:c/items/1', 'http://%/items', 'ftp://example.com/items', 'mailto:a@b', '*', 'items/1']) {
        const res = await get(target);
        expect({ target, status: res.status, type: res.headers['content-type'] }).toEqual({ target, status: 400, type: PROBLEM });
      }
      // An origin-form target that looks like a network path is a path, not a host.
      const networkPath = await get('//a:b:c/items/1');
      expect(networkPath.status).toBe(404);
      await expectServing();
    });

    test('requests Node\'s HTTP parser refuses are answered with a problem too', async () => {
      for (const [head, status] of [['get /items HTTP/1.1', 400], ['GET /items HTTP/1.1\r\nBad Header: x', 400], [`GET /items HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}`, 431]] as const) {
        const res = await rawRequest(port, head);
        expect({ status: res.status, type: res.headers['content-type'], problem: JSON.parse(res.body).status }).toEqual({ status, type: PROBLEM, problem: status });
      }
      await expectServing();
    });

    test('CONNECT is answered 405 with a problem and the connection closed, never left open as a tunnel', async () => {
      const res = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1');
      expect({ status: res.status, type: res.headers['content-type'], allow: res.headers.allow, problem: JSON.parse(res.body).status })
        .toEqual({ status: 405, type: PROBLEM, allow: 'GET, POST, PUT, PATCH, DELETE', problem: 405 });
      await expectServing();
    });

    test.each(['%C0%AF', '%ED%A0%80', '%FF', '%E2%82', '%', '%ZZ'])('%s in the query string is a 400 problem, as in the path', async (bad) => {
      const inQuery = await get(`/items?name=${bad}`);
      expect(inQuery.status).toBe(400);
      expect(JSON.parse(inQuery.body).detail).toMatch(/not valid percent-encoded UTF-8/);
      const inKey = await get(`/items?${bad}=1`);
      expect(inKey.status).toBe(400);
      if (bad !== '%' && bad !== '%ZZ') {
        const inPath = await get(`/items/${bad}`);
        expect(inPath.status).toBe(400);
      }
    });

    test('the errors of a 400 are bounded: thousands of unknown keys do not make an answer larger than a page', async () => {
      // About 60 KB of keys, within the body limit; the first one longer than any name the answer repeats.
      const keys = ['k'.repeat(500), ...Array.from({ length: 1500 }, (_, i) => `unknown_key_${String(i).padStart(20, '0')}`)];
      const request = JSON.stringify(Object.fromEntries([['name', 'x'], ...keys.map((k) => [k, 1])]));
      expect(Buffer.byteLength(request)).toBeGreaterThan(50 * 1024);
      const res = await rawRequest(port, 'POST /items HTTP/1.1\r\nContent-Type: application/json', request);
      expect(res.status).toBe(400);
      expect(Buffer.byteLength(res.body)).toBeLessThan(4 * 1024);
      const body = JSON.parse(res.body);
      expect(body.errors).toHaveLength(MAX_FIELD_ERRORS);
      expect(body.omittedErrors).toBe(keys.length - MAX_FIELD_ERRORS);
      expect(body.errors[0].name).toMatch(/^k{63}…$/);
      expect(body.detail).toBe(`${keys.length} parameters are invalid`);
    });

    test('a 10 MB body is answered 413 and the connection ends cleanly, never with a reset', async () => {
      const big = Buffer.alloc(10 * 1024 * 1024, 'a');
      for (let i = 0; i < 4; i++) {
        const res = await rawRequest(port, 'POST /items HTTP/1.1\r\nContent-Type: application/json', big);
        expect({ status: res.status, error: res.error, type: res.headers['content-type'] }).toEqual({ status: 413, error: undefined, type: PROBLEM });
        expect(JSON.parse(res.body).detail).toBe('The request body is larger than 65536 bytes');
      }
      await expectServing();
    });

    test('generated requests are answered 2xx or 4xx with problem+json, and the server keeps serving', async () => {
      await fc.assert(fc.asyncProperty(methodArb, targetArb, contentTypeArb, bodyArb, async (method, target, contentType, body) => {
        // The raw client writes the target as given; only characters a request line cannot carry are encoded.
        const line = target.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c.replace(/[\uD800-\uDFFF]/g, 'x')));
        const res = await rawRequest(port, `${method} ${line} HTTP/1.1${contentType ? `\r\nContent-Type: ${contentType}` : ''}`, method === 'HEAD' ? '' : body);
        if (method === 'HEAD') {
          expect(res.status).toBeGreaterThanOrEqual(200);
          expect(res.status).toBeLessThan(500);
          return;
        }
        expectAnswered(res, `${method} ${line}`);
      }), { numRuns: 300 });
      await expectServing();
    });
  });

  describe('Lambda handler', () => {
    test.each(PROTOTYPE_NAMES)('?%s=x is refused as an unknown parameter (400), not ignored', async (name) => {
      const res = await handler.handle(apiEvent('GET', '/items', { query: { [name]: 'x' } }));
      expect(res.statusCode).toBe(400);
      expect(json(res).errors).toEqual([{ name, in: 'query', reason: 'is not a parameter of this route' }]);
    });

    test('path parameters named like Object.prototype members are read from the event only', async () => {
      const res = await handler.handle(apiEvent('GET', '/proto/x', { resource: '/proto/{toString}', pathParameters: { toString: 'x' } }));
      expect(res.statusCode).toBe(200);
      expect(json(res).data).toEqual([{ a: 'x', b: null }]);
      const polluted = await handler.handle(apiEvent('GET', '/proto/x', { resource: '/proto/{toString}', pathParameters: JSON.parse('{"toString":"x","__proto__":{"constructor":"y"}}') }));
      expect(json(polluted).data).toEqual([{ a: 'x', b: null }]);
    });

    test('generated events are answered 2xx or 4xx with problem+json', async () => {
      const events = fc.record({
        method: methodArb,
        path: pathArb,
        resource: fc.constantFrom('/items', '/items/{id}', '/proto/{toString}', '', '/{proxy+}'),
        pathParameters: fc.option(fc.dictionary(keyArb, valueArb, { maxKeys: 3 }), { nil: undefined }),
        query: fc.option(fc.dictionary(keyArb, fc.oneof(valueArb, fc.array(valueArb, { maxLength: 3 })), { maxKeys: 4 }), { nil: undefined }),
        body: bodyArb,
        contentType: contentTypeArb,
        base64: fc.boolean(),
      });
      await fc.assert(fc.asyncProperty(events, async (e) => {
        const res = await handler.handle(apiEvent(e.method, e.path, {
          resource: e.resource,
          pathParameters: e.pathParameters,
          query: e.query,
          rawBody: e.body ? (e.base64 ? Buffer.from(e.body, 'latin1').toString('base64') : e.body) : undefined,
          isBase64Encoded: e.base64 && e.body !== '',
          headers: e.contentType ? { 'Content-Type': e.contentType } : {},
        }));
        if (res.statusCode >= 500 || res.statusCode < 200) throw new Error(`${e.method} ${e.path}: ${res.statusCode} ${res.body}`);
        if (res.statusCode >= 400) expect(res.headers['content-type']).toBe(PROBLEM);
      }), { numRuns: 300 });
    });
  });
});

describe('HTTP server request timeout', () => {
  test('a body shorter than its Content-Length is answered 408 with a problem once the time is up, and the connection closed', async () => {
    // No database: the request never gets that far.
    const server = createQueryServer(() => Promise.reject(new Error('never called')), { maxBodyBytes: 1024, requestTimeoutMs: 300 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write('POST /items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":');
      await closed;
      const answer = Buffer.concat(received).toString('utf8');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/content-type: application\/problem\+json/i);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).status).toBe(408);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('the default lets a request take 30 seconds, above API Gateway\'s 29-second integration limit', () => {
    const server = createQueryServer(() => Promise.reject(new Error('never called')), { maxBodyBytes: 1024 });
    expect({ request: server.requestTimeout, headers: server.headersTimeout })
      .toEqual({ request: DEFAULT_REQUEST_TIMEOUT_MS, headers: DEFAULT_REQUEST_TIMEOUT_MS });
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
  });
});
