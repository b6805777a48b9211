/**
 * sqlmap (Debian package `sqlmap`) against the bundled dev server on the real PostgreSQL and MariaDB,
 * and on a throwaway MariaDB with sql_mode NO_BACKSLASH_ESCAPES: every parameter type from the path, the
 * query string and a JSON body, reads and a write. Prints one line per target and a summary, and exits 1
 * if sqlmap reports an injection point or the canary table changed.
 *
 *   npx projen sqlmap                  # level 5, risk 3, every technique (long)
 *   npx projen sqlmap -- --quick       # level 1, risk 1 (what CI runs)
 *
 * Needs the bundles (`npx projen bundle`) and the local databases (scripts/ensure-databases.sh).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { MARIADB, PG } from '../test/runtime/helpers/databases';
import { startThrowawayMariadb, ThrowawayMariadb } from '../test/runtime/helpers/throwaway-mariadb';

const quick = process.argv.includes('--quick');
/** `--only=TEXT`: only the servers whose label contains TEXT. */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
// Quick: level 3 is the lowest at which sqlmap closes a payload with a comment (`' OR 1=1 #`), which is
// what finds a quote that ends the literal; risk 1 keeps to payloads that cannot change data.
const LEVEL = quick ? ['--level=3', '--risk=1'] : ['--level=5', '--risk=3'];
const DEV_SERVER = path.join(__dirname, '..', 'assets', 'runtime', 'dev-server', 'index.js');

interface Server {
  readonly label: string;
  readonly engine: 'postgres' | 'mariadb';
  readonly dbms: string;
  readonly url: string;
  exec(sql: string): Promise<unknown[]>;
  close(): Promise<void>;
}

const TYPES = {
  postgres: { serial: 'SERIAL PRIMARY KEY', uuid: 'UUID', ts: 'TIMESTAMPTZ', bool: 'BOOLEAN' },
  mariadb: { serial: 'INT AUTO_INCREMENT PRIMARY KEY', uuid: 'CHAR(36)', ts: 'DATETIME(3)', bool: 'BOOLEAN' },
};

async function postgresServer(): Promise<Server> {
  const client = new Client(PG);
  await client.connect();
  return {
    label: 'PostgreSQL',
    engine: 'postgres',
    dbms: 'PostgreSQL',
    url: `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`,
    exec: async (sql) => (await client.query(sql)).rows,
    close: () => client.end(),
  };
}

async function mariadbServer(label: string, port: number, stop?: ThrowawayMariadb): Promise<Server> {
  const conn = await mysql.createConnection({ ...MARIADB, port });
  return {
    label,
    engine: 'mariadb',
    dbms: 'MySQL',
    url: `mysql://${MARIADB.user}@${MARIADB.host}:${port}/${MARIADB.database}`,
    exec: async (sql) => {
      const [rows] = await conn.query(sql);
      return Array.isArray(rows) ? rows : [];
    },
    close: async () => {
      await conn.end();
      await stop?.stop();
    },
  };
}

function configFor(engine: Server['engine']) {
  const p = (name: string, type: string, where: string, extra: Record<string, unknown> = {}) => (
    { name, type, in: where, required: false, ...extra }
  );
  return {
    version: 1,
    engine,
    connection: { host: 'localhost', port: 1, database: 'test', user: 'x', credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    queries: [
      {
        name: 'byName',
        method: 'GET',
        path: '/items/by-name/{name}',
        access: 'read',
        rowLimit: 100,
        timeoutMs: 5000,
        sql: 'SELECT id, name, tenant FROM sm_items WHERE name = :name AND tenant = \'a\'',
        parameters: [p('name', 'string', 'path', { required: true })],
      },
      {
        name: 'search',
        method: 'GET',
        path: '/items',
        access: 'read',
        rowLimit: 100,
        timeoutMs: 5000,
        sql: 'SELECT id, name FROM sm_items WHERE tenant = \'a\' AND (name = :name OR id = :id OR flag = :flag OR ref = :ref OR at = :at OR kind = :kind)',
        parameters: [p('name', 'string', 'query'), p('id', 'integer', 'query'), p('flag', 'boolean', 'query'), p('ref', 'uuid', 'query'), p('at', 'date-time', 'query'), p('kind', 'enum', 'query', { values: ['red', 'green'] })],
      },
      {
        name: 'add',
        method: 'POST',
        path: '/items',
        access: 'write',
        rowLimit: 100,
        timeoutMs: 5000,
        sql: 'INSERT INTO sm_items (name, tenant, id2, score) VALUES (:name, \'a\', :n, :score)',
        parameters: [p('name', 'string', 'body', { required: true, maxLength: 2000 }), p('n', 'integer', 'body'), p('score', 'number', 'body')],
      },
    ],
  };
}

async function seed(s: Server): Promise<void> {
  const t = TYPES[s.engine];
  for (const table of ['sm_items', 'sm_canary']) await s.exec(`DROP TABLE IF EXISTS ${table}`);
  await s.exec(`CREATE TABLE sm_items (id ${t.serial}, name VARCHAR(2000), tenant VARCHAR(10), flag ${t.bool}, ref ${t.uuid}, at ${t.ts}, kind VARCHAR(10), id2 BIGINT, score DOUBLE PRECISION)`);
  await s.exec('CREATE TABLE sm_canary (secret VARCHAR(20))');
  await s.exec("INSERT INTO sm_canary VALUES ('canary')");
  await s.exec("INSERT INTO sm_items (name, tenant) VALUES ('apple', 'a'), ('pear', 'b')");
}

function startDevServer(configFile: string, databaseUrl: string): Promise<{ child: ChildProcess; base: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEV_SERVER, '--config', configFile, '--database-url', databaseUrl, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(err) ?? /(http:\/\/localhost:\d+)\//.exec(err);
      if (m) resolve({ child, base: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`dev server exited with ${code}: ${err}`)));
  });
}

interface Target { readonly name: string; readonly args: string[] }

function targets(base: string): Target[] {
  const json = ['--headers=Content-Type: application/json'];
  return [
    { name: 'path string', args: [`--url=${base}/items/by-name/apple*`] },
    { name: 'query string, every type', args: [`--url=${base}/items?name=apple&id=1&flag=true&ref=00000000-0000-0000-0000-000000000001&at=2024-01-01T00:00:00Z&kind=red`] },
    { name: 'JSON body (write)', args: [`--url=${base}/items`, '--data={"name":"x*","n":1,"score":1.5}', ...json] },
  ];
}

function runSqlmap(dbms: string, target: Target, outDir: string): { injectable: boolean; summary: string } {
  const r = spawnSync('sqlmap', [
    ...target.args, '--batch', ...LEVEL, '--technique=BEUSTQ', `--dbms=${dbms}`, '--flush-session', `--output-dir=${outDir}`,
    '--disable-coloring', '--time-sec=2', '--timeout=10', '--retries=1', '--threads=1',
  ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.error) throw r.error;
  const injectable = /identified the following injection point|is vulnerable|appears to be '.*' injectable/i.test(out) && !/do not appear to be injectable/i.test(out);
  // sqlmap redraws progress with \r: a line's last piece is what stayed on the screen.
  const lines = out.split('\n').map((l) => l.split('\r').pop() ?? '');
  const line = lines.reverse().find((l) => /injectable|injection point|not appear/i.test(l)) ?? lines.find(Boolean) ?? '';
  return { injectable, summary: line.replace(/^(\[[^\]]*\]\s*)+/, '').replace(/\. Try to increase.*$/, '').trim() };
}

async function main(): Promise<void> {
  const version = spawnSync('sqlmap', ['--version'], { encoding: 'utf8' });
  if (version.error) throw new Error('sqlmap is not installed (Debian: apt-get install sqlmap)');
  const throwaway = await startThrowawayMariadb(['--sql-mode=NO_BACKSLASH_ESCAPES']);
  const all = [await postgresServer(), await mariadbServer('MariaDB', MARIADB.port), await mariadbServer('MariaDB sql_mode=NO_BACKSLASH_ESCAPES', throwaway.port, throwaway)];
  const servers = all.filter((s) => only === undefined || s.label.includes(only));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-sqlmap-'));
  let failed = 0;
  const started = Date.now();
  console.log(`sqlmap ${version.stdout.split('\n')[0].trim()}, ${LEVEL.join(' ')}, techniques BEUSTQ, against the bundled dev server`);
  try {
    for (const s of servers) {
      await seed(s);
      const configFile = path.join(dir, `${s.engine}.json`);
      writeFileSync(configFile, JSON.stringify(configFor(s.engine)));
      const { child, base } = await startDevServer(configFile, s.url);
      try {
        for (const t of targets(base)) {
          const r = runSqlmap(s.dbms, t, path.join(dir, 'out'));
          if (r.injectable) failed++;
          console.log(`${r.injectable ? 'INJECTABLE' : 'ok        '} ${s.label.padEnd(40)} ${t.name.padEnd(26)} ${r.summary}`);
        }
      } finally {
        child.kill('SIGTERM');
      }
      const canary = await s.exec('SELECT secret FROM sm_canary');
      if (JSON.stringify(canary) !== JSON.stringify([{ secret: 'canary' }])) {
        failed++;
        console.log(`CHANGED    ${s.label}: the canary table holds ${JSON.stringify(canary)}`);
      }
      for (const table of ['sm_items', 'sm_canary']) await s.exec(`DROP TABLE IF EXISTS ${table}`);
    }
  } finally {
    for (const s of all) await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const total = servers.length * 3;
  console.log(`sqlmap: ${total - failed} passed, ${failed} failed (${Math.round((Date.now() - started) / 1000)} s)`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`sqlmap run failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
