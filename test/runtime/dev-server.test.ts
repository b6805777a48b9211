/**
 * The local development server: the real handler behind HTTP on localhost, over an embedded PGlite
 * database kept on disk and seeded from SQL, or over a given database URL (the real PostgreSQL here).
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { ENGINES, param, PG, query, TestDatabase } from './helpers/databases';
import { Build, BUILDS, Cli, devServerModule, httpCall, startDevCli, until, writeConfig } from './helpers/shipped';
import { main, startDevServer } from '../../src/runtime/dev-server';
import { RuntimeConfig } from '../../src/shared/config';

const CONFIG: RuntimeConfig = {
  version: 1,
  engine: 'postgres',
  connection: { host: '${env:SECURE_DB_API_DB_HOST}', port: 5432, database: 'shop', user: 'api_reader', credentials: { type: 'iam', region: '${env:AWS_REGION}' }, tls: { enabled: true } },
  queries: [
    query({ name: 'listItems', method: 'GET', path: '/items', sql: 'SELECT id, name FROM dev_items ORDER BY id' }),
    query({ name: 'getItem', method: 'GET', path: '/items/{id}', single: true, sql: 'SELECT id, name FROM dev_items WHERE id = :id', parameters: [param({ name: 'id', type: 'integer', in: 'path' })] }),
    query({ name: 'addItem', method: 'POST', path: '/items', access: 'write', sql: 'INSERT INTO dev_items (name) VALUES (:name) RETURNING id', parameters: [param({ name: 'name', type: 'string', maxLength: 50 })] }),
  ],
};
const SEED = "CREATE TABLE dev_items (id SERIAL PRIMARY KEY, name TEXT NOT NULL); INSERT INTO dev_items (name) VALUES ('apple'), ('pear');";
const quiet = { record: () => undefined };

/** A raw HTTP request, so bodies can be any bytes. */
interface Reply {
  status: number;
  type?: string;
  json: any;
}

function request(url: string, method: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], json: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const CLI = path.join(__dirname, '..', '..', 'assets', 'runtime', 'dev-server', 'index.js');

/** Starts the bundled command (PGlite loads WebAssembly with dynamic imports, which Jest's sandbox cannot run). */
async function startCli(args: string[]): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let timer: NodeJS.Timeout | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`dev server exited with ${code}: ${err}`)));
    timer = setTimeout(() => reject(new Error(`dev server did not start: ${err}`)), 30_000);
  }).finally(() => clearTimeout(timer));
  return {
    url,
    child,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

describe('embedded PGlite, through the command', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-dev-'));
  const args = ['--config', path.join(dir, 'config.json'), '--seed', path.join(dir, 'seed.sql'), '--data-dir', path.join(dir, 'db'), '--port', '0'];
  beforeAll(() => {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(CONFIG));
    writeFileSync(path.join(dir, 'seed.sql'), SEED);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('serves seeded rows, writes, and keeps them on disk across restarts', async () => {
    let server = await startCli(args);
    try {
      expect((await request(`${server.url}/items`, 'GET')).json.data).toEqual([{ id: 1, name: 'apple' }, { id: 2, name: 'pear' }]);
      const added = await request(`${server.url}/items`, 'POST', JSON.stringify({ name: 'plum' }), { 'content-type': 'application/json' });
      expect(added.status).toBe(200);
      expect(added.json.data).toEqual([{ id: 3 }]);
      expect((await request(`${server.url}/items/3`, 'GET')).json.data).toEqual({ id: 3, name: 'plum' });
      const missing = await request(`${server.url}/items/99`, 'GET');
      expect(missing.status).toBe(404);
      expect(missing.type).toBe('application/problem+json');
    } finally {
      await server.stop();
    }
    // Restarted on the same directory: not seeded again, the write is still there.
    server = await startCli(args);
    try {
      expect((await request(`${server.url}/items`, 'GET')).json.data.map((r: { name: string }) => r.name)).toEqual(['apple', 'pear', 'plum']);
    } finally {
      await server.stop();
    }
  });
});

describe('against a database URL', () => {
  test('serves the real PostgreSQL, and HTTP-level faults are problems', async () => {
    const admin = new Client(PG);
    await admin.connect();
    await admin.query('DROP TABLE IF EXISTS dev_items');
    await admin.query(SEED);
    const server = await startDevServer({ config: { ...CONFIG, maxBodyBytes: 100 }, databaseUrl: `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`, port: 0, observer: quiet });
    try {
      expect((await request(`${server.url}/items?`, 'GET')).json.data).toHaveLength(2);
      const badUtf8 = await request(`${server.url}/items`, 'POST', Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), { 'content-type': 'application/json' });
      expect(badUtf8.status).toBe(400);
      expect(badUtf8.json.errors[0].reason).toMatch(/UTF-8/);
      const big = await request(`${server.url}/items`, 'POST', JSON.stringify({ name: 'x'.repeat(500) }), { 'content-type': 'application/json' });
      expect(big.status).toBe(413);
      expect((await request(`${server.url}/nothing`, 'GET')).status).toBe(404);
      expect((await request(`${server.url}/items`, 'DELETE')).status).toBe(405);
    } finally {
      await server.close();
      await admin.query('DROP TABLE dev_items');
      await admin.end();
    }
  });

  test('a URL of the wrong engine is refused', async () => {
    await expect(startDevServer({ config: CONFIG, databaseUrl: 'mysql://root@127.0.0.1/test', port: 0 })).rejects.toThrow(/configuration is for postgres/);
  });
});

describe('command line', () => {
  test('with an idempotency section it says that idempotency is not applied, and serves the routes', async () => {
    const base = { version: 1 as const, engine: 'postgres' as const, connection: { ...PG, credentials: { type: 'static' as const, password: '' }, tls: { enabled: false } } };
    const url = `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`;
    const withIt = await startDevCli(['--config', writeConfig({ ...base, queries: [query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' })], idempotency: { tableName: 'local', expiresAfterSeconds: 60 } }), '--database-url', url, '--port', '0']);
    const without = await startDevCli(['--config', writeConfig({ ...base, queries: [query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' })] }), '--database-url', url, '--port', '0']);
    try {
      await withIt.waitForStderr(/idempotency is not applied here/);
      expect((await httpCall(`${withIt.url}/one`)).status).toBe(200);
      expect((await httpCall(`${without.url}/one`)).status).toBe(200);
      expect(without.stderr()).not.toMatch(/idempotency/);
    } finally {
      await Promise.all([withIt.stop(), without.stop()]);
    }
  });

  test('without --config it prints its usage', async () => {
    await expect(main([])).rejects.toThrow(/usage: secure-db-api-dev --config/);
  });

  test('a missing value is named', async () => {
    await expect(main(['--config'])).rejects.toThrow(/--config needs a value/);
  });
});

const STUCK_MARKER = 'rt_stuck_marker';

interface BlackHole {
  readonly port: number;
  /** Resolves when a connection sent the stuck statement; its answers are withheld from then on. */
  swallowed(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP relay to the database that stops answering on a connection once it carries the stuck statement. */
async function blackHole(target: number): Promise<BlackHole> {
  const sockets = new Set<net.Socket>();
  let onSwallow: (() => void) | undefined;
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    let holed = false;
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      if (d.includes(STUCK_MARKER)) {
        holed = true;
        onSwallow?.();
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!holed) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    swallowed: () => new Promise<void>((resolve) => (onSwallow = resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.each(ENGINES)('with a database URL on %s, the pool and the drain', (_label, open) => describe.each(BUILDS)('from the %s', (build: Build) => {
  let db: TestDatabase;
  let next = 0;
  const config = (): RuntimeConfig => ({
    version: 1,
    engine: db.engine,
    connection: { host: 'unused', port: 1, database: 'unused', user: 'unused', credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    queries: [
      query({ name: 'add', method: 'POST', path: '/rows', access: 'write', timeoutMs: 500, sql: 'INSERT INTO rt_dev_pool (k) VALUES (:k)', parameters: [param({ name: 'k', type: 'integer' })] }),
      query({ name: 'quick', method: 'GET', path: '/quick', timeoutMs: 200, sql: 'SELECT 1 AS one' }),
      // The black hole withholds this statement's answer: only the client-side deadline ends it.
      query({ name: 'stuck', method: 'GET', path: '/stuck', timeoutMs: 300, sql: `SELECT 1 AS ${STUCK_MARKER}` }),
      query({ name: 'long', method: 'GET', path: '/long', timeoutMs: 5000, sql: db.sleepSql('2') }),
      query({ name: 'nap', method: 'GET', path: '/nap', timeoutMs: 5000, sql: db.sleepSql('0.05') }),
    ],
  });
  let hole: BlackHole;
  // Through the black hole: the network between the server and the database, which can stall.
  const url = () => `${db.engine === 'postgres' ? 'postgres' : 'mysql'}://${db.admin.user}@127.0.0.1:${hole.port}/${db.admin.database}`;
  const sleeping = async () => {
    const rows = db.engine === 'postgres'
      ? await db.exec("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")
      : await db.exec("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(%' AND ID <> CONNECTION_ID()");
    return Number(rows[0].n);
  };

  interface Running { readonly url: string; readonly cli?: Cli; stop(): Promise<void> }
  const start = async (): Promise<Running> => {
    if (build === 'source') {
      const s = await devServerModule('source').startDevServer({ config: config(), databaseUrl: url(), port: 0, observer: quiet });
      return { url: s.url, stop: () => s.close() };
    }
    const cli = await startDevCli(['--config', writeConfig(config()), '--database-url', url(), '--port', '0']);
    return { url: cli.url, stop: async () => void (await cli.stop()), cli };
  };

  beforeAll(async () => {
    db = await open();
    hole = await blackHole(db.admin.port);
    await db.exec('DROP TABLE IF EXISTS rt_dev_pool');
    await db.exec('CREATE TABLE rt_dev_pool (k INT PRIMARY KEY)');
  });
  afterAll(async () => {
    await db?.exec('DROP TABLE IF EXISTS rt_dev_pool');
    await db?.close();
    await hole?.close();
  });

  test('a query that times out costs only its own connection: 30 concurrent writes beside it all succeed', async () => {
    const s = await start();
    try {
      const seen = hole.swallowed();
      const stuck = httpCall(`${s.url}/stuck`);
      await seen;
      const base = 1000 * ++next;
      const writes = await Promise.all(Array.from({ length: 30 }, (_, i) => httpCall(`${s.url}/rows`, { method: 'POST', body: { k: base + i } })));
      expect(writes.map((w) => w.status)).toEqual(Array(30).fill(200));
      expect((await stuck).status).toBe(504);
      expect(Number((await db.exec(`SELECT COUNT(*) AS n FROM rt_dev_pool WHERE k >= ${base} AND k < ${base + 30}`))[0].n)).toBe(30);
    } finally {
      await s.stop();
    }
  });

  test('time spent behind another request does not count against a request\'s own timeout', async () => {
    const s = await start();
    try {
      const long = httpCall(`${s.url}/long`);
      await until(async () => (await sleeping()) === 1);
      const quick = await Promise.all(Array.from({ length: 20 }, () => httpCall(`${s.url}/quick`)));
      expect(quick.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect((await long).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  // The command's own stderr shows what a user sees (Jest's sandbox does not see the process's warnings).
  if (build === 'bundle') {
    test('35 concurrent requests leave no listener warnings on the command\'s output', async () => {
      const s = await start();
      try {
        const replies = await Promise.all(Array.from({ length: 35 }, () => httpCall(`${s.url}/nap`)));
        expect(replies.map((r) => r.status)).toEqual(Array(35).fill(200));
      } finally {
        await s.stop();
      }
      expect(s.cli?.stderr()).not.toMatch(/MaxListenersExceededWarning/);
    });
  }

  test('SIGTERM answers the request in flight with Connection: close and serves no more keep-alive requests', async () => {
    const s = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await httpCall(`${s.url}/quick`, { agent })).headers.connection).toBe('keep-alive');
      const long = httpCall(`${s.url}/long`, { agent });
      await until(async () => (await sleeping()) === 1);
      const stopped = s.stop();
      const answer = await long;
      expect([answer.status, answer.headers.connection]).toEqual([200, 'close']);
      await stopped;
      await expect(httpCall(`${s.url}/quick`, { agent })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      agent.destroy();
    }
  });
}));
