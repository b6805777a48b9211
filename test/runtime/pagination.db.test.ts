/**
 * Keyset pagination on both real servers: every page of a table with duplicate values in the first
 * ordering column (ascending, descending, mixed, with NULLs), a property over random rows and page sizes,
 * rows inserted and deleted between pages, every kind of bad cursor and page size (400, never 500), the
 * next link, GraphQL paging, and the signing key read once from Secrets Manager.
 */
import { createHmac } from 'crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import * as fc from 'fast-check';
import { apiEvent, ENGINES, json, param, query, TestDatabase } from './helpers/databases';
import { sqliPayloads } from './helpers/sqli';
import { StaticCredentials } from '../../src/runtime/credentials';
import { CURSOR_KEY_ENV, CursorKeySource, processCursorKey, secretCursorKey } from '../../src/runtime/cursor-key';
import { GraphqlHandler } from '../../src/runtime/graphql/handler';
import { QueryHandler, QueryHandlerOptions } from '../../src/runtime/handler';
import { cursorKeyFor } from '../../src/runtime/lambda';
import { CURSOR_VERSION, issueCursor } from '../../src/runtime/pagination';
import { OrderColumnConfig, PreparedQuery, prepareConfig, QueryConfig, RuntimeConfig } from '../../src/shared/config';
import { MAX_CURSOR_CHARS, paginationProblems } from '../../src/shared/pagination';

const KEY = Buffer.from('a test signing key of at least thirty-two bytes');
const ROW_LIMIT = 50;
const LIFETIME = 3600;

/** One row of the test table: `grp` repeats, `rnk` may be NULL, `id` is unique. */
interface Row {
  readonly id: number;
  readonly grp: number;
  readonly rnk: number | null;
  readonly tenant: string;
}

function pagedQuery(name: string, orderBy: OrderColumnConfig[], extra: Partial<QueryConfig> = {}): QueryConfig {
  return query({
    name,
    method: 'GET',
    path: `/${name}`,
    sql: 'SELECT id, grp, rnk FROM rt_page_items WHERE tenant = :tenant',
    parameters: [param({ name: 'tenant', type: 'string', in: 'query', maxLength: 10, default: 't1' })],
    columns: [{ name: 'id', type: 'integer', nullable: false }, { name: 'grp', type: 'integer' }, { name: 'rnk', type: 'integer' }],
    rowLimit: ROW_LIMIT,
    pagination: { orderBy, cursorLifetimeSeconds: LIFETIME },
    ...extra,
  });
}

const ORDERINGS: Array<[string, OrderColumnConfig[]]> = [
  ['asc', [{ column: 'grp' }, { column: 'id' }]],
  ['desc', [{ column: 'grp', descending: true }, { column: 'id', descending: true }]],
  ['mixed', [{ column: 'grp' }, { column: 'id', descending: true }]],
  ['mixed the other way', [{ column: 'grp', descending: true }, { column: 'id' }]],
  ['NULLs ascending', [{ column: 'rnk' }, { column: 'id' }]],
  ['NULLs descending', [{ column: 'rnk', descending: true }, { column: 'grp' }, { column: 'id', descending: true }]],
];

const QUERIES: QueryConfig[] = ORDERINGS.map(([, orderBy], i) => pagedQuery(`page${i}`, orderBy));

/** The order the API promises: NULL before every value, each column in its direction. */
function ordered(rows: readonly Row[], orderBy: readonly OrderColumnConfig[]): number[] {
  const cmp = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a - b);
  return [...rows].sort((x, y) => {
    for (const o of orderBy) {
      const c = cmp(x[o.column as keyof Row] as number | null, y[o.column as keyof Row] as number | null);
      if (c !== 0) return o.descending ? -c : c;
    }
    return 0;
  }).map((r) => r.id);
}

function handlerOf(db: TestDatabase, queries: QueryConfig[], options: Partial<QueryHandlerOptions> = {}): QueryHandler {
  const config: RuntimeConfig = {
    version: 1,
    engine: db.engine,
    connection: { ...db.admin, credentials: { type: 'static', password: '' }, tls: { enabled: false }, connectTimeoutMs: 2000 },
    queries,
  };
  return new QueryHandler({
    config,
    engine: db.driver,
    credentials: new StaticCredentials({ user: db.admin.user, password: '' }),
    log: () => undefined,
    observer: { record: () => undefined },
    cursorKey: async () => KEY,
    ...options,
  });
}

/** A cursor with any payload, signed with the test key (forgeries that pass the MAC). */
function signed(payload: unknown, version = CURSOR_VERSION): string {
  const body = Buffer.concat([Buffer.from([version]), Buffer.from(JSON.stringify(payload), 'utf8')]);
  return Buffer.concat([body, createHmac('sha256', KEY).update(body).digest()]).toString('base64url');
}

/** The cursor with one byte of its payload changed. */
function altered(cursor: string): string {
  const b = Buffer.from(cursor, 'base64url');
  b[5] = b[5] === 0x41 ? 0x42 : 0x41;
  return b.toString('base64url');
}

/** The cursor's payload signed with another key. */
function resigned(cursor: string): string {
  const b = Buffer.from(cursor, 'base64url');
  const body = b.subarray(0, b.length - 32);
  return Buffer.concat([body, createHmac('sha256', 'another key of at least thirty-two bytes!').update(body).digest()]).toString('base64url');
}

describe.each(ENGINES)('keyset pagination on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;
  let rows: Row[];

  async function load(data: readonly Row[]): Promise<void> {
    await db.exec('DELETE FROM rt_page_items');
    if (data.length > 0) await db.exec(`INSERT INTO rt_page_items (id, grp, rnk, tenant) VALUES ${data.map((r) => `(${r.id}, ${r.grp}, ${r.rnk ?? 'NULL'}, '${r.tenant}')`).join(', ')}`);
    rows = [...data];
  }

  /** Every page of a query, following `meta.nextCursor`; the ids in order. */
  async function walk(name: string, limit: number, between?: (page: number) => Promise<void>): Promise<number[]> {
    const ids: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const res = await handler.handle(apiEvent('GET', `/${name}`, { query: { limit: String(limit), ...(cursor ? { cursor } : {}) } }));
      expect(res.statusCode).toBe(200);
      const body = json(res);
      expect(body.data.length).toBeLessThanOrEqual(limit);
      ids.push(...body.data.map((r: { id: unknown }) => Number(r.id)));
      cursor = body.meta.nextCursor ?? undefined;
      expect(body.meta.truncated).toBe(cursor !== undefined);
      if (!cursor) return ids;
      await between?.(page);
    }
    throw new Error('more than 1000 pages');
  }

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_page_items');
    await db.exec(`CREATE TABLE rt_page_items (id ${db.types.int} PRIMARY KEY, grp ${db.types.int}, rnk ${db.types.int}, tenant VARCHAR(10))`);
    handler = handlerOf(db, [...QUERIES, pagedQuery('other', [{ column: 'grp' }, { column: 'id' }])]);
  });

  afterAll(async () => {
    await handler?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_page_items');
    await db?.close();
  });

  describe('walking every page', () => {
    beforeAll(async () => {
      // 23 rows: grp repeats (0..3), rnk is NULL for every third row.
      await load(Array.from({ length: 23 }, (_, i) => ({ id: i + 1, grp: (i * 7) % 4, rnk: i % 3 === 0 ? null : (i * 5) % 6, tenant: 't1' })));
    });

    test.each(ORDERINGS.map(([label, orderBy], i) => [label, orderBy, i] as const))('%s: the pages together are the whole ordered result, once each', async (_l, orderBy, i) => {
      for (const limit of [1, 3, 7, 23, ROW_LIMIT]) {
        expect(await walk(`page${i}`, limit)).toEqual(ordered(rows, orderBy));
      }
    });

    test('without a limit a page holds rowLimit rows; the last page says so with a null cursor and no next link', async () => {
      const body = json(await handler.handle(apiEvent('GET', '/page0')));
      expect(body.data).toHaveLength(23);
      expect(body.meta).toEqual({ rowCount: 23, truncated: false, nextCursor: null });
      expect(body.links).toEqual({ next: null });
    });

    test('the next link keeps the stage path, the other parameters and the page size, URL-encoded; the Link header says the same', async () => {
      const event = apiEvent('GET', '/page0', { query: { tenant: 't1', limit: '2' } });
      const res = await handler.handle({ ...event, requestContext: { ...event.requestContext, path: '/v1/page0' } });
      const body = json(res);
      expect(body.links.next).toBe(`/v1/page0?tenant=t1&limit=2&cursor=${encodeURIComponent(body.meta.nextCursor)}`);
      expect(res.headers.link).toBe(`<${body.links.next}>; rel="next"`);
      const next = new URL(body.links.next, 'https://example.com');
      const again = await handler.handle(apiEvent('GET', '/page0', { query: Object.fromEntries(next.searchParams) }));
      expect(json(again).data.map((r: { id: unknown }) => Number(r.id))).toEqual(ordered(rows, ORDERINGS[0][1]).slice(2, 4));
    });

    test('the next link is always a path on this host, percent-encoded', async () => {
      const event = apiEvent('GET', '/page0', { query: { tenant: 't1', limit: '1' } });
      const res = await handler.handle({ ...event, requestContext: { ...event.requestContext, path: '//evil.example/a b/page0' } });
      expect(json(res).links.next).toMatch(/^\/evil\.example\/a%20b\/page0\?tenant=t1&limit=1&cursor=/);
    });
  });

  test('a property: for random rows and page sizes, the pages concatenated are the ordered result, without duplicates', async () => {
    const rowArb = fc.uniqueArray(
      fc.record({ id: fc.integer({ min: 1, max: 10_000 }), grp: fc.integer({ min: -2, max: 2 }), rnk: fc.option(fc.integer({ min: 0, max: 3 })) }),
      { selector: (r) => r.id, maxLength: 40 },
    );
    const orderingArb = fc.integer({ min: 0, max: ORDERINGS.length - 1 });
    await fc.assert(fc.asyncProperty(rowArb, fc.integer({ min: 1, max: 12 }), orderingArb, async (data, limit, i) => {
      await load(data.map((r) => ({ ...r, tenant: 't1' })));
      const ids = await walk(`page${i}`, limit);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(ordered(rows, ORDERINGS[i][1]));
    }), { numRuns: 25 });
  });

  test('rows inserted and deleted between pages: no untouched row repeats or vanishes', async () => {
    await load(Array.from({ length: 30 }, (_, i) => ({ id: (i + 1) * 10, grp: i % 3, rnk: i, tenant: 't1' })));
    const before = ordered(rows, ORDERINGS[0][1]);
    const touched = new Set<number>();
    const ids = await walk('page0', 4, async (page) => {
      // Each page: one row in every group inserted, one row not yet seen deleted.
      const fresh = [0, 1, 2].map((grp) => ({ id: 1000 + page * 3 + grp, grp, rnk: 0, tenant: 't1' }));
      await db.exec(`INSERT INTO rt_page_items (id, grp, rnk, tenant) VALUES ${fresh.map((r) => `(${r.id}, ${r.grp}, 0, 't1')`).join(', ')}`);
      fresh.forEach((r) => touched.add(r.id));
      const victim = before[before.length - 1 - page];
      await db.exec(`DELETE FROM rt_page_items WHERE id = ${victim}`);
      touched.add(victim);
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.filter((id) => !touched.has(id))).toEqual(before.filter((id) => !touched.has(id)));
  });

  describe('bad cursors and page sizes', () => {
    let cursor: string;
    beforeAll(async () => {
      await load(Array.from({ length: 10 }, (_, i) => ({ id: i + 1, grp: i % 2, rnk: i, tenant: i < 8 ? 't1' : 't2' })));
      cursor = json(await handler.handle(apiEvent('GET', '/page0', { query: { limit: '2' } }))).meta.nextCursor;
    });

    async function refused(queryString: Record<string, string | string[]>, path = '/page0', userArn?: string) {
      const res = await handler.handle(apiEvent('GET', path, { query: queryString, userArn }));
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toBe('application/problem+json');
      const body = json(res);
      expect(body).not.toHaveProperty('stack');
      return body;
    }

    const cases: Array<[string, () => string, RegExp]> = [
      ['not base64url', () => '!!!not-a-cursor', /not base64url/],
      ['too long', () => 'A'.repeat(5000), /longer than 4096/],
      ['too short', () => 'AQ', /too short/],
      ['of another version', () => signed({ q: 'page0', p: 'x', c: 'x', t: 0, k: [] }, 2), /format version/],
      ['altered', () => altered(cursor), /was not issued by this API, or was altered/],
      ['signed with another key', () => resigned(cursor), /was not issued by this API/],
      ['not a payload', () => signed([1, 2, 3]), /is not a cursor of this API/],
    ];

    test.each(cases)('%s: 400 invalid-cursor saying which', async (_kind, make, detail) => {
      const body = await refused({ cursor: make() });
      expect(body.type).toMatch(/:invalid-cursor$/);
      expect(body.detail).toMatch(detail);
      expect(body.errors).toEqual([expect.objectContaining({ name: 'cursor', in: 'query' })]);
    });

    test('a cursor of another query, other parameter values or another caller is foreign', async () => {
      expect((await refused({ cursor }, '/other')).detail).toMatch(/belongs to another query/);
      expect((await refused({ cursor, tenant: 't2' })).detail).toMatch(/other parameter values/);
      expect((await refused({ cursor }, '/page0', 'arn:aws:iam::123456789012:user/mallory')).detail).toMatch(/another caller/);
    });

    test('an expired cursor, one from the future, and one whose values do not fit the ordering', async () => {
      const q = prepareConfig({ version: 1, engine: db.engine, connection: { host: 'h', port: 1, database: 'd', user: 'u', credentials: { type: 'static', password: '' }, tls: { enabled: false } }, queries: [QUERIES[0]] })[0] as PreparedQuery;
      const ctx = { query: q, values: { tenant: 't1' }, principal: 'anonymous' };
      const old = issueCursor(KEY, { ...ctx, now: Math.floor(Date.now() / 1000) - LIFETIME - 5 }, { grp: 1, id: 3 });
      expect((await refused({ cursor: old })).detail).toMatch(/has expired/);
      const future = issueCursor(KEY, { ...ctx, now: Math.floor(Date.now() / 1000) + 3600 }, { grp: 1, id: 3 });
      expect((await refused({ cursor: future })).detail).toMatch(/in the future/);
      const good = JSON.parse(Buffer.from(old, 'base64url').subarray(1, -32).toString('utf8'));
      for (const k of [[1], [1, 2, 3], [{ a: 1 }, 2], [[1], 2]]) {
        expect((await refused({ cursor: signed({ ...good, t: Math.floor(Date.now() / 1000), k }) })).detail).toMatch(/does not fit this query's ordering/);
      }
    });

    test('every Object.prototype name, and any text, as a cursor is a 400 problem, never a 500', async () => {
      for (const name of Object.getOwnPropertyNames(Object.prototype)) {
        expect((await refused({ cursor: name })).type).toMatch(/:invalid-cursor$/);
        expect((await refused({ [name]: cursor })).status).toBe(400);
      }
      await fc.assert(fc.asyncProperty(fc.string({ minLength: 1, maxLength: 200 }), async (text) => {
        const res = await handler.handle(apiEvent('GET', '/page0', { query: { cursor: text } }));
        expect(res.statusCode).toBe(400);
      }), { numRuns: 100 });
    });

    test.each(['0', '-1', '1.5', String(ROW_LIMIT + 1), 'abc', '', '1e3', '9007199254740993'])('limit=%p is a 400 validation problem', async (limit) => {
      const body = await refused({ limit });
      expect(body.type).toMatch(/:validation$/);
      expect(body.errors).toEqual([{ name: 'limit', in: 'query', reason: `must be a whole number from 1 to ${ROW_LIMIT}` }]);
    });

    test('a repeated limit or cursor, and their errors listed with the other parameters\'', async () => {
      const body = await refused({ limit: ['1', '2'], cursor: [cursor, cursor], tenant: 'x'.repeat(20) });
      expect(body.errors.map((e: { name: string }) => e.name).sort()).toEqual(['cursor', 'limit', 'tenant']);
    });
  });

  test('ordering values more exact than the driver\'s (timestamps with microseconds, big integers, decimals) page exactly', async () => {
    const ts = db.engine === 'postgres' ? 'TIMESTAMPTZ' : 'DATETIME(6)';
    await db.exec('DROP TABLE IF EXISTS rt_page_exact');
    await db.exec(`CREATE TABLE rt_page_exact (id ${db.types.int} PRIMARY KEY, at ${ts} NOT NULL, big ${db.types.int} NOT NULL, amount DECIMAL(30, 10) NOT NULL)`);
    try {
      // Six rows within one millisecond, and integers and decimals beyond a double's precision.
      const at = (us: number) => `'2026-05-01 12:00:00.123${String(us).padStart(3, '0')}'`;
      await db.exec(`INSERT INTO rt_page_exact VALUES ${[1, 2, 3, 4, 5, 6].map((i) => `(${i}, ${at(i * 100 + (i % 2))}, 9007199254740${993 + (i % 3)}, 12345678901234567890.${i % 2}00000001)`).join(', ')}`);
      const exact = (name: string, column: string) => pagedQuery(name, [{ column, descending: true }, { column: 'id', descending: true }], {
        sql: 'SELECT id, at, big, amount FROM rt_page_exact',
        parameters: [],
        columns: [{ name: 'id', type: 'integer' }, { name: 'at', type: 'date-time' }, { name: 'big', type: 'string' }, { name: 'amount', type: 'string' }],
      });
      const h = handlerOf(db, [exact('byAt', 'at'), exact('byBig', 'big'), exact('byAmount', 'amount')]);
      try {
        for (const [name, expected] of [['byAt', [6, 5, 4, 3, 2, 1]], ['byBig', [5, 2, 4, 1, 6, 3]], ['byAmount', [5, 3, 1, 6, 4, 2]]] as const) {
          const ids: number[] = [];
          let cursor: string | undefined;
          do {
            const body = json(await h.handle(apiEvent('GET', `/${name}`, { query: { limit: '1', ...(cursor ? { cursor } : {}) } })));
            ids.push(...body.data.map((r: { id: unknown }) => Number(r.id)));
            expect(Object.keys(body.data[0] ?? {}).filter((k) => k.startsWith('secure_db_api'))).toEqual([]);
            cursor = body.meta.nextCursor ?? undefined;
          } while (cursor && ids.length < 20);
          expect([name, ids]).toEqual([name, expected]);
        }
      } finally {
        await h.close();
      }
    } finally {
      await db.exec('DROP TABLE IF EXISTS rt_page_exact');
    }
  });

  test('cursor values are bound, never SQL: injection payloads in a validly signed cursor only compare', async () => {
    await load(Array.from({ length: 6 }, (_, i) => ({ id: i + 1, grp: 0, rnk: 0, tenant: i % 2 ? 't1' : 't2' })));
    const byTenant = pagedQuery('byTenant', [{ column: 'tenant' }, { column: 'id' }], {
      sql: 'SELECT id, tenant FROM rt_page_items',
      parameters: [],
      columns: [{ name: 'id', type: 'integer' }, { name: 'tenant', type: 'string' }],
    });
    const h = handlerOf(db, [byTenant]);
    const now = Math.floor(Date.now() / 1000);
    const first = JSON.parse(Buffer.from(json(await h.handle(apiEvent('GET', '/byTenant', { query: { limit: '1' } }))).meta.nextCursor, 'base64url').subarray(1, -32).toString('utf8'));
    try {
      for (const payload of sqliPayloads(["t1' OR '1'='1", "\\'; DROP TABLE rt_page_items; --"])) {
        const res = await h.handle(apiEvent('GET', '/byTenant', { query: { cursor: signed({ ...first, t: now, k: [payload, 0] }) } }));
        expect([payload, res.statusCode]).toEqual([payload, 200]);
        // Exactly the rows the database itself puts after that value, with the value bound.
        const p = db.engine === 'postgres' ? ['$1', '$2'] : ['?', '?'];
        const [{ n }] = await db.exec(`SELECT COUNT(*) AS n FROM rt_page_items WHERE tenant > ${p[0]} OR (tenant = ${p[1]} AND id > 0)`, [payload, payload]);
        expect([payload, json(res).data.length]).toEqual([payload, Number(n)]);
      }
      expect(await db.exec('SELECT COUNT(*) AS n FROM rt_page_items')).toEqual([{ n: db.engine === 'postgres' ? '6' : 6 }]);
    } finally {
      await h.close();
    }
  });

  test('a signing key that cannot be read is a 503, and is read again on the next call', async () => {
    await load(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, grp: 0, rnk: 0, tenant: 't1' })));
    let fail = true;
    let reads = 0;
    const source: CursorKeySource = async () => {
      reads++;
      if (fail) throw new Error('AccessDenied');
      return KEY;
    };
    const h = handlerOf(db, QUERIES, { cursorKey: source });
    try {
      const res = await h.handle(apiEvent('GET', '/page0', { query: { limit: '2' } }));
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      fail = false;
      expect((await h.handle(apiEvent('GET', '/page0', { query: { limit: '2' } }))).statusCode).toBe(200);
      expect(reads).toBe(2);
    } finally {
      await h.close();
    }
  });

  test('ordering columns that do not identify a row are refused loudly (500, logged) instead of skipping rows', async () => {
    await load(Array.from({ length: 4 }, (_, i) => ({ id: i + 1, grp: 0, rnk: 0, tenant: 't1' })));
    const logs: Array<Record<string, unknown>> = [];
    const h = handlerOf(db, [pagedQuery('notUnique', [{ column: 'grp' }])], { log: (e) => logs.push(e) });
    try {
      const res = await h.handle(apiEvent('GET', '/notUnique', { query: { limit: '2' } }));
      expect(res.statusCode).toBe(500);
      expect(logs).toEqual([expect.objectContaining({ level: 'ERROR', message: expect.stringMatching(/add a unique column to orderBy/) })]);
    } finally {
      await h.close();
    }
  });

  describe('GraphQL', () => {
    const gqlQueries = [QUERIES[2]];
    let reader: QueryHandler;
    let graphql: GraphqlHandler;
    beforeAll(async () => {
      await load(Array.from({ length: 9 }, (_, i) => ({ id: i + 1, grp: i % 3, rnk: i, tenant: 't1' })));
      reader = handlerOf(db, gqlQueries);
      graphql = new GraphqlHandler({ config: { path: '/graphql', maxDepth: 6, maxComplexity: 100, introspection: false }, reader });
    });
    afterAll(() => reader?.close());

    const call = async (args: string) => json(await graphql.handle(apiEvent('POST', '/graphql', { body: { query: `{ page2(${args}) { rows { id } truncated nextCursor } }` } })));

    test('the list field takes limit and after, and answers nextCursor until the last page', async () => {
      const ids: number[] = [];
      let after: string | null = null;
      do {
        const body = await call(`limit: 4${after ? `, after: ${JSON.stringify(after)}` : ''}`);
        expect(body.errors).toBeUndefined();
        ids.push(...body.data.page2.rows.map((r: { id: number }) => r.id));
        after = body.data.page2.nextCursor;
        expect(body.data.page2.truncated).toBe(after !== null);
      } while (after);
      expect(ids).toEqual(ordered(rows, ORDERINGS[2][1]));
    });

    test('a bad cursor or limit is BAD_USER_INPUT', async () => {
      for (const args of ['after: "nope!"', 'limit: 0', `limit: ${ROW_LIMIT + 1}`, 'after: "__proto__"']) {
        const body = await call(args);
        expect(body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
      }
    });
  });
});

describe('paginationProblems', () => {
  const paged = pagedQuery('p', [{ column: 'id' }]);
  test('SQL Server is refused, and so is a top-level OFFSET or FETCH', () => {
    expect(paginationProblems(paged, 'sqlserver', 'SELECT id FROM t')).toEqual([expect.stringMatching(/keyset pagination is for PostgreSQL, MySQL and MariaDB only/)]);
    expect(paginationProblems(paged, 'postgres', 'SELECT id FROM t OFFSET 5')).toEqual([expect.stringMatching(/must not have its own OFFSET/)]);
    expect(paginationProblems(paged, 'postgres', 'SELECT id FROM t FETCH FIRST 5 ROWS ONLY')).toEqual([expect.stringMatching(/must not have its own FETCH/)]);
    expect(paginationProblems(paged, 'mariadb', 'SELECT id FROM (SELECT id FROM t ORDER BY id LIMIT 5) AS x')).toEqual([]);
  });

  test('a row whose ordering values would need an over-long cursor gets none, rather than one that would be refused', () => {
    const q = prepareConfig({ version: 1, engine: 'postgres', connection: { host: 'h', port: 1, database: 'd', user: 'u', credentials: { type: 'static', password: '' }, tls: { enabled: false } }, queries: [pagedQuery('p', [{ column: 'grp' }, { column: 'id' }])] })[0];
    const ctx = { query: q, values: { tenant: 't1' }, principal: 'anonymous' };
    expect(issueCursor(KEY, ctx, { grp: 'x'.repeat(2000), id: 1 }).length).toBeLessThanOrEqual(MAX_CURSOR_CHARS);
    expect(() => issueCursor(KEY, ctx, { grp: 'x'.repeat(4000), id: 1 })).toThrow(/longer than 4096 characters/);
  });
});

describe('the development server\'s signing key', () => {
  test('is SECURE_DB_API_CURSOR_KEY when set (at least 32 bytes), else random bytes kept for the process', async () => {
    expect(Buffer.from(await processCursorKey({ [CURSOR_KEY_ENV]: 'x'.repeat(32) })()).toString()).toBe('x'.repeat(32));
    await expect(processCursorKey({ [CURSOR_KEY_ENV]: 'short' })()).rejects.toThrow(/at least 32 bytes/);
    const random = await processCursorKey({})();
    expect(random).toHaveLength(32);
    expect(await processCursorKey({})()).toBe(random);
  });
});

describe('the signing key from Secrets Manager', () => {
  const sm = mockClient(SecretsManagerClient);
  afterEach(() => sm.reset());

  test('is read once and kept', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:secret' }).resolves({ SecretString: 'k'.repeat(64) });
    const source = secretCursorKey('arn:secret', new SecretsManagerClient({ region: 'eu-west-1' }));
    const [a, b] = await Promise.all([source(), source()]);
    expect(Buffer.from(a).toString()).toBe('k'.repeat(64));
    expect(await source()).toBe(b);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  test('the query functions read the secret their configuration names through the environment, with the role\'s credentials', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cursor' }).resolves({ SecretString: 'z'.repeat(64) });
    const config = { cursorKey: { secretArn: '${env:TEST_CURSOR_SECRET}' } } as unknown as RuntimeConfig;
    const region = process.env.AWS_REGION;
    process.env.TEST_CURSOR_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:cursor';
    process.env.AWS_REGION = 'eu-west-1';
    try {
      const source = cursorKeyFor(config, async () => ({ accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' }));
      if (!source) throw new Error('no key source for a configuration with cursorKey');
      expect(Buffer.from(await source()).toString()).toBe('z'.repeat(64));
      expect(cursorKeyFor({ ...config, cursorKey: undefined })).toBeUndefined();
    } finally {
      delete process.env.TEST_CURSOR_SECRET;
      if (region === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = region;
    }
  });

  test('a failed read is tried again; a key shorter than 32 bytes is refused', async () => {
    sm.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: 'short' });
    const source = secretCursorKey('arn:secret', new SecretsManagerClient({ region: 'eu-west-1' }));
    await expect(source()).rejects.toThrow(/throttled/);
    await expect(source()).rejects.toThrow(/at least 32 bytes/);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
