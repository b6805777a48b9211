/**
 * Benchmark: the query handler against a hand-written raw-driver handler doing the same 1-row and
 * 100-row SELECT, on the real PostgreSQL and MariaDB, interleaved in one process. Prints median and p99
 * per variant and their ratio (target <= 1.05), the microseconds the handler adds, and the ratio to the
 * raw driver asked for the same server-side work (transaction, timeout, row limit); plus connections
 * opened and tokens signed over 1,000 warm calls (target 1 and 1) and the size of each engine's bundle
 * (target <= 500 KB minified).
 *
 * Run: npm run bench (needs the servers: scripts/ensure-databases.sh, and the bundles: npx projen bundle).
 */
import { statSync } from 'fs';
import * as path from 'path';
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { printTable } from './table';
import { IamTokenCredentials, TokenSigner } from '../src/runtime/credentials';
import { apiEvent, ENGINES, handlerFor, query, TestDatabase } from '../test/runtime/helpers/databases';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);

/** A benchmark of failing calls measures nothing: stop at the first one. */
function expectOk(res: { statusCode: number; body: string }): void {
  if (res.statusCode !== 200) throw new Error(`benchmark call failed with ${res.statusCode}: ${res.body}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

type Call = () => Promise<unknown>;

/** Runs the variants in turn, in a rotating order, so drift and ordering affect all alike. Sorted times per variant. */
async function interleaved(variants: Call[], rounds: number): Promise<number[][]> {
  const times: number[][] = variants.map(() => []);
  for (let i = 0; i < 200; i++) for (const v of variants) await v();
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < variants.length; k++) {
      const j = (i + k) % variants.length;
      const t0 = process.hrtime.bigint();
      await variants[j]();
      times[j].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y));
}

interface RawCaller {
  call(n: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The hand-written handler: the driver's own API, one statement, rows to JSON. `guarded` adds what the
 * handler asks of the server on every call (PostgreSQL: a read-only transaction with a statement timeout,
 * pipelined, and the row limit; MariaDB: the per-statement time limit), to tell the handler's own cost
 * from the server's.
 */
async function rawCaller(db: TestDatabase, sql: string, guarded: boolean): Promise<RawCaller> {
  if (db.engine === 'postgres') {
    const { host, port, database, user } = db.admin;
    // Pipelined when several statements go together, as the handler sends them.
    const c = new Client({ host, port, database, user, ...(guarded ? { pipeline: true } : {}) });
    await c.connect();
    const text = sql.replace(':n', '$1');
    if (!guarded) return { call: async (n) => JSON.stringify({ data: (await c.query(text, [n])).rows }), close: () => c.end() };
    return {
      call: async (n) => {
        const opening = c.query('BEGIN READ ONLY; SET LOCAL statement_timeout = 5000');
        const rows = c.query(`SELECT * FROM (\n${text}\n) AS r LIMIT 101`, [n]);
        const commit = c.query('COMMIT');
        await Promise.all([opening, commit]);
        return JSON.stringify({ data: (await rows).rows });
      },
      close: () => c.end(),
    };
  }
  const c = await mysql.createConnection({ host: db.admin.host, port: db.admin.port, database: db.admin.database, user: db.admin.user });
  const text = `${guarded ? 'SET STATEMENT max_statement_time=5.000 FOR ' : ''}${sql.replace(':n', '?')}`;
  return {
    call: async (n) => JSON.stringify({ data: (await c.query(text, [n]))[0] }),
    close: () => c.end(),
  };
}

async function main() {
  const rows: string[][] = [[
    'engine', 'query', 'handler p50 ms', 'raw p50 ms', 'p50 ratio (target <= 1.05)', 'handler p99 ms', 'raw p99 ms', 'p99 ratio',
    'added µs p50', 'raw + same server work p50 ms', 'p50 ratio to it',
  ]];
  const counts: string[][] = [['engine', 'warm calls', 'connections opened', 'tokens signed']];
  for (const [label, open] of ENGINES) {
    const db = await open();
    await db.exec('DROP TABLE IF EXISTS bench_rows');
    await db.exec(`CREATE TABLE bench_rows (id ${db.types.serial}, label VARCHAR(40), amount ${db.types.int})`);
    for (let i = 0; i < 100; i++) await db.exec(`INSERT INTO bench_rows (label, amount) VALUES ('row ${i}', ${i})`);
    const sqls = {
      '1 row': 'SELECT id, label, amount FROM bench_rows WHERE id = :n',
      '100 rows': 'SELECT id, label, amount FROM bench_rows WHERE id > :n ORDER BY id',
    };
    for (const [name, sql] of Object.entries(sqls)) {
      const handler = handlerFor(db, [query({ name: 'q', method: 'GET', path: '/q', sql, rowLimit: 100, parameters: [{ name: 'n', type: 'integer', in: 'query' }] })]);
      const raw = await rawCaller(db, sql, false);
      const guarded = await rawCaller(db, sql, true);
      const n = name === '1 row' ? '1' : '0';
      const [h, r, g] = await interleaved([
        async () => expectOk(await handler.handle(apiEvent('GET', '/q', { query: { n } }))),
        () => raw.call(Number(n)),
        () => guarded.call(Number(n)),
      ], ROUNDS);
      const fmt = (x: number) => x.toFixed(3);
      const p50 = (x: number[]) => percentile(x, 0.5);
      const p99 = (x: number[]) => percentile(x, 0.99);
      rows.push([label, name, fmt(p50(h)), fmt(p50(r)), (p50(h) / p50(r)).toFixed(2), fmt(p99(h)), fmt(p99(r)), (p99(h) / p99(r)).toFixed(2),
        ((p50(h) - p50(r)) * 1000).toFixed(0), fmt(p50(g)), (p50(h) / p50(g)).toFixed(2)]);
      await handler.close();
      await raw.close();
      await guarded.close();
    }

    // Warm calls: one connection, one token. The local servers take no password and no TLS, so the token is
    // signed and counted but an empty password is sent, and the provider reports itself as static (IAM needs TLS).
    let signed = 0;
    const signer: TokenSigner = { getAuthToken: async () => (signed++, 'token') };
    const iam = new IamTokenCredentials({ hostname: db.admin.host, port: db.admin.port, user: db.admin.user, region: 'eu-west-1', signer });
    const warm = handlerFor(db, [query({ name: 'q', method: 'GET', path: '/q', sql: sqls['1 row'], parameters: [{ name: 'n', type: 'integer', in: 'query' }] })], {
      credentials: { kind: 'static', get: async () => ({ ...(await iam.get()), password: '' }), invalidate: () => iam.invalidate() },
    });
    for (let i = 0; i < 1000; i++) expectOk(await warm.handle(apiEvent('GET', '/q', { query: { n: '1' } })));
    counts.push([label, '1000', String(warm.stats.connectionsOpened), String(signed)]);
    await warm.close();
    await db.exec('DROP TABLE bench_rows');
    await db.close();
  }

  const sizes: string[][] = [['bundle', 'minified size KB', 'target KB']];
  for (const bundle of ['postgres.lambda', 'mysql.lambda']) {
    const size = statSync(path.join(__dirname, '..', 'assets', 'runtime', bundle, 'index.js')).size;
    sizes.push([bundle, (size / 1024).toFixed(0), '500']);
  }
  for (const table of [rows, counts, sizes]) printTable(table);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
