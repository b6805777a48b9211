/**
 * The container server on both real servers: identity from API Gateway's headers, reads and writes on
 * their own pools (the reader cannot write), a bounded number of connections under concurrency,
 * backpressure (503 + Retry-After) beyond the pool and its queue, graceful shutdown that finishes work in
 * flight and closes every connection, health checks, and HTTPS.
 */
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { ENGINES, param, query, TestDatabase } from './helpers/databases';
import { bundleFile, BUILDS, containerModule, httpCall, until } from './helpers/shipped';
import { freePort, makeCertificates } from './helpers/throwaway-postgres';
import { IDENTITY_HEADERS } from '../../src/runtime/container/backend';
import { RunningServer } from '../../src/runtime/container/main';
import { CONFIG_PATH_ENV } from '../../src/runtime/lambda';
import { RuntimeConfig } from '../../src/shared/config';

/** The test configurations log in with static passwords: nothing may ask for AWS credentials. */
const noAwsCredentials = async (): Promise<never> => {
  throw new Error('no AWS credentials in this test');
};

const claims = (c: Record<string, unknown>) => ({ [IDENTITY_HEADERS.claims]: JSON.stringify(c), [IDENTITY_HEADERS.requestId]: 'apigw-req-1' });

describe.each(ENGINES)('container server on %s', (_label, open) => describe.each(BUILDS)('from the %s', (build) => {
  const { ContainerBackend, engineFor, startContainerServer } = containerModule(build);
  let db: TestDatabase;
  let configFile: string;
  const READER = 'rt_ctr_reader';

  const config = (): RuntimeConfig => ({
    version: 1,
    engine: db.engine,
    connection: { host: db.admin.host, port: db.admin.port, database: db.admin.database, user: READER, credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    writeConnection: { host: db.admin.host, port: db.admin.port, database: db.admin.database, user: db.admin.user, credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    queries: [
      query({ name: 'mine', method: 'GET', path: '/items', sql: 'SELECT name FROM rt_ctr_items WHERE tenant = :claims.tenant_id ORDER BY id' }),
      query({ name: 'slow', method: 'GET', path: '/slow', sql: db.sleepSql('0.2') }),
      query({ name: 'slower', method: 'GET', path: '/slower', sql: db.sleepSql('1') }),
      // Waits while the test holds rt_ctr_gate locked (see gate()), however slow the machine.
      query({ name: 'gated', method: 'GET', path: '/gated', timeoutMs: 25_000, sql: 'SELECT COUNT(*) AS n FROM rt_ctr_gate' }),
      query({
        name: 'add',
        method: 'POST',
        path: '/items',
        access: 'write',
        sql: 'INSERT INTO rt_ctr_items (tenant, name) VALUES (:claims.tenant_id, :name)',
        parameters: [param({ name: 'name', type: 'string', maxLength: 40 })],
      }),
    ],
  });

  const start = async (pool = { size: 3, maxQueue: 100, acquireTimeoutMs: 5000 }, extraEnv: Record<string, string> = {}): Promise<RunningServer> => {
    const backend = new ContainerBackend({
      config: config(),
      engine: engineFor(db.engine),
      pool,
      observer: { record: () => undefined },
      awsCredentials: noAwsCredentials,
    });
    return startContainerServer({ [CONFIG_PATH_ENV]: configFile, HOST: '127.0.0.1', ...extraEnv } as NodeJS.ProcessEnv, backend, 0);
  };
  const slowSessions = async () => {
    const rows = db.engine === 'postgres'
      ? await db.exec("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%'", [READER])
      : await db.exec("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SLEEP%'", [READER]);
    return Number(rows[0].n);
  };

  const sessionsOf = async (user: string) => {
    const rows = db.engine === 'postgres'
      ? await db.exec('SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = $1', [user])
      : await db.exec('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
    return Number(rows[0].n);
  };

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_ctr_items');
    await db.exec('DROP TABLE IF EXISTS rt_ctr_gate');
    await db.exec(`CREATE TABLE rt_ctr_items (id ${db.types.serial}, tenant VARCHAR(20), name VARCHAR(40))`);
    await db.exec('CREATE TABLE rt_ctr_gate (id INT)');
    await db.exec("INSERT INTO rt_ctr_items (tenant, name) VALUES ('t1', 'a'), ('t2', 'b')");
    await db.createReadOnlyUser(READER, ['rt_ctr_items', 'rt_ctr_gate']);
    configFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'ctr-')), 'config.json');
    writeFileSync(configFile, JSON.stringify(config()));
  });

  afterAll(async () => {
    await db?.exec('DROP TABLE IF EXISTS rt_ctr_items');
    await db?.exec('DROP TABLE IF EXISTS rt_ctr_gate');
    await db?.close();
  });

  test('identity comes from API Gateway\'s headers; without it a claim-bound query is a 403', async () => {
    const s = await start();
    try {
      expect((await httpCall(`${s.url}/items`, { headers: claims({ sub: 'alice', tenant_id: 't1' }) })).body.data).toEqual([{ name: 'a' }]);
      const anonymous = await httpCall(`${s.url}/items`);
      expect(anonymous.status).toBe(403);
      expect(anonymous.headers['content-type']).toBe('application/problem+json');
      expect((await httpCall(`${s.url}/items`, { headers: { [IDENTITY_HEADERS.claims]: 'not json' } })).status).toBe(403);
      // Only the one JSON header API Gateway sets counts; other look-alike headers are ignored.
      expect((await httpCall(`${s.url}/items`, { headers: { 'x-secure-db-api-claim-tenant_id': 't2', 'x-tenant-id': 't2' } })).status).toBe(403);
    } finally {
      await s.shutdown();
    }
  });

  test('writes run on the writer pool (the reader user cannot insert), reads on the reader pool', async () => {
    const s = await start();
    try {
      const res = await httpCall(`${s.url}/items`, { method: 'POST', headers: claims({ tenant_id: 't3' }), body: { name: 'w' } });
      expect(res.status).toBe(200);
      expect(await db.exec("SELECT name FROM rt_ctr_items WHERE tenant = 't3'")).toEqual([{ name: 'w' }]);
      expect(s.backend.writer!.connectionsOpened).toBe(1);
      expect(s.backend.reader!.connectionsOpened).toBe(0);
    } finally {
      await s.shutdown();
    }
  });

  test('30 concurrent slow reads all succeed on at most 3 connections', async () => {
    const s = await start();
    try {
      let peakSessions = 0;
      const sampler = setInterval(() => void sessionsOf(READER).then((n) => (peakSessions = Math.max(peakSessions, n))), 20);
      const replies = await Promise.all(Array.from({ length: 30 }, () => httpCall(`${s.url}/slow`)));
      clearInterval(sampler);
      expect(replies.map((r) => r.status)).toEqual(Array(30).fill(200));
      expect(s.backend.reader!.peakInUse).toBe(3);
      expect(s.backend.reader!.connectionsOpened).toBe(3);
      expect(peakSessions).toBeLessThanOrEqual(3);
    } finally {
      await s.shutdown();
    }
  });

  test('beyond the pool and its queue, requests get 503 with Retry-After at once, never another error', async () => {
    const s = await start({ size: 1, maxQueue: 2, acquireTimeoutMs: 10_000 });
    try {
      const replies = await Promise.all(Array.from({ length: 8 }, () => httpCall(`${s.url}/slow`)));
      const statuses = replies.map((r) => r.status).sort();
      expect(statuses.filter((x) => x === 200)).toHaveLength(3);
      expect(statuses.filter((x) => x === 503)).toHaveLength(5);
      for (const r of replies.filter((x) => x.status === 503)) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.body.detail).toBe('All database connections are busy. Retry later.');
      }
    } finally {
      await s.shutdown();
    }
  });

  /**
   * Locks rt_ctr_gate on a session of its own, so `GET /gated` waits until the returned function releases it:
   * requests stay in flight (and queued behind them) for as long as a test needs, whatever the machine's load.
   */
  async function gate(): Promise<() => Promise<void>> {
    const holder = await open();
    if (holder.engine === 'postgres') {
      await holder.exec('BEGIN');
      await holder.exec('LOCK TABLE rt_ctr_gate IN ACCESS EXCLUSIVE MODE');
    } else {
      await holder.exec('LOCK TABLES rt_ctr_gate WRITE');
    }
    let released: Promise<void> | undefined;
    // Once, however often it is called (the test releases it, and so does its finally on a failure).
    return () => (released ??= (async () => {
      await holder.exec(holder.engine === 'postgres' ? 'COMMIT' : 'UNLOCK TABLES');
      await holder.close();
    })());
  }

  test('shutdown finishes the requests in flight, then refuses connections and closes every database session', async () => {
    const s = await start();
    const release = await gate();
    try {
      const inFlight = Promise.all(Array.from({ length: 3 }, () => httpCall(`${s.url}/gated`)));
      await until(() => s.backend.reader!.inUse === 3);
      const stopping = s.shutdown();
      await release();
      await stopping;
      expect((await inFlight).map((r) => r.status)).toEqual([200, 200, 200]);
      await expect(httpCall(`${s.url}/gated`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await until(async () => (await sessionsOf(READER)) === 0);
    } finally {
      await release();
    }
  });

  test('shutdown answers every accepted request, also those waiting for a connection, each with Connection: close', async () => {
    const s = await start({ size: 2, maxQueue: 100, acquireTimeoutMs: 30_000 });
    // Keep-alive clients: a response without Connection: close would invite a request the closing server resets.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 12 });
    const release = await gate();
    try {
      const accepted = Promise.allSettled(Array.from({ length: 12 }, () => httpCall(`${s.url}/gated`, { agent })));
      // Two reads wait on the lock, ten for a connection: nothing can finish before all twelve are accepted.
      await until(() => s.backend.reader!.inUse === 2 && s.backend.reader!.queued === 10);
      const stopping = s.shutdown();
      await release();
      await stopping;
      const replies = await accepted;
      expect(replies.map((r) => r.status)).toEqual(Array(12).fill('fulfilled'));
      const ok = replies.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(ok.map((r) => [r.status, r.headers.connection])).toEqual(Array(12).fill([200, 'close']));
      expect(s.backend.reader!.connectionsOpened).toBe(2);
      await expect(httpCall(`${s.url}/gated`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await release();
      agent.destroy();
    }
  });

  test('at shutdown an idle keep-alive connection is closed and the busy one is answered with Connection: close', async () => {
    const s = await start({ size: 1, maxQueue: 10, acquireTimeoutMs: 30_000 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const release = await gate();
    try {
      // One connection stays busy with a read waiting on the gate, a second one is idle after its answer.
      const busy = httpCall(`${s.url}/gated`, { agent });
      await until(() => s.backend.reader!.inUse === 1);
      expect((await httpCall(`${s.url}/healthz`, { agent })).headers.connection).toBe('keep-alive');
      const stopping = s.shutdown();
      await release();
      expect(await busy).toMatchObject({ status: 200, headers: { connection: 'close' } });
      await stopping;
    } finally {
      await release();
      agent.destroy();
    }
  });

  // The server process runs what ships: the bundle.
  if (build === 'bundle') {
    test('SIGTERM to the server process answers the accepted requests with Connection: close, closes every session and exits 0', async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [bundleFile('container/main')], {
        env: { PATH: process.env.PATH, [CONFIG_PATH_ENV]: configFile, HOST: '127.0.0.1', PORT: String(port), SECURE_DB_API_POOL_SIZE: '2' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      let out = '';
      await new Promise<void>((resolve) => child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"message":"serving"')) resolve();
      }));
      const accepted = Promise.allSettled(Array.from({ length: 4 }, () => httpCall(`http://127.0.0.1:${port}/slower`)));
      await until(async () => (await slowSessions()) === 2);
      child.kill('SIGTERM');
      const replies = (await accepted).map((r) => (r.status === 'fulfilled' ? [r.value.status, r.value.headers.connection] : [r.reason]));
      expect(replies).toEqual(Array(4).fill([200, 'close']));
      expect(await exited).toBe(0);
      await until(async () => (await sessionsOf(READER)) === 0);
    });
  }

  test('the health check answers without touching the database', async () => {
    const s = await start();
    try {
      expect(await httpCall(`${s.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(s.backend.reader!.connectionsOpened).toBe(0);
    } finally {
      await s.shutdown();
    }
  });

  test('HTTPS with the certificate the entrypoint provides', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ctr-tls-'));
    const certs = makeCertificates(dir);
    const s = await start(undefined, { SECURE_DB_API_TLS_KEY: certs.key, SECURE_DB_API_TLS_CERT: certs.cert });
    try {
      expect(s.url.startsWith('https://')).toBe(true);
      const ca = readFileSync(certs.ca);
      expect((await httpCall(`${s.url}/items`, { headers: claims({ tenant_id: 't1' }), ca })).body.data).toEqual([{ name: 'a' }]);
      await expect(httpCall(`${s.url.replace('https:', 'http:')}/items`)).rejects.toBeDefined();
    } finally {
      await s.shutdown();
    }
  });
}));
