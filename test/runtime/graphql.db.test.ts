/**
 * The GraphQL endpoint on both real servers: queries and mutations over the same definitions as REST,
 * typed variables, claims and scopes, audit per field without sensitive values, depth and complexity
 * limits, introspection switch, persisted queries, and spec-shaped errors without driver text.
 */
import * as fc from 'fast-check';
import { apiEvent, ENGINES, handlerFor, json, param, query, TestDatabase } from './helpers/databases';
import { sqliPayloads } from './helpers/sqli';
import { GraphqlHandler } from '../../src/runtime/graphql/handler';
import { QueryHandler } from '../../src/runtime/handler';
import { AuditRecord } from '../../src/runtime/observability';
import { GraphqlConfig, QueryConfig } from '../../src/shared/config';
import { sha256Hex } from '../../src/shared/graphql-config';

const COLUMNS = [
  { name: 'id', type: 'integer', nullable: false },
  { name: 'status', type: 'string' },
  { name: 'total_cents', type: 'integer' },
  { name: 'paid', type: 'boolean' },
] as const;

const QUERIES: QueryConfig[] = [
  query({
    name: 'orders',
    method: 'GET',
    path: '/orders',
    sql: 'SELECT id, status, total_cents, paid FROM rt_gql_orders WHERE tenant_id = :claims.tenant_id AND status = COALESCE(:status, status) ORDER BY id',
    parameters: [param({ name: 'status', type: 'enum', values: ['open', 'paid'], in: 'query', required: false })],
    columns: [...COLUMNS],
    rowLimit: 2,
  }),
  query({
    name: 'orderById',
    method: 'GET',
    path: '/orders/{id}',
    sql: 'SELECT id, status, total_cents, paid FROM rt_gql_orders WHERE id = :id AND tenant_id = :claims.tenant_id',
    parameters: [param({ name: 'id', type: 'integer', in: 'path', minimum: 1 })],
    columns: [...COLUMNS],
    single: true,
  }),
  query({
    name: 'addOrder',
    method: 'POST',
    path: '/orders',
    access: 'write',
    requiredScopes: ['orders:write'],
    sql: 'INSERT INTO rt_gql_orders (id, tenant_id, status, total_cents, paid, note) VALUES (:id, :claims.tenant_id, :status, :totalCents, false, :note) RETURNING id',
    parameters: [
      param({ name: 'id', type: 'integer', minimum: 1 }),
      param({ name: 'status', type: 'string', maxLength: 200 }),
      param({ name: 'totalCents', type: 'integer', minimum: 0 }),
      param({ name: 'note', type: 'string', required: false, sensitive: true }),
    ],
    columns: [{ name: 'id', type: 'integer', nullable: false }],
  }),
  // Writes without RETURNING (MySQL and MariaDB have none for UPDATE and DELETE): no columns to declare.
  query({
    name: 'setStatus',
    method: 'PUT',
    path: '/orders/{id}/status',
    access: 'write',
    sql: 'UPDATE rt_gql_orders SET status = :status WHERE id = :id AND tenant_id = :claims.tenant_id',
    parameters: [param({ name: 'id', type: 'integer', in: 'path', minimum: 1 }), param({ name: 'status', type: 'string', maxLength: 200 })],
  }),
  query({
    name: 'removeOrder',
    method: 'DELETE',
    path: '/orders/{id}',
    access: 'write',
    sql: 'DELETE FROM rt_gql_orders WHERE id = :id AND tenant_id = :claims.tenant_id',
    parameters: [param({ name: 'id', type: 'integer', in: 'path', minimum: 1 })],
    columns: [],
  }),
];

const BASE: GraphqlConfig = { path: '/graphql', maxDepth: 6, maxComplexity: 100, introspection: false };

/** A GraphQL POST as API Gateway passes it, after an authorizer verified the caller's token. */
function gql(body: unknown, claims: Record<string, unknown> | undefined = { sub: 'alice', tenant_id: 't1' }, extra: { rawBody?: string; headers?: Record<string, string>; method?: string } = {}) {
  const e = apiEvent(extra.method ?? 'POST', '/graphql', { body, rawBody: extra.rawBody, headers: extra.headers });
  return { ...e, requestContext: { ...e.requestContext, authorizer: claims ? { claims } : null } };
}

describe.each(ENGINES)('GraphQL on %s', (_label, open) => {
  let db: TestDatabase;
  let reader: QueryHandler;
  let writer: QueryHandler;
  const records: AuditRecord[] = [];
  const logs: unknown[] = [];
  const handlerWith = (config: Partial<GraphqlConfig> = {}) => new GraphqlHandler({ config: { ...BASE, ...config }, reader, writer });

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_gql_orders');
    await db.exec(`CREATE TABLE rt_gql_orders (id ${db.types.int} PRIMARY KEY, tenant_id VARCHAR(20), status ${db.types.text}, total_cents ${db.types.int}, paid ${db.types.bool}, note ${db.types.text})`);
    await db.exec("INSERT INTO rt_gql_orders VALUES (1, 't1', 'open', 100, false, NULL), (2, 't1', 'paid', 250, true, NULL), (3, 't1', 'open', 5, false, NULL), (4, 't2', 'open', 999, false, NULL)");
    const observer = { record: (r: AuditRecord) => records.push(r) };
    const log = (entry: unknown) => logs.push(entry);
    reader = handlerFor(db, QUERIES.filter((q) => q.access === 'read'), { observer, log });
    writer = handlerFor(db, QUERIES.filter((q) => q.access === 'write'), { observer, log });
  });

  afterAll(async () => {
    await reader?.close();
    await writer?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_gql_orders');
    await db?.close();
  });

  test('a query with variables answers typed rows of the caller\'s tenant only, truncated at the row limit', async () => {
    const res = await handlerWith().handle(gql({ query: 'query Q($s: OrdersStatus) { orders(status: $s) { rows { id status total_cents paid } truncated } }', variables: { s: 'open' } }));
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ data: { orders: { rows: [{ id: 1, status: 'open', total_cents: 100, paid: false }, { id: 3, status: 'open', total_cents: 5, paid: false }], truncated: false } } });
    const all = json(await handlerWith().handle(gql({ query: '{ orders { rows { id paid } truncated } }' })));
    expect(all.data.orders).toEqual({ rows: [{ id: 1, paid: false }, { id: 2, paid: true }], truncated: true });
  });

  test('a single-row query answers null for another tenant\'s row', async () => {
    const mine = json(await handlerWith().handle(gql({ query: '{ orderById(id: 2) { id status } }' })));
    expect(mine).toEqual({ data: { orderById: { id: 2, status: 'paid' } } });
    const theirs = json(await handlerWith().handle(gql({ query: '{ orderById(id: 4) { id total_cents } }' })));
    expect(theirs).toEqual({ data: { orderById: null } });
  });

  test('a mutation needs its scope; with it the row is written, audited once, and the sensitive note is in no record or log', async () => {
    records.length = 0;
    logs.length = 0;
    const mutation = 'mutation Add($note: String) { addOrder(id: 10, status: "open", totalCents: 42, note: $note) { rows { id } affectedRows } }';
    const denied = json(await handlerWith().handle(gql({ query: mutation, variables: { note: 'card 4111-1111' } })));
    expect(denied).toEqual({ data: { addOrder: null }, errors: [{ message: 'The token lacks the scope orders:write', path: ['addOrder'], extensions: { code: 'FORBIDDEN' } }] });
    expect(await db.exec('SELECT COUNT(*) AS n FROM rt_gql_orders WHERE id = 10')).toEqual([{ n: db.engine === 'postgres' ? '0' : 0 }]);
    const ok = json(await handlerWith().handle(gql({ query: mutation, variables: { note: 'card 4111-1111' } }, { sub: 'alice', tenant_id: 't1', scope: 'orders:write' })));
    expect(ok.data.addOrder.rows).toEqual([{ id: 10 }]);
    expect(records.map((r) => [r.route, r.principal, r.outcome, r.status])).toEqual([
      ['graphql:addOrder', expect.any(String), 'forbidden', 403],
      ['graphql:addOrder', expect.any(String), 'success', 200],
    ]);
    expect(records[1].parameters).toEqual({ id: 10, status: 'open', totalCents: 42 });
    expect(JSON.stringify([records, logs])).not.toContain('4111');
  });

  test('a write without columns is a mutation answering its affected rows, of the caller\'s tenant only', async () => {
    await db.exec("INSERT INTO rt_gql_orders VALUES (20, 't1', 'open', 1, false, NULL), (21, 't1', 'open', 1, false, NULL), (22, 't2', 'open', 1, false, NULL)");
    const set = 'mutation S($id: SafeInt!) { setStatus(id: $id, status: "shipped") { affectedRows } }';
    expect(json(await handlerWith().handle(gql({ query: set, variables: { id: 20 } })))).toEqual({ data: { setStatus: { affectedRows: 1 } } });
    expect(json(await handlerWith().handle(gql({ query: set, variables: { id: 22 } })))).toEqual({ data: { setStatus: { affectedRows: 0 } } });
    const removed = json(await handlerWith().handle(gql({ query: 'mutation { a: removeOrder(id: 21) { affectedRows } b: removeOrder(id: 21) { affectedRows } }' })));
    expect(removed).toEqual({ data: { a: { affectedRows: 1 }, b: { affectedRows: 0 } } });
    expect(await db.exec('SELECT id, tenant_id, status FROM rt_gql_orders WHERE id >= 20 AND id <= 22 ORDER BY id')).toEqual([
      { id: db.engine === 'postgres' ? '20' : 20, tenant_id: 't1', status: 'shipped' },
      { id: db.engine === 'postgres' ? '22' : 22, tenant_id: 't2', status: 'open' },
    ]);
    // A payload has no rows to select.
    const rows = await handlerWith().handle(gql({ query: 'mutation { removeOrder(id: 20) { rows { id } } }' }));
    expect(rows.statusCode).toBe(400);
    expect(json(rows).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  test('the same writes on REST answer meta.affectedRows', async () => {
    await db.exec("INSERT INTO rt_gql_orders VALUES (30, 't1', 'open', 1, false, NULL)");
    const rest = (method: string, path: string, resource: string, pathParameters: Record<string, string>, body?: unknown) => {
      const e = apiEvent(method, path, { resource, pathParameters, body });
      return writer.handle({ ...e, requestContext: { ...e.requestContext, authorizer: { claims: { sub: 'alice', tenant_id: 't1' } } } });
    };
    const updated = await rest('PUT', '/orders/30/status', '/orders/{id}/status', { id: '30' }, { status: 'paid' });
    expect(updated.statusCode).toBe(200);
    expect(json(updated)).toEqual({ data: [], meta: { rowCount: 0, truncated: false, affectedRows: 1 } });
    const deleted = await rest('DELETE', '/orders/30', '/orders/{id}', { id: '30' });
    expect(json(deleted)).toEqual({ data: [], meta: { rowCount: 0, truncated: false, affectedRows: 1 } });
    expect(await db.exec('SELECT id FROM rt_gql_orders WHERE id = 30')).toEqual([]);
  });

  test('a database error is a stable code without driver text', async () => {
    const res = json(await handlerWith().handle(gql({ query: 'mutation { addOrder(id: 1, status: "dup", totalCents: 1) { rows { id } } }' }, { sub: 'a', tenant_id: 't1', scope: 'orders:write' })));
    expect(res.errors).toEqual([{ message: 'The change conflicts with existing data', path: ['addOrder'], extensions: { code: 'CONFLICT' } }]);
    expect(JSON.stringify(res)).not.toMatch(/duplicate|unique|rt_gql_orders|key/i);
  });

  test('a value the column\'s type cannot carry is an internal error that names the type only, and is logged', async () => {
    const big = handlerFor(db, [query({
      name: 'big', method: 'GET', path: '/big', sql: 'SELECT 9007199254740993 AS id', columns: [{ name: 'id', type: 'integer', nullable: false }], single: true,
    })]);
    const logged: unknown[] = [];
    try {
      const res = json(await new GraphqlHandler({ config: BASE, reader: big, log: (e) => logged.push(e) }).handle(gql({ query: '{ big { id } }' }), 'lambda-big'));
      expect(res.errors).toEqual([{ message: 'SafeInt cannot represent this value', path: ['big', 'id'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(JSON.stringify(res)).not.toContain('9007199254740993');
      expect(logged).toEqual([{ level: 'ERROR', message: 'unexpected GraphQL field error', requestId: 'lambda-big', errorName: 'ScalarValueError', path: ['big', 'id'] }]);
    } finally {
      await big.close();
    }
  });

  test('any other unexpected error in a field is answered without its message, and logged by name', async () => {
    const logged: unknown[] = [];
    const h = new GraphqlHandler({ config: BASE, reader, writer, log: (e) => logged.push(e) });
    // A bug in the library's own code (not the database's answer), injected where the resolver calls it.
    const bug = jest.spyOn(reader, 'invoke').mockRejectedValueOnce(new TypeError("Cannot read properties of undefined (reading 'internal_detail')"));
    try {
      const res = json(await h.handle(gql({ query: '{ orderById(id: 1) { id } }' }), 'lambda-bug'));
      expect(res.errors).toEqual([{ message: 'An internal error occurred.', path: ['orderById'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(logged).toEqual([{ level: 'ERROR', message: 'unexpected GraphQL field error', requestId: 'lambda-bug', errorName: 'TypeError', path: ['orderById'] }]);
      expect(JSON.stringify([res, logged])).not.toContain('internal_detail');
    } finally {
      bug.mockRestore();
    }
  });

  test('an error outside any field is a 500 without its message, and logged by name', async () => {
    const logged: unknown[] = [];
    const event = gql({ query: '{ orderById(id: 1) { id } }' });
    // An event no gateway sends: reading the caller's identity throws.
    Object.defineProperty(event, 'requestContext', { get: () => { throw new TypeError("Cannot read properties of undefined (reading 'internal_detail')"); } });
    const res = await new GraphqlHandler({ config: BASE, reader, writer, log: (e) => logged.push(e) }).handle(event, 'lambda-outside');
    expect(res.statusCode).toBe(500);
    expect(json(res)).toEqual({ errors: [{ message: 'An internal error occurred.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(logged).toEqual([{ level: 'ERROR', message: 'unexpected GraphQL handler error', requestId: 'lambda-outside', errorName: 'TypeError' }]);
  });

  test('SQL injection payloads in variables are stored and read back verbatim', async () => {
    const payloads = sqliPayloads(["'; DROP TABLE rt_gql_orders; --", "1' OR '1'='1"]).slice(0, 40);
    const add = 'mutation A($id: SafeInt!, $s: String!) { addOrder(id: $id, status: $s, totalCents: 0) { rows { id } } }';
    for (const [i, p] of payloads.entries()) {
      const res = json(await handlerWith().handle(gql({ query: add, variables: { id: 1000 + i, s: p.slice(0, 200) } }, { sub: 'a', tenant_id: 't9', scope: 'orders:write' })));
      expect(res.errors).toBeUndefined();
    }
    const stored = await db.exec("SELECT status FROM rt_gql_orders WHERE tenant_id = 't9' ORDER BY id");
    expect(stored.map((r) => r.status)).toEqual(payloads.map((p) => p.slice(0, 200)));
  });

  test('claims never come from arguments: there is no such argument', async () => {
    const res = await handlerWith().handle(gql({ query: '{ orders(tenant_id: "t2") { rows { id } } }' }));
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  test.each([
    ['a wrong variable type', { query: 'query Q($id: SafeInt!) { orderById(id: $id) { id } }', variables: { id: 'x' } }, 400, 'BAD_USER_INPUT'],
    ['a value outside the parameter\'s range', { query: '{ orderById(id: 0) { id } }' }, 200, 'BAD_USER_INPUT'],
    ['a syntax error', { query: '{ orders { rows { id }' }, 400, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', { query: '{ users { id } }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['introspection (off by default)', { query: '{ __schema { types { name } } }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['too many aliased calls', { query: `{ ${Array.from({ length: 11 }, (_, i) => `a${i}: orderById(id: 1) { id }`).join(' ')} }` }, 400, 'QUERY_TOO_COMPLEX'],
    ['no query', { variables: {} }, 400, 'BAD_USER_INPUT'],
    ['an unknown operation name', { query: 'query A { orders { truncated } }', operationName: 'B' }, 400, 'BAD_USER_INPUT'],
    ['an unknown persisted query', { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }, 200, 'PERSISTED_QUERY_NOT_FOUND'],
  ])('%s is answered with the code', async (_l, body, status, code) => {
    const res = await handlerWith().handle(gql(body));
    expect(res.statusCode).toBe(status);
    expect(json(res).errors[0].extensions.code).toBe(code);
  });

  test('HTTP-level refusals: GET, another content type, batches, invalid JSON', async () => {
    const h = handlerWith();
    expect((await h.handle(gql({ query: '{ orders { truncated } }' }, undefined, { method: 'GET' }))).statusCode).toBe(405);
    expect((await h.handle(gql(undefined, undefined, { rawBody: 'query=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }))).statusCode).toBe(415);
    expect(json(await h.handle(gql([{ query: '{ orders { truncated } }' }]))).errors[0].message).toBe('Batched requests are not accepted');
    expect((await h.handle(gql(undefined, undefined, { rawBody: '{"query":', headers: { 'Content-Type': 'application/json' } }))).statusCode).toBe(400);
  });

  test('the depth limit', async () => {
    const res = await handlerWith({ maxDepth: 1 }).handle(gql({ query: '{ orders { rows { id } } }' }));
    expect(res.statusCode).toBe(400);
    expect(json(res).errors[0].extensions.code).toBe('QUERY_TOO_DEEP');
  });

  test('introspection when enabled', async () => {
    const res = json(await handlerWith({ introspection: true }).handle(gql({ query: '{ __type(name: "Mutation") { fields { name } } }' })));
    expect(res.data.__type.fields).toEqual([{ name: 'addOrder' }, { name: 'setStatus' }, { name: 'removeOrder' }]);
  });

  test('persisted queries: by hash, and only them when required', async () => {
    const doc = '{ orderById(id: 1) { id } }';
    const h = handlerWith({ persistedQueries: { [sha256Hex(doc)]: doc }, persistedOnly: true });
    const byHash = { extensions: { persistedQuery: { version: 1, sha256Hash: sha256Hex(doc) } } };
    expect(json(await h.handle(gql(byHash)))).toEqual({ data: { orderById: { id: 1 } } });
    expect(json(await h.handle(gql({ query: doc })))).toEqual({ data: { orderById: { id: 1 } } });
    const adHoc = await h.handle(gql({ query: '{ orderById(id: 2) { id } }' }));
    expect(adHoc.statusCode).toBe(400);
    expect(json(adHoc).errors[0].extensions.code).toBe('PERSISTED_QUERY_REQUIRED');
  });

  test('generated requests are answered 2xx or 4xx, never with an internal error', async () => {
    logs.length = 0;
    const h = new GraphqlHandler({
      config: { ...BASE, persistedQueries: { [sha256Hex('{ orders { truncated } }')]: '{ orders { truncated } }' } },
      reader,
      writer,
      log: (entry) => logs.push(entry),
    });
    const protoName = fc.constantFrom(...Object.getOwnPropertyNames(Object.prototype));
    const payload = fc.constantFrom(...sqliPayloads([]));
    const scalar = fc.oneof(payload, fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
    const variables = fc.dictionary(fc.oneof(protoName, fc.constantFrom('s', 'id', 'status', 'note'), fc.string({ maxLength: 6 })), fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 });
    const field = fc.constantFrom('orders', 'orderById(id: $id)', 'orderById(id: 1)', 'addOrder(id: $id, status: $s, totalCents: 1)', '__typename', '__schema', 'constructor', '__proto__');
    const selection = fc.constantFrom('{ rows { id status } truncated }', '{ id status paid }', '{ id }', '', '{ __proto__ }', '{ toString }');
    const document = fc.oneof(
      fc.tuple(fc.constantFrom('query', 'mutation', 'subscription', 'query Q($id: Int!, $s: String)', 'mutation M($id: Int!, $s: String!)', ''), fc.array(fc.tuple(field, selection), { minLength: 1, maxLength: 3 }))
        .map(([op, fields]) => `${op} { ${fields.map(([f, sel]) => `${f} ${sel}`).join(' ')} }`),
      fc.string({ maxLength: 60 }),
      payload,
    );
    const body = fc.oneof(
      fc.record({ query: document, variables: fc.option(variables, { nil: undefined }), operationName: fc.option(fc.oneof(protoName, fc.constantFrom('Q', 'M')), { nil: undefined }) }, { requiredKeys: [] })
        .map((b) => JSON.stringify(b)),
      fc.record({ extensions: fc.record({ persistedQuery: fc.record({ version: fc.oneof(fc.constant(1), fc.integer()), sha256Hash: fc.oneof(fc.string(), protoName, fc.constant(sha256Hex('{ orders { truncated } }'))) }) }) }).map((b) => JSON.stringify(b)),
      fc.json({ maxDepth: 3 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
    );
    const claims = fc.option(fc.dictionary(fc.oneof(protoName, fc.constantFrom('sub', 'tenant_id', 'scope')), fc.oneof(scalar, fc.array(fc.string(), { maxLength: 2 })), { maxKeys: 4 }), { nil: undefined });
    await fc.assert(fc.asyncProperty(body, claims, fc.constantFrom('POST', 'GET', 'PUT'), async (raw, c, method) => {
      const res = await h.handle(gql(undefined, c, { rawBody: raw, method }));
      if (res.statusCode >= 500 || res.statusCode < 200) throw new Error(`${method} ${raw}: ${res.statusCode} ${res.body}`);
    }), { numRuns: 300 });
    expect(logs.filter((l) => (l as { level?: string }).level === 'ERROR')).toEqual([]);
  });

  test('a configuration that cannot be published is refused with every problem', () => {
    expect(() => new GraphqlHandler({ config: { ...BASE, maxComplexity: 5, persistedOnly: true }, reader, writer })).toThrow(
      /maxComplexity must be a whole number of at least 11[\s\S]*persistedOnly needs persisted queries/,
    );
  });
});
