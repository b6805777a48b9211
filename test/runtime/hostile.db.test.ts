/**
 * Hostile input on both real servers: the public SQL-injection payload lists (test/fixtures/sqli) through
 * every parameter type and every source. Each value is either refused by validation (4xx
 * problem+json) or stored and returned byte for byte; a canary table proves nothing executed; no
 * request ever gets a 5xx.
 */
import { apiEvent, ENGINES, handlerFor, json, param, query, SERVER_MODES, TestDatabase } from './helpers/databases';
import { sqliPayloads } from './helpers/sqli';
import { QueryHandler } from '../../src/runtime/handler';

const EXTRA = [
  "'; DROP TABLE rt_canary; --", "1' OR '1'='1", "\\'; DELETE FROM rt_hostile; #", '$$; DROP TABLE rt_canary; $$', ':id', '?', '$1',
  "' UNION SELECT secret FROM rt_canary --", '*/ DROP TABLE rt_canary; /*', '%27%20OR%201%3D1', '1e309', '-0', '0x1F', 'NaN', 'true ', ' 42',
  '2024-02-30T00:00:00Z', '00000000-0000-0000-0000-00000000000g', 'é\u0301', '𝄞'.repeat(10), 'a\u0000b', '\uD800',
];

/** What API Gateway would have in event.path (a lone surrogate cannot be percent-encoded at all). */
function safeEncode(p: string): string {
  try {
    return encodeURIComponent(p);
  } catch {
    return 'not-encodable';
  }
}

const TYPED = ['i', 'f', 'b', 'u', 'ts', 'e'] as const;

// The whole suite again on servers whose settings change how SQL text is read (sql_mode, character set,
// standard_conforming_strings): values must mean the same whatever the server's mode.
describe.each([...ENGINES, ...SERVER_MODES])('hostile input on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;
  const all = sqliPayloads(EXTRA);

  beforeAll(async () => {
    db = await open();
    for (const tbl of ['rt_hostile', 'rt_canary']) await db.exec(`DROP TABLE IF EXISTS ${tbl}`);
    const t = db.types;
    await db.exec(`CREATE TABLE rt_hostile (id ${t.serial}, p ${t.text}, q ${t.text}, s ${t.text}, i ${t.int}, f ${t.float}, b ${t.bool}, u ${t.uuid}, ts ${t.timestamp}, e VARCHAR(10))`);
    await db.exec('CREATE TABLE rt_canary (secret VARCHAR(20))');
    await db.exec("INSERT INTO rt_canary (secret) VALUES ('canary')");
    const typed = (location: 'query' | 'body') => [
      param({ name: 'i', type: 'integer', in: location, required: false }),
      param({ name: 'f', type: 'number', in: location, required: false }),
      param({ name: 'b', type: 'boolean', in: location, required: false }),
      param({ name: 'u', type: 'uuid', in: location, required: false }),
      param({ name: 'ts', type: 'date-time', in: location, required: false }),
      param({ name: 'e', type: 'enum', in: location, required: false, values: ['red', 'green'] }),
    ];
    handler = handlerFor(db, [
      query({
        name: 'strings',
        method: 'POST',
        path: '/strings/{p}',
        access: 'write',
        sql: 'INSERT INTO rt_hostile (p, q, s) VALUES (:p, :q, :s)',
        parameters: [
          param({ name: 'p', type: 'string', in: 'path', maxLength: 2000 }),
          param({ name: 'q', type: 'string', in: 'query', maxLength: 2000 }),
          param({ name: 's', type: 'string', in: 'body', maxLength: 2000 }),
        ],
      }),
      query({
        name: 'find',
        method: 'GET',
        path: '/strings',
        sql: 'SELECT p, q, s FROM rt_hostile WHERE s = :s ORDER BY id',
        parameters: [param({ name: 's', type: 'string', in: 'query', maxLength: 2000 })],
      }),
      query({ name: 'typedQuery', method: 'GET', path: '/typed', sql: 'SELECT :i AS i, :f AS f, :b AS b, :u AS u, :ts AS ts, :e AS e', parameters: typed('query') }),
      query({
        name: 'typedBody',
        method: 'POST',
        path: '/typed',
        access: 'write',
        sql: 'INSERT INTO rt_hostile (i, f, b, u, ts, e) VALUES (:i, :f, :b, :u, :ts, :e)',
        parameters: typed('body'),
      }),
      query({
        name: 'typedPath',
        method: 'GET',
        path: '/typed/{i}/{u}/{ts}/{e}',
        sql: 'SELECT :i AS i, :u AS u, :ts AS ts, :e AS e',
        parameters: [
          param({ name: 'i', type: 'integer', in: 'path' }), param({ name: 'u', type: 'uuid', in: 'path' }),
          param({ name: 'ts', type: 'date-time', in: 'path' }), param({ name: 'e', type: 'enum', in: 'path', values: ['red', 'green'] }),
        ],
      }),
    ]);
  });

  afterAll(async () => {
    await handler?.close();
    await db?.close();
  });

  function expectNo5xx(res: { statusCode: number; headers: Record<string, string> }, context: string) {
    if (res.statusCode >= 500) throw new Error(`${context} answered ${res.statusCode}`);
    if (res.statusCode >= 400) expect(res.headers['content-type']).toBe('application/problem+json');
  }

  test('there are payloads to try', () => {
    expect(all.length).toBeGreaterThan(100);
  });

  test('string parameters in path, query and body store every payload verbatim or refuse it', async () => {
    let stored = 0;
    for (const p of all) {
      const res = await handler.handle(apiEvent('POST', `/strings/${safeEncode(p)}`, {
        resource: '/strings/{p}', pathParameters: { p }, query: { q: p }, body: { s: p },
      }));
      expectNo5xx(res, `POST /strings ${JSON.stringify(p)}`);
      if (res.statusCode !== 200) {
        // Only values that are not valid text may be refused.
        expect(/\u0000|[\uD800-\uDFFF]/.test(p)).toBe(true);
        continue;
      }
      stored++;
      const read = await handler.handle(apiEvent('GET', '/strings', { query: { s: p } }));
      expect(read.statusCode).toBe(200);
      expect(json(read).data).toContainEqual({ p, q: p, s: p });
    }
    expect(stored).toBeGreaterThan(all.length - 5);
  });

  test.each(TYPED)('typed parameter %s refuses every payload it cannot represent, in the query string and the body', async (name) => {
    for (const p of all) {
      const q = await handler.handle(apiEvent('GET', '/typed', { query: { [name]: p } }));
      expectNo5xx(q, `GET /typed ?${name}=${JSON.stringify(p)}`);
      const b = await handler.handle(apiEvent('POST', '/typed', { body: { [name]: p } }));
      expectNo5xx(b, `POST /typed ${name}=${JSON.stringify(p)}`);
      // A string payload is never a valid body value for a non-string type…
      if (name !== 'u' && name !== 'ts' && name !== 'e') expect(b.statusCode).toBe(400);
      // …and in the query string only well-formed values of the type get through, unchanged in meaning.
      if (q.statusCode === 200) {
        const got = json(q).data[0][name];
        // (-0 and 0 are the same number to the database.)
        if (name === 'i' || name === 'f') expect(Number(got) === Number(p)).toBe(true);
        if (name === 'e') expect(got).toBe(p);
      }
    }
  });

  test('typed path parameters refuse payloads', async () => {
    for (const p of all) {
      const res = await handler.handle(apiEvent('GET', '/typed/x/y/z/w', {
        resource: '/typed/{i}/{u}/{ts}/{e}', pathParameters: { i: p, u: p, ts: p, e: p },
      }));
      expectNo5xx(res, `GET /typed/{…} ${JSON.stringify(p)}`);
      expect(res.statusCode).toBe(400);
    }
  });

  test('a quote cannot end the value: a UNION payload is a value that matches nothing, never the canary', async () => {
    await db.exec("INSERT INTO rt_hostile (p, q, s) VALUES ('tenant-b', 'tenant-b', 'tenant-b')");
    for (const p of [
      "' UNION SELECT secret, secret, secret FROM rt_canary #",
      "' UNION SELECT secret, secret, secret FROM rt_canary -- ",
      "\\' UNION SELECT secret, secret, secret FROM rt_canary #",
      "\\\\' OR 1=1 #",
      '" UNION SELECT secret, secret, secret FROM rt_canary #',
      "x' OR s = 'tenant-b",
    ]) {
      const res = await handler.handle(apiEvent('GET', '/strings', { query: { s: p } }));
      expect({ p, status: res.statusCode, data: json(res).data }).toEqual({ p, status: 200, data: [] });
    }
  });

  test('nothing executed: the canary is intact and every stored row is one the API wrote', async () => {
    expect(await db.exec('SELECT secret FROM rt_canary')).toEqual([{ secret: 'canary' }]);
    const [{ n }] = await db.exec('SELECT COUNT(*) AS n FROM rt_hostile WHERE s IS NULL AND p IS NOT NULL');
    expect(Number(n)).toBe(0);
  });

  test.each([
    ['huge number', '{"i": 1e309}'],
    ['deeply nested value', `{"s": ${'['.repeat(500)}${']'.repeat(500)}}`],
    ['object as value', '{"s": {"$gt": ""}}'],
    ['array as value', '{"s": ["a", "b"]}'],
    ['prototype pollution', '{"__proto__": {"admin": true}, "s": "x"}'],
    ['constructor key', '{"constructor": {"prototype": {}}, "s": "x"}'],
    ['empty object', '{}'],
    ['trailing garbage', '{"s": "x"} {"s": "y"}'],
  ])('%s is a 4xx problem', async (_what, rawBody) => {
    const res = await handler.handle(apiEvent('POST', '/strings/a', { resource: '/strings/{p}', pathParameters: { p: 'a' }, query: { q: 'b' }, rawBody }));
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  test('a leading byte order mark is ignored, as RFC 8259 allows', async () => {
    const res = await handler.handle(apiEvent('POST', '/strings/bom', { resource: '/strings/{p}', pathParameters: { p: 'bom' }, query: { q: 'bom' }, rawBody: '\uFEFF{"s": "bom"}' }));
    expect(res.statusCode).toBe(200);
  });

  test.each(['TRACE', 'OPTIONS', 'CONNECT', 'get', ''])('method %j on a known path is a 4xx problem', async (method) => {
    const res = await handler.handle(apiEvent(method, '/typed'));
    expect([404, 405]).toContain(res.statusCode);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  test.each([['text/plain'], ['application/json; charset=latin1'], ['application/x-www-form-urlencoded'], ['multipart/form-data; boundary=x']])('content type %s is 415', async (contentType) => {
    const res = await handler.handle(apiEvent('POST', '/typed', { rawBody: '{"i": 1}', headers: { 'Content-Type': contentType } }));
    expect(res.statusCode).toBe(415);
  });
});
