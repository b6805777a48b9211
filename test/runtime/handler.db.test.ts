/**
 * The handler on the real PostgreSQL and MariaDB servers: types round-trip, values are bound (never
 * executed), read-only users cannot write, broken connections recover, slow queries time out.
 */
import { apiEvent, ENGINES, handlerFor, json, param, query, TestDatabase } from './helpers/databases';
import { until } from './helpers/shipped';
import { sqliPayloads } from './helpers/sqli';
import { QueryHandler } from '../../src/runtime/handler';

/** Always exercised, whether or not shared/ is present. */
const EXTRA = [
  "'; DROP TABLE rt_canary; --", "1' OR '1'='1", "\\'; DELETE FROM rt_items; #", '$$; DROP TABLE rt_canary; $$', ':id', '?', "' UNION SELECT secret FROM rt_canary --",
];

describe.each(ENGINES)('query handler on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;
  let reader: QueryHandler;
  const t = () => db.types;

  const queries = () => [
    query({
      name: 'createItem',
      method: 'POST',
      path: '/items',
      access: 'write',
      sql: 'INSERT INTO rt_items (s, i, f, b, u, ts, e) VALUES (:s, :i, :f, :b, :u, :ts, :e)',
      parameters: [
        param({ name: 's', type: 'string', maxLength: 2000 }),
        param({ name: 'i', type: 'integer', required: false }),
        param({ name: 'f', type: 'number', required: false }),
        param({ name: 'b', type: 'boolean', required: false }),
        param({ name: 'u', type: 'uuid', required: false }),
        param({ name: 'ts', type: 'date-time', required: false }),
        param({ name: 'e', type: 'enum', values: ['red', 'green'], default: 'green' }),
      ],
    }),
    query({
      name: 'findByS',
      method: 'GET',
      path: '/items/by-s',
      sql: 'SELECT s, i, f, b, u, ts, e FROM rt_items WHERE s = :s ORDER BY id',
      parameters: [param({ name: 's', type: 'string', in: 'query', maxLength: 2000 })],
    }),
    query({
      name: 'getItem',
      method: 'GET',
      path: '/items/{id}',
      single: true,
      sql: 'SELECT id, s, i FROM rt_items WHERE id = :id',
      parameters: [param({ name: 'id', type: 'integer', in: 'path' })],
    }),
    query({
      name: 'listItems',
      method: 'GET',
      path: '/items',
      rowLimit: 3,
      sql: "SELECT id FROM rt_items WHERE s LIKE 'bulk%' ORDER BY id",
    }),
    query({
      name: 'literals',
      method: 'GET',
      path: '/literals',
      sql: "SELECT ':not_a_param' AS a, /* :nor_this? */ :x AS b, 'why?' AS c -- :or_this?\n",
      parameters: [param({ name: 'x', type: 'string', in: 'query' })],
    }),
    query({ name: 'slow', method: 'GET', path: '/slow', timeoutMs: 300, sql: db.sleepSql('5') }),
    query({
      name: 'setUnique',
      method: 'PUT',
      path: '/unique',
      access: 'write',
      sql: 'INSERT INTO rt_unique (k) VALUES (:k)',
      parameters: [param({ name: 'k', type: 'string', maxLength: 100 })],
    }),
    query({ name: 'canary', method: 'GET', path: '/canary', sql: 'SELECT COUNT(*) AS n FROM rt_canary' }),
  ];

  beforeAll(async () => {
    db = await open();
    for (const tbl of ['rt_items', 'rt_unique', 'rt_canary']) await db.exec(`DROP TABLE IF EXISTS ${tbl}`);
    await db.exec(`CREATE TABLE rt_items (id ${t().serial}, s ${t().text}, i ${t().int}, f ${t().float}, b ${t().bool}, u ${t().uuid}, ts ${t().timestamp}, e VARCHAR(10))`);
    await db.exec('CREATE TABLE rt_unique (k VARCHAR(10) NOT NULL UNIQUE)');
    await db.exec('CREATE TABLE rt_canary (secret VARCHAR(20))');
    await db.exec("INSERT INTO rt_canary (secret) VALUES ('canary')");
    await db.createReadOnlyUser('rt_reader', ['rt_items', 'rt_unique', 'rt_canary']);
    handler = handlerFor(db, queries());
    reader = handlerFor(db, queries(), { user: 'rt_reader' });
  });

  afterAll(async () => {
    await handler?.close();
    await reader?.close();
    await db?.close();
  });

  async function create(body: Record<string, unknown>) {
    return handler.handle(apiEvent('POST', '/items', { body }));
  }

  test('every parameter type round-trips through a write and a read', async () => {
    // GIVEN
    const row = { s: 'round trip ✓ 𝄞', i: 9007199254740991, f: 3.25, b: true, u: '5A0F6C1E-9C7B-4C36-9F0B-2D4C6F1A7B21', ts: '2024-02-29T23:59:58.123+02:00', e: 'red' };
    // WHEN
    const created = await create(row);
    const read = await handler.handle(apiEvent('GET', '/items/by-s', { query: { s: row.s } }));
    // THEN
    expect(created.statusCode).toBe(200);
    expect(json(created).meta.affectedRows).toBe(1);
    expect(read.statusCode).toBe(200);
    const [got] = json(read).data;
    expect(String(got.s)).toBe(row.s);
    expect(String(got.i)).toBe('9007199254740991');
    expect(Number(got.f)).toBe(3.25);
    expect(got.b === true || got.b === 1).toBe(true);
    expect(got.u).toBe(row.u.toLowerCase());
    expect(new Date(got.ts).toISOString()).toBe('2024-02-29T21:59:58.123Z');
    expect(got.e).toBe('red');
  });

  test('a date-time parameter reaches the server to the microsecond, as a value read from a row is sent back', async () => {
    const precise = db.engine === 'postgres' ? 'TIMESTAMPTZ(6)' : 'DATETIME(6)';
    await db.exec('DROP TABLE IF EXISTS rt_instants');
    await db.exec(`CREATE TABLE rt_instants (id ${t().serial}, at ${precise})`);
    const text = db.engine === 'postgres' ? "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')" : "DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f')";
    const h = handlerFor(db, [
      query({ name: 'add', method: 'POST', path: '/instants', access: 'write', sql: 'INSERT INTO rt_instants (at) VALUES (:at)', parameters: [param({ name: 'at', type: 'date-time' })] }),
      query({ name: 'after', method: 'GET', path: '/instants', sql: `SELECT ${text} AS at FROM rt_instants WHERE at > :after ORDER BY at`, parameters: [param({ name: 'after', type: 'date-time', in: 'query' })] }),
    ]);
    try {
      for (const at of ['2026-01-01T00:00:00.123456Z', '2026-01-01T01:00:00.123457+01:00', '2026-01-01T00:00:00.123458Z']) {
        expect((await h.handle(apiEvent('POST', '/instants', { body: { at } }))).statusCode).toBe(200);
      }
      const after = json(await h.handle(apiEvent('GET', '/instants', { query: { after: '2026-01-01T00:00:00.123456Z' } })));
      expect(after.data.map((r: { at: string }) => r.at)).toEqual(['2026-01-01 00:00:00.123457', '2026-01-01 00:00:00.123458']);
    } finally {
      await h.close();
      await db.exec('DROP TABLE rt_instants');
    }
  });

  test('optional parameters bind NULL and defaults apply', async () => {
    const created = await create({ s: 'defaults' });
    const [got] = json(await handler.handle(apiEvent('GET', '/items/by-s', { query: { s: 'defaults' } }))).data;
    expect(created.statusCode).toBe(200);
    expect(got).toMatchObject({ i: null, f: null, b: null, u: null, ts: null, e: 'green' });
  });

  test('colons and question marks in literals and comments are not parameters', async () => {
    const res = await handler.handle(apiEvent('GET', '/literals', { query: { x: "it's :x?" } }));
    expect(res.statusCode).toBe(200);
    expect(json(res).data).toEqual([{ a: ':not_a_param', b: "it's :x?", c: 'why?' }]);
  });

  test('SQL-injection payloads are stored and returned verbatim, and nothing executes', async () => {
    const payloads = sqliPayloads(EXTRA);
    expect(payloads.length).toBeGreaterThan(20);
    for (const p of payloads) {
      const res = await create({ s: p });
      // Either rejected by validation, or stored.
      if (res.statusCode === 400) {
        expect(json(res).type).toMatch(/validation$/);
        continue;
      }
      expect(res.statusCode).toBe(200);
      const read = await handler.handle(apiEvent('GET', '/items/by-s', { query: { s: p } }));
      expect(read.statusCode).toBe(200);
      expect(json(read).data.map((r: { s: string }) => r.s)).toContain(p);
    }
    const canary = await db.exec('SELECT secret FROM rt_canary');
    expect(canary).toEqual([{ secret: 'canary' }]);
  });

  test('single-row queries answer 404 when nothing matches and 200 with one object otherwise', async () => {
    const [{ id }] = await db.exec('SELECT MIN(id) AS id FROM rt_items');
    const hit = await handler.handle(apiEvent('GET', `/items/${id}`, { resource: '/items/{id}', pathParameters: { id: String(id) } }));
    const miss = await handler.handle(apiEvent('GET', '/items/999999', { resource: '/items/{id}', pathParameters: { id: '999999' } }));
    expect(hit.statusCode).toBe(200);
    expect(Number(json(hit).data.id)).toBe(Number(id));
    expect(miss.statusCode).toBe(404);
    expect(miss.headers['content-type']).toBe('application/problem+json');
  });

  test('the row limit cuts the result and says so', async () => {
    for (let k = 0; k < 5; k++) await create({ s: `bulk${k}` });
    const res = await handler.handle(apiEvent('GET', '/items'));
    expect(res.statusCode).toBe(200);
    // The first three in the query's own order.
    const bulk = await db.exec("SELECT id FROM rt_items WHERE s LIKE 'bulk%' ORDER BY id");
    expect(json(res).data.map((r: { id: unknown }) => Number(r.id))).toEqual(bulk.slice(0, 3).map((r) => Number(r.id)));
    expect(json(res).meta).toEqual({ rowCount: 3, truncated: true });
  });

  test('a read-only database user cannot write', async () => {
    const before = await db.exec('SELECT COUNT(*) AS n FROM rt_items');
    const res = await reader.handle(apiEvent('POST', '/items', { body: { s: 'reader write' } }));
    const after = await db.exec('SELECT COUNT(*) AS n FROM rt_items');
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/denied|permission|INSERT|rt_items/i);
    expect(Number(after[0].n)).toBe(Number(before[0].n));
    // …while it can still read.
    expect((await reader.handle(apiEvent('GET', '/canary'))).statusCode).toBe(200);
  });

  test('a killed connection is recovered on the next call', async () => {
    expect((await reader.handle(apiEvent('GET', '/canary'))).statusCode).toBe(200);
    const opened = reader.stats.connectionsOpened;
    // WHEN the server kills the reader's session between calls
    expect(await db.killSessionsOf('rt_reader')).toBeGreaterThan(0);
    // (the server lists a killed session until it is gone: wait for that, not for a time)
    await until(async () => (await db.killSessionsOf('rt_reader')) === 0);
    // THEN the next call still succeeds, on a new connection
    const res = await reader.handle(apiEvent('GET', '/canary'));
    expect(res.statusCode).toBe(200);
    expect(json(res).data[0].n).toBeDefined();
    expect(reader.stats.connectionsOpened).toBe(opened + 1);
  });

  test('a slow query times out with 504 and the next call works', async () => {
    const started = Date.now();
    const res = await handler.handle(apiEvent('GET', '/slow'));
    expect(res.statusCode).toBe(504);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(json(res)).toMatchObject({ status: 504, type: expect.stringMatching(/timeout$/) });
    expect((await handler.handle(apiEvent('GET', '/canary'))).statusCode).toBe(200);
  });

  test('a unique violation is a 409 that quotes nothing from the database', async () => {
    expect((await handler.handle(apiEvent('PUT', '/unique', { body: { k: 'secret-k' } }))).statusCode).toBe(200);
    const dup = await handler.handle(apiEvent('PUT', '/unique', { body: { k: 'secret-k' } }));
    expect(dup.statusCode).toBe(409);
    expect(dup.body).not.toMatch(/secret-k|duplicate|rt_unique|key/i);
  });

  test('a value the database rejects is a 400 without the driver message', async () => {
    const res = await handler.handle(apiEvent('PUT', '/unique', { body: { k: 'much-too-long' } }));
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toMatch(/too long|character varying|Data too long|rt_unique/i);
  });

  test('an unreachable database is a 503 with Retry-After', async () => {
    const down = handlerFor(db, queries(), { port: 1 });
    const res = await down.handle(apiEvent('GET', '/canary'));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
  });
});
