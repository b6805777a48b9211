/**
 * Claims in SQL and per-route scopes/groups, on both real servers: a tenant can never read another
 * tenant's row through a claim-bound query, a claim can never come from the request, and PostgreSQL
 * row-level security sees the claims of the call's own transaction.
 */
import { Client } from 'pg';
import { apiEvent, ENGINES, handlerFor, json, MARIADB, param, PG, query, TestDatabase } from './helpers/databases';
import { mysqlEngine } from '../../src/runtime/engines/mysql';
import { postgresEngine } from '../../src/runtime/engines/postgres';
import { QueryHandler } from '../../src/runtime/handler';
import { RuntimeConfig } from '../../src/shared/config';

/** What handlerFor needs of a server, without an admin connection. */
function serverOnly(engine: 'postgres' | 'mariadb'): TestDatabase {
  return (engine === 'postgres'
    ? { engine, driver: postgresEngine, admin: PG }
    : { engine, driver: mysqlEngine('mariadb'), admin: MARIADB }) as unknown as TestDatabase;
}

/** An event as API Gateway sends it after a Cognito or JWT authorizer verified the token. */
function withClaims(event: ReturnType<typeof apiEvent>, claims: Record<string, unknown> | string | undefined) {
  return { ...event, requestContext: { ...event.requestContext, authorizer: claims === undefined ? null : { claims } } };
}

describe.each(ENGINES)('claims on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_notes');
    await db.exec(`CREATE TABLE rt_notes (id ${db.types.serial}, tenant_id VARCHAR(20), owner VARCHAR(40), body ${db.types.text})`);
    await db.exec("INSERT INTO rt_notes (tenant_id, owner, body) VALUES ('t1', 'alice', 'one'), ('t1', 'bob', 'two'), ('t2', 'carol', 'secret of t2')");
    handler = handlerFor(db, [
      query({ name: 'myNotes', method: 'GET', path: '/notes', sql: 'SELECT body FROM rt_notes WHERE tenant_id = :claims.tenant_id ORDER BY id' }),
      query({
        name: 'addNote',
        method: 'POST',
        path: '/notes',
        access: 'write',
        requiredScopes: ['notes/write'],
        sql: 'INSERT INTO rt_notes (tenant_id, owner, body) VALUES (:claims.tenant_id, :claims.sub, :body)',
        parameters: [param({ name: 'body', type: 'string', maxLength: 100 })],
      }),
      query({ name: 'admin', method: 'GET', path: '/admin/notes', requiredGroups: ['admins', 'auditors'], sql: 'SELECT COUNT(*) AS n FROM rt_notes' }),
      query({ name: 'cognitoNotes', method: 'GET', path: '/cognito/notes', sql: 'SELECT body FROM rt_notes WHERE tenant_id = :claims.custom:tenant_id ORDER BY id' }),
    ]);
  });

  afterAll(async () => {
    await handler?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_notes');
    await db?.close();
  });

  test('each tenant reads only its own rows', async () => {
    const t1 = await handler.handle(withClaims(apiEvent('GET', '/notes'), { sub: 'alice', tenant_id: 't1' }));
    const t2 = await handler.handle(withClaims(apiEvent('GET', '/notes'), { sub: 'carol', tenant_id: 't2' }));
    expect(json(t1).data).toEqual([{ body: 'one' }, { body: 'two' }]);
    expect(json(t2).data).toEqual([{ body: 'secret of t2' }]);
  });

  test('a Cognito custom attribute binds by its own name, custom:tenant_id', async () => {
    const t2 = await handler.handle(withClaims(apiEvent('GET', '/cognito/notes'), { 'sub': 'carol', 'tenant_id': 't1', 'custom:tenant_id': 't2' }));
    expect(json(t2).data).toEqual([{ body: 'secret of t2' }]);
    const none = await handler.handle(withClaims(apiEvent('GET', '/cognito/notes'), { sub: 'carol', custom: 't1', tenant_id: 't1' }));
    expect(none.statusCode).toBe(403);
  });

  test('claims a Lambda authorizer passed as a JSON string work the same', async () => {
    const res = await handler.handle(withClaims(apiEvent('GET', '/notes'), JSON.stringify({ sub: 'carol', tenant_id: 't2' })));
    expect(json(res).data).toEqual([{ body: 'secret of t2' }]);
  });

  test('a claim can never come from the request', async () => {
    const viaQuery = await handler.handle(withClaims(apiEvent('GET', '/notes', { query: { 'tenant_id': 't2', 'claims.tenant_id': 't2' } }), { sub: 'alice', tenant_id: 't1' }));
    expect(viaQuery.statusCode).toBe(400);
    const viaBody = await handler.handle(withClaims(apiEvent('POST', '/notes', { body: { 'body': 'x', 'claims.tenant_id': 't2', 'tenant_id': 't2' } }), { sub: 'alice', tenant_id: 't1', scope: 'notes/write' }));
    expect(viaBody.statusCode).toBe(400);
    expect(await db.exec("SELECT COUNT(*) AS n FROM rt_notes WHERE tenant_id = 't2'")).toEqual([{ n: db.engine === 'postgres' ? '1' : 1 }]);
  });

  test('no token, or a token without the claim, is 403 and runs nothing', async () => {
    for (const claims of [undefined, { sub: 'mallory' }, { sub: 'mallory', tenant_id: ['t1', 't2'] }, { sub: 'mallory', tenant_id: { $ne: null } }]) {
      const res = await handler.handle(withClaims(apiEvent('GET', '/notes'), claims));
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toBe('application/problem+json');
    }
  });

  test('writes take the tenant and owner from the token, and need their scope', async () => {
    const denied = await handler.handle(withClaims(apiEvent('POST', '/notes', { body: { body: 'nope' } }), { sub: 'alice', tenant_id: 't1', scope: 'notes/read' }));
    expect(denied.statusCode).toBe(403);
    expect(json(denied).detail).toBe('The token lacks the scope notes/write');
    const ok = await handler.handle(withClaims(apiEvent('POST', '/notes', { body: { body: 'three' } }), { sub: 'alice', tenant_id: 't1', scope: 'openid notes/write' }));
    expect(ok.statusCode).toBe(200);
    expect(await db.exec("SELECT tenant_id, owner FROM rt_notes WHERE body = 'three'")).toEqual([{ tenant_id: 't1', owner: 'alice' }]);
  });

  test('group-restricted routes need one of the groups', async () => {
    const none = await handler.handle(withClaims(apiEvent('GET', '/admin/notes'), { 'sub': 'bob', 'cognito:groups': ['staff'] }));
    const cognitoText = await handler.handle(withClaims(apiEvent('GET', '/admin/notes'), { 'sub': 'dan', 'cognito:groups': '[staff auditors]' }));
    const list = await handler.handle(withClaims(apiEvent('GET', '/admin/notes'), { sub: 'eve', groups: ['admins'] }));
    expect(none.statusCode).toBe(403);
    expect(cognitoText.statusCode).toBe(200);
    expect(list.statusCode).toBe(200);
  });
});

describe('PostgreSQL row-level security with the call\'s claims', () => {
  let admin: Client;
  let handler: QueryHandler;

  beforeAll(async () => {
    admin = new Client(PG);
    await admin.connect();
    await admin.query('DROP TABLE IF EXISTS rt_rls');
    await admin.query('CREATE TABLE rt_rls (tenant_id TEXT, body TEXT)');
    await admin.query("INSERT INTO rt_rls VALUES ('t1', 'mine'), ('t2', 'theirs')");
    await admin.query('ALTER TABLE rt_rls ENABLE ROW LEVEL SECURITY');
    await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rt_rls_reader') THEN CREATE ROLE rt_rls_reader LOGIN; END IF; END $$");
    await admin.query('GRANT SELECT ON rt_rls TO rt_rls_reader');
    await admin.query(`CREATE POLICY tenant_only ON rt_rls FOR SELECT TO rt_rls_reader
      USING (tenant_id = current_setting('request.jwt.claims', true)::json->>'tenant_id')`);
    const config: Partial<RuntimeConfig> = { rlsClaims: true };
    // The handler connects as the policy's role; the admin connection only sets up.
    handler = handlerFor(serverOnly('postgres'), [query({ name: 'all', method: 'GET', path: '/rls', sql: 'SELECT body FROM rt_rls ORDER BY body' })], {
      user: 'rt_rls_reader',
      extra: config,
    });
  });

  afterAll(async () => {
    await handler?.close();
    await admin.query('DROP TABLE IF EXISTS rt_rls');
    await admin.end();
  });

  test('a query without any WHERE sees only the caller\'s tenant, and nothing leaks between calls', async () => {
    const t1 = await handler.handle(withClaims(apiEvent('GET', '/rls'), { sub: 'a', tenant_id: 't1' }));
    const t2 = await handler.handle(withClaims(apiEvent('GET', '/rls'), { sub: 'b', tenant_id: 't2' }));
    const anonymous = await handler.handle(apiEvent('GET', '/rls'));
    expect(json(t1).data).toEqual([{ body: 'mine' }]);
    expect(json(t2).data).toEqual([{ body: 'theirs' }]);
    expect(json(anonymous).data).toEqual([]);
  });

  test('rlsClaims is refused for MySQL and MariaDB', () => {
    expect(() => handlerFor(serverOnly('mariadb'), [query({ name: 'x', method: 'GET', path: '/x', sql: 'SELECT 1' })], { extra: { rlsClaims: true } }))
      .toThrow(/rlsClaims is for PostgreSQL/);
  });
});
