/**
 * The local development server: the real handler behind HTTP on localhost, over an embedded PGlite
 * database kept on disk and seeded from SQL, or over a given database URL (the real PostgreSQL here).
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { param, PG, query } from './helpers/databases';
import { RuntimeConfig } from '../../src/runtime/config';
import { main, startDevServer } from '../../src/runtime/dev-server';

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
  test('without --config it prints its usage', async () => {
    await expect(main([])).rejects.toThrow(/usage: secure-db-api-dev --config/);
  });

  test('a missing value is named', async () => {
    await expect(main(['--config'])).rejects.toThrow(/--config needs a value/);
  });
});
