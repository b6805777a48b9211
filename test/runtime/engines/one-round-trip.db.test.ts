/**
 * The engines on the real servers: each call is written in one TCP write and answered in one TCP read (one
 * round trip), and what that batching must keep holds: PostgreSQL reads run in a read-only transaction
 * their SQL cannot undo, the statement timeout is the server's and ends with the call, a failed step rolls
 * back the whole call, and nothing is left on the session.
 */
import * as net from 'net';
import { EngineConnection, Statement } from '../../../src/runtime/engines/engine';
import { compileNamedSql } from '../../../src/shared/named-parameters';
import { ENGINES, TestDatabase } from '../helpers/databases';

/** A TCP relay on loopback that counts the chunks each way. */
interface CountingRelay {
  readonly port: number;
  /** Chunks from the client to the server, and back, since the last reset. */
  readonly counts: { up: number; down: number };
  reset(): void;
  close(): Promise<void>;
}

async function countingRelay(targetPort: number): Promise<CountingRelay> {
  const counts = { up: 0, down: 0 };
  const sockets: net.Socket[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.push(client, upstream);
    client.on('data', (c) => {
      counts.up++;
      upstream.write(c);
    });
    upstream.on('data', (c) => {
      counts.down++;
      client.write(c);
    });
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    counts,
    reset: () => {
      counts.up = 0;
      counts.down = 0;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe.each(ENGINES)('engine calls on %s', (_label, open) => {
  let db: TestDatabase;
  let relay: CountingRelay;
  let conn: EngineConnection;

  const statement = (sql: string, values: Record<string, unknown>, over: Partial<Statement> = {}): Statement => {
    const compiled = compileNamedSql(sql, db.engine === 'postgres' ? 'postgres' : 'mysql');
    return {
      text: compiled.text,
      values: compiled.valueOrder.map((n) => (values[n] ?? null) as Statement['values'][number]),
      placeholders: compiled.placeholders,
      access: 'read',
      rowLimit: 100,
      timeoutMs: 5000,
      ...over,
    };
  };

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_trip');
    await db.exec(`CREATE TABLE rt_trip (id ${db.types.int} PRIMARY KEY, label ${db.types.text})`);
    await db.exec("INSERT INTO rt_trip (id, label) VALUES (1, 'one')");
    relay = await countingRelay(db.admin.port);
    conn = await db.driver.connect({
      host: db.admin.host, port: relay.port, database: db.admin.database, credentials: { user: db.admin.user, password: '' }, iamAuth: false, tls: undefined, connectTimeoutMs: 2000,
    });
  });

  afterAll(async () => {
    await conn?.close();
    await relay?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_trip');
    await db?.close();
  });

  test('a read is one write to the server and one answer back', async () => {
    relay.reset();
    const r = await conn.run(statement('SELECT id, label FROM rt_trip WHERE id = :id', { id: 1 }));
    expect(r.rows).toEqual([{ id: '1', label: 'one' }]);
    expect(relay.counts).toEqual({ up: 1, down: 1 });
  });

  test('a write is one write to the server and one answer back', async () => {
    relay.reset();
    const r = await conn.run(statement('INSERT INTO rt_trip (id, label) VALUES (:id, :label)', { id: 2, label: 'two' }, { access: 'write' }));
    expect(r.affectedRows).toBe(1);
    expect(relay.counts).toEqual({ up: 1, down: 1 });
  });

  test('a statement that fails is answered in one round trip and leaves the connection usable', async () => {
    relay.reset();
    await expect(conn.run(statement('INSERT INTO rt_trip (id, label) VALUES (:id, :label)', { id: 1, label: 'again' }, { access: 'write' }))).rejects.toMatchObject({});
    // One request: the server may flush its error before the ReadyForQuery the same Sync produces (two
    // segments of one answer, read as they come), but the client never writes again before the answer.
    expect(relay.counts.up).toBe(1);
    expect(relay.counts.down).toBeGreaterThanOrEqual(1);
    expect(relay.counts.down).toBeLessThanOrEqual(2);
    const r = await conn.run(statement('SELECT label FROM rt_trip WHERE id = :id', { id: 1 }));
    expect(r.rows).toEqual([{ label: 'one' }]);
    expect(conn.broken).toBe(false);
  });

  test('the server cancels a statement that outlives its timeout, and the next call runs', async () => {
    const error = await conn.run(statement(db.sleepSql('3'), {}, { timeoutMs: 200 })).then(() => undefined, (e: unknown) => e);
    expect(db.driver.classify(error)).toBe('timeout');
    // The server's own timeout, not the client's deadline: the connection is kept.
    expect(conn.broken).toBe(false);
    const r = await conn.run(statement('SELECT label FROM rt_trip WHERE id = :id', { id: 1 }));
    expect(r.rows).toEqual([{ label: 'one' }]);
  });
});

describe('PostgreSQL calls', () => {
  const [, open] = ENGINES[0];
  let db: TestDatabase;
  let conn: EngineConnection;

  const read = (sql: string, over: Partial<Statement> = {}): Statement => ({ text: sql, values: [], access: 'read', rowLimit: 100, timeoutMs: 5000, ...over });

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP SEQUENCE IF EXISTS rt_trip_seq');
    await db.exec('CREATE SEQUENCE rt_trip_seq');
    conn = await db.driver.connect({
      host: db.admin.host, port: db.admin.port, database: db.admin.database, credentials: { user: db.admin.user, password: '' }, iamAuth: false, tls: undefined, connectTimeoutMs: 2000,
    });
  });

  afterAll(async () => {
    await conn?.close();
    await db?.exec('DROP SEQUENCE IF EXISTS rt_trip_seq');
    await db?.close();
  });

  test('a read runs in a read-only transaction: its SQL cannot change data', async () => {
    await expect(conn.run(read("SELECT nextval('rt_trip_seq') AS n"))).rejects.toMatchObject({ code: '25006' });
    expect(await db.exec('SELECT last_value, is_called FROM rt_trip_seq')).toEqual([{ last_value: '1', is_called: false }]);
  });

  test('a reader\'s set_config cannot make its transaction read-write', async () => {
    await expect(conn.run(read("SELECT set_config('transaction_read_only', 'off', true) AS ro, nextval('rt_trip_seq') AS n"))).rejects.toMatchObject({ code: '25001' });
    expect(await db.exec('SELECT is_called FROM rt_trip_seq')).toEqual([{ is_called: false }]);
  });

  test('the timeout, read-only and claims are settings of the call\'s transaction, never of the session', async () => {
    const inside = await conn.run(read("SELECT current_setting('statement_timeout') AS t, current_setting('transaction_read_only') AS ro, current_setting('request.jwt.claims', true) AS c", {
      timeoutMs: 1234, settings: { 'request.jwt.claims': '{"sub":"a"}' },
    }));
    expect(inside.rows).toEqual([{ t: '1234ms', ro: 'on', c: '{"sub":"a"}' }]);
    // The next call, a write on the same session, sees none of them.
    const after = await conn.run({ ...read("SELECT current_setting('transaction_read_only') AS ro, coalesce(current_setting('request.jwt.claims', true), '') AS c"), access: 'write' });
    expect(after.rows).toEqual([{ ro: 'off', c: '' }]);
    expect(await db.exec('SHOW statement_timeout')).toEqual([{ statement_timeout: '0' }]);
  });

  test('a write whose statement fails writes nothing', async () => {
    await db.exec('DROP TABLE IF EXISTS rt_trip_w');
    await db.exec('CREATE TABLE rt_trip_w (id INT PRIMARY KEY)');
    try {
      await expect(conn.run({ ...read('INSERT INTO rt_trip_w (id) VALUES (1), (1)'), access: 'write' })).rejects.toMatchObject({ code: '23505' });
      expect(await db.exec('SELECT count(*)::int AS n FROM rt_trip_w')).toEqual([{ n: 0 }]);
    } finally {
      await db.exec('DROP TABLE rt_trip_w');
    }
  });
});
