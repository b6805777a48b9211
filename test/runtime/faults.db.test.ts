/**
 * Fault suite: the database restarts, stops, kills sessions and times out while writes run. Every call
 * either succeeds or gets a clear 503/504 problem, and no acknowledged write is lost (rows are counted
 * afterwards). PostgreSQL runs on a throwaway server so it can be restarted; MariaDB's sessions are
 * killed on the shared server.
 */
import { Client } from 'pg';
import { apiEvent, ENGINES, handlerFor, json, mariadb, param, query, TestDatabase } from './helpers/databases';
import { until } from './helpers/shipped';
import { freePort, startThrowawayPostgres, ThrowawayPostgres } from './helpers/throwaway-postgres';
import { StaticCredentials } from '../../src/runtime/credentials';
import { postgresEngine } from '../../src/runtime/engines/postgres';
import { QueryHandler } from '../../src/runtime/handler';
import { RuntimeConfig } from '../../src/shared/config';

const WRITE = query({
  name: 'put',
  method: 'POST',
  path: '/orders',
  access: 'write',
  sql: 'INSERT INTO rt_fault (k) VALUES (:k) RETURNING k',
  parameters: [param({ name: 'k', type: 'integer' })],
});
const SLOW = (sleep: string) => query({ name: 'slow', method: 'GET', path: '/slow', timeoutMs: 200, sql: sleep });

interface Outcome {
  readonly acked: number[];
  readonly statuses: Map<number, number>;
  /** Problem types of the failed writes, by key. */
  readonly failures: Map<number, string>;
}

const UNKNOWN = 'tag:cdk-secure-db-api,2026:problem:write-outcome-unknown';
const UNAVAILABLE = 'tag:cdk-secure-db-api,2026:problem:unavailable';

/** Sends writes k = 1..n one after another (as one Lambda instance does) while `disrupt` runs. */
async function writeThrough(handler: QueryHandler, n: number, disrupt: (k: number) => Promise<void> | void): Promise<Outcome> {
  const acked: number[] = [];
  const statuses = new Map<number, number>();
  const failures = new Map<number, string>();
  for (let k = 1; k <= n; k++) {
    await disrupt(k);
    const res = await handler.handle(apiEvent('POST', '/orders', { body: { k } }));
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    if (res.statusCode === 200) {
      expect(json(res).data).toEqual([{ k: expect.anything() }]);
      acked.push(k);
    } else {
      expect([503, 504]).toContain(res.statusCode);
      expect(res.headers['content-type']).toBe('application/problem+json');
      if (res.statusCode === 503) expect(res.headers['retry-after']).toBe('2');
      failures.set(k, json(res).type);
    }
  }
  return { acked, statuses, failures };
}

describe('PostgreSQL restarts, stops and kills under load', () => {
  let server: ThrowawayPostgres;
  let admin: () => Promise<Client>;

  beforeAll(async () => {
    server = await startThrowawayPostgres('unused', { secure: false });
    admin = async () => {
      const c = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres' });
      await c.connect();
      return c;
    };
    const c = await admin();
    await c.query('CREATE TABLE rt_fault (k INT PRIMARY KEY)');
    await c.end();
  }, 120_000);

  let afterCleanup: () => Promise<void> = async () => undefined;
  afterAll(async () => {
    await afterCleanup();
    server?.stop();
  });

  function handler(): QueryHandler {
    const config: RuntimeConfig = {
      version: 1,
      engine: 'postgres',
      connection: { host: '127.0.0.1', port: server.port, database: 'postgres', user: 'postgres', credentials: { type: 'static', password: '' }, tls: { enabled: false }, connectTimeoutMs: 1000 },
      queries: [WRITE, SLOW('SELECT pg_sleep(3)')],
    };
    return new QueryHandler({ config, engine: postgresEngine, credentials: new StaticCredentials({ user: 'postgres', password: '' }), log: () => undefined, observer: { record: () => undefined } });
  }

  test('no acknowledged write is lost, and every failure is a clear 503/504', async () => {
    const h = handler();
    afterCleanup = () => h.close();
    let restarting: Promise<void> | undefined;
    let down: Promise<void> | undefined;
    const outcome = await writeThrough(h, 160, async (k) => {
      if (k === 30) restarting = server.restart(); // restart while writes keep coming
      if (k === 50) await restarting;
      if (k === 70) {
        const c = await admin();
        await c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
        await c.end();
      }
      if (k === 90) await server.halt(); // unreachable for a while
      if (k === 100) down = server.resume();
      if (k === 110) await down;
      if (k === 130) {
        const slow = await h.handle(apiEvent('GET', '/slow'));
        expect(slow.statusCode).toBe(504);
      }
    });
    await h.close();
    const c = await admin();
    const stored = new Set((await c.query('SELECT k FROM rt_fault')).rows.map((r) => r.k as number));
    await c.end();
    // THEN every acknowledged write is there…
    expect(outcome.acked.filter((k) => !stored.has(k))).toEqual([]);
    // …the outage was answered 503, and the run recovered: the last 40 writes all succeeded.
    expect(outcome.statuses.get(503)).toBeGreaterThanOrEqual(10);
    expect(outcome.acked.filter((k) => k > 120)).toHaveLength(40);
    // A write refused while the server was down was never sent: "unavailable", and it is not stored. Only a
    // write the server may have received is "outcome unknown".
    const failed = [...outcome.failures];
    expect(failed.filter(([k]) => k >= 91 && k < 100).map(([, type]) => type)).toEqual(Array(9).fill(UNAVAILABLE));
    for (const [k, type] of failed) {
      expect([UNAVAILABLE, UNKNOWN]).toContain(type);
      if (type === UNAVAILABLE) expect(stored.has(k)).toBe(false);
    }
  }, 120_000);
});

describe('MariaDB sessions killed under load', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await mariadb();
    await db.exec('DROP TABLE IF EXISTS rt_fault');
    await db.exec('CREATE TABLE rt_fault (k INT PRIMARY KEY)');
    await db.exec("CREATE USER IF NOT EXISTS 'rt_writer'@'%'");
    await db.exec("CREATE USER IF NOT EXISTS 'rt_writer'@'localhost'");
    await db.exec("GRANT SELECT, INSERT ON test.rt_fault TO 'rt_writer'@'%'");
    await db.exec("GRANT SELECT, INSERT ON test.rt_fault TO 'rt_writer'@'localhost'");
  });

  afterAll(async () => {
    await db?.exec('DROP TABLE IF EXISTS rt_fault');
    await db?.close();
  });

  test('no acknowledged write is lost, and killed sessions are replaced', async () => {
    // MariaDB 10.5+ has INSERT … RETURNING too.
    const h = handlerFor(db, [WRITE, SLOW('SELECT SLEEP(3)')], { user: 'rt_writer' });
    let outcome: Outcome;
    let slow;
    try {
      outcome = await writeThrough(h, 120, async (k) => {
        if (k % 10 === 5) await db.killSessionsOf('rt_writer');
      });
      slow = await h.handle(apiEvent('GET', '/slow'));
    } finally {
      await h.close();
    }
    expect(slow!.statusCode).toBe(504);
    const stored = new Set((await db.exec('SELECT k FROM rt_fault')).map((r) => Number(r.k)));
    expect(outcome!.acked.filter((k) => !stored.has(k))).toEqual([]);
    // Each of the 12 kills costs at most the one write in flight: a write whose connection died after it was
    // sent may have run, so it is answered 503, never acknowledged. Nobody waits for the deadline (no 504).
    expect(outcome!.acked.length).toBeGreaterThanOrEqual(120 - 12);
    expect(outcome!.statuses.get(503) ?? 0).toBe(120 - outcome!.acked.length);
    expect(outcome!.statuses.get(504)).toBeUndefined();
    // Each of those was sent before its session died: its outcome is unknown (and it may well be stored).
    expect([...outcome!.failures.values()]).toEqual(Array(120 - outcome!.acked.length).fill(UNKNOWN));
    expect(h.stats.connectionsOpened).toBeGreaterThan(10);
  }, 120_000);
});

describe.each(ENGINES)('what a failed write means, on %s', (_label, open) => {
  let db: TestDatabase;
  const USER = 'rt_fault_w';

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_fault_u');
    await db.exec('CREATE TABLE rt_fault_u (k INT PRIMARY KEY)');
    if (db.engine === 'postgres') {
      await db.exec(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${USER}') THEN CREATE ROLE ${USER} LOGIN; END IF; END $$`);
      await db.exec(`GRANT SELECT, INSERT ON rt_fault_u TO ${USER}`);
    } else {
      for (const host of ['%', 'localhost']) {
        await db.exec(`CREATE USER IF NOT EXISTS '${USER}'@'${host}'`);
        await db.exec(`GRANT SELECT, INSERT ON test.rt_fault_u TO '${USER}'@'${host}'`);
      }
    }
  });
  afterAll(async () => {
    await db?.exec('DROP TABLE IF EXISTS rt_fault_u');
    await db?.close();
  });

  const slowInsert = (timeoutMs: number, seconds: string) => query({
    name: 'put',
    method: 'POST',
    path: '/u',
    access: 'write',
    timeoutMs,
    sql: db.engine === 'postgres'
      ? `INSERT INTO rt_fault_u (k) SELECT :k FROM (SELECT pg_sleep(${seconds})) AS s`
      : `INSERT INTO rt_fault_u (k) SELECT :k FROM (SELECT SLEEP(${seconds}) AS s) AS x`,
    parameters: [param({ name: 'k', type: 'integer' })],
  });
  const sleeping = async () => {
    const rows = db.engine === 'postgres'
      ? await db.exec("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active'", [USER])
      : await db.exec("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SLEEP%'", [USER]);
    return Number(rows[0].n);
  };

  test('a write whose connection dies while it runs is 503 write-outcome-unknown, with Retry-After', async () => {
    const h = handlerFor(db, [slowInsert(5000, '1')], { user: USER });
    try {
      const pending = h.handle(apiEvent('POST', '/u', { body: { k: 1 } }));
      await until(async () => (await sleeping()) === 1);
      await db.killSessionsOf(USER);
      const res = await pending;
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(json(res)).toMatchObject({ type: UNKNOWN, title: 'The outcome of the write is unknown', detail: expect.stringMatching(/may have been applied/) });
    } finally {
      await h.close();
    }
  });

  test('a write the database cancelled at its timeout is 504 timeout: nothing was written', async () => {
    const h = handlerFor(db, [slowInsert(200, '2')], { user: USER });
    try {
      const res = await h.handle(apiEvent('POST', '/u', { body: { k: 2 } }));
      expect(res.statusCode).toBe(504);
      expect(json(res)).toMatchObject({ type: 'tag:cdk-secure-db-api,2026:problem:timeout', detail: expect.stringMatching(/nothing was written/) });
      expect(await db.exec('SELECT k FROM rt_fault_u WHERE k = 2')).toEqual([]);
    } finally {
      await h.close();
    }
  });

  test('a write to a database that cannot be reached is 503 unavailable: nothing was written', async () => {
    const h = handlerFor(db, [slowInsert(200, '0')], { user: USER, port: await freePort() });
    try {
      const res = await h.handle(apiEvent('POST', '/u', { body: { k: 3 } }));
      expect(res.statusCode).toBe(503);
      expect(json(res)).toMatchObject({ type: UNAVAILABLE, detail: expect.stringMatching(/nothing was written/) });
    } finally {
      await h.close();
    }
  });
});
