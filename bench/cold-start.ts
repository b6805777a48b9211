/**
 * Benchmark: cold start of the shipped query function (a fresh Node process: require the bundle, then
 * the first call, which opens a new connection) against a minimal raw-driver bundle doing the same (require
 * pg or mysql2, connect, the same 1-row SELECT), built with the shipped bundles' own esbuild options.
 * Both run with the Lambda environment and alternate in a shuffled order; the time is measured inside the
 * process from before `require` to the first answer. The shipped bundle's config.json is sealed as the
 * construct writes it (its digest in the environment). Target: at most 1.25x the raw-driver bundle. A third
 * variant, not judged, is the shipped bundle with a configuration of 50 queries: the file is larger, and the
 * first call builds each query's matchers from its compiled form.
 *
 * Run: npm run bench, or `npx ts-node --project tsconfig.dev.json bench/cold-start.ts`. BENCH_COLD_RUNS (default 21);
 * BENCH_NODE, the Node.js binary the fresh processes run (Lambda's is Node.js 24; see bench/support.ts).
 */
import { execFile } from 'child_process';
import * as dgram from 'dgram';
import { mkdtempSync, statSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { apiEvent, ASSETS, BENCH_NODE, buildLike, DB_HOST_ENV, lambdaEnvironment, loadLine, median, nodeLine, met, seededRandom, SEED, shuffle, StagedBundle, stageBundle } from './support';
import { printTable } from './table';
import type { RuntimeConfig } from '../src/shared/config';
import { mariadb, MARIADB, PG, postgres } from '../test/runtime/helpers/databases';

const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 21);
const MARK = '@@bench-cold-ms ';
const SQL = 'SELECT id, label, amount FROM bench_cold WHERE id = :n';
/** The table the raw-driver baseline reads (bench/raw-*-entry.ts). */
const TABLE_ENV = { BENCH_TABLE: 'bench_cold' };

/** The number of queries of the larger configuration: a function of a sizeable API serves this many. */
const MANY_QUERIES = 50;

/**
 * The function's configuration: the query the call reads, and `more` other read queries (each with a path
 * parameter and a query-string parameter with a default, as a listing route of a real API has).
 */
function configFor(engine: 'postgres' | 'mariadb', more = 0): RuntimeConfig {
  const admin = engine === 'postgres' ? PG : MARIADB;
  const others: RuntimeConfig['queries'] = Array.from({ length: more }, (_, i) => ({
    name: `listing${i}`,
    method: 'GET',
    path: `/customers/{id}/orders${i}`,
    access: 'read',
    sql: 'SELECT o.id, o.label, o.amount FROM bench_cold o WHERE o.id = :id AND o.label <> :status ORDER BY o.id',
    rowLimit: 100,
    timeoutMs: 5000,
    parameters: [{ name: 'id', type: 'integer', in: 'path' }, { name: 'status', type: 'enum', values: ['open', 'closed'], in: 'query', default: 'open' }],
  }));
  return {
    version: 1,
    engine,
    connection: { host: `\${env:${DB_HOST_ENV}}`, port: admin.port, database: admin.database, user: admin.user, credentials: { type: 'static', password: '' }, tls: { enabled: false }, connectTimeoutMs: 2000 },
    queries: [{ name: 'byId', method: 'GET', path: '/q', access: 'read', sql: SQL, rowLimit: 100, timeoutMs: 5000, parameters: [{ name: 'n', type: 'integer', in: 'query' }] }, ...others],
  };
}

/** One cold start: a fresh process requires `dir`/index.js and answers one event. Milliseconds. */
function coldStart(dir: string, env: Record<string, string>): Promise<number> {
  const event = apiEvent('GET', '/q', { n: '1' }, undefined, 0);
  const script = `const t0 = process.hrtime.bigint();
const { handler } = require(require('path').join(${JSON.stringify(dir)}, 'index.js'));
handler(${JSON.stringify(event)}, { awsRequestId: 'cold-1', getRemainingTimeInMillis: () => 10000 }).then((r) => {
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.statusCode !== 200) { console.log('failed ' + r.body); process.exit(1); }
  console.log('\\n${MARK}' + ms);
  process.exit(0);
});`;
  return new Promise((resolve, reject) => {
    execFile(BENCH_NODE, ['-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (!line) reject(new Error(`cold start failed (${err?.message}): ${stdout}${stderr}`));
      else resolve(Number(line.slice(MARK.length)));
    });
  });
}

async function main(): Promise<void> {
  const random = seededRandom(SEED + 1);
  console.log(`Cold start: ${RUNS} fresh processes per bundle, alternating in shuffled order, seed ${SEED}`);
  const xray = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => xray.bind(0, '127.0.0.1', resolve));
  const rows: string[][] = [['engine', 'bundle', 'size KB', 'require + first call p50 ms', 'ratio to raw', 'target', '']];
  for (const [engine, open] of [['postgres', postgres], ['mariadb', mariadb]] as const) {
    const db = await open();
    await db.exec('DROP TABLE IF EXISTS bench_cold');
    await db.exec(`CREATE TABLE bench_cold (id ${db.types.serial}, label VARCHAR(40), amount ${db.types.int})`);
    await db.exec("INSERT INTO bench_cold (label, amount) VALUES ('row 1', 1)");
    const bundle = engine === 'postgres' ? 'postgres.lambda' : 'mysql.lambda';
    const rawDir = mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-raw-'));
    const rawEntry = `bench/raw-${engine === 'postgres' ? 'postgres' : 'mysql'}-entry.ts`;
    await buildLike(`runtime/${bundle}`, rawEntry, path.join(rawDir, 'index.js'), engine === 'mariadb');
    const shipped = stageBundle(path.join(ASSETS, bundle, 'index.js'), configFor(engine));
    const many = stageBundle(path.join(ASSETS, bundle, 'index.js'), configFor(engine, MANY_QUERIES - 1));
    const env = { ...lambdaEnvironment(shipped.dir, xray.address().port, '127.0.0.1'), BENCH_DB_PORT: String(db.admin.port), ...TABLE_ENV };
    const times: Record<string, number[]> = { shipped: [], many: [], raw: [] };
    const staged: Record<string, StagedBundle> = { shipped, many, raw: { dir: rawDir, environment: {} } };
    for (let i = 0; i < RUNS; i++) {
      for (const v of shuffle(['shipped', 'many', 'raw'], random)) {
        times[v].push(await coldStart(staged[v].dir, { ...env, ...staged[v].environment, LAMBDA_TASK_ROOT: staged[v].dir }));
      }
    }
    const size = (d: string) => (statSync(path.join(d, 'index.js')).size / 1024).toFixed(0);
    const [s, m, r] = [median(times.shipped), median(times.many), median(times.raw)];
    rows.push([engine, `shipped ${bundle}`, size(shipped.dir), s.toFixed(1), (s / r).toFixed(2), '<= 1.25', met(s / r <= 1.25)]);
    rows.push([engine, `shipped ${bundle}, ${MANY_QUERIES} queries`, size(many.dir), m.toFixed(1), (m / r).toFixed(2), '', '']);
    rows.push([engine, `raw ${engine === 'postgres' ? 'pg' : 'mysql2'} alone`, size(rawDir), r.toFixed(1), '1.00', '', '']);
    await db.exec('DROP TABLE bench_cold');
    await db.close();
  }
  xray.close();
  printTable(rows);
  console.log(`  ${loadLine()}; ${nodeLine()}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
