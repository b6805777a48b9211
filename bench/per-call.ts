/**
 * Benchmark: what one warm call of the SHIPPED query function costs (assets/runtime/{postgres,mysql}.lambda,
 * the esbuild bundles users deploy, required as Lambda requires them, config.json beside them) with its
 * audit record, EMF metrics and X-Ray tracing on as deployed, against the raw driver (pg, mysql2) doing the
 * same 1-row read and 1-row INSERT, on the real PostgreSQL and MariaDB, through a latency-injecting TCP
 * proxy (0, 1 and 2 ms added round trip). The raw driver is a hand-written Lambda handler
 * (bench/raw-*-entry.ts) bundled with the shipped bundles' own esbuild options, so every variant runs its
 * own copy of its driver, as a deployed function does: a variant whose driver code other variants keep warm
 * would be measured faster than it runs. A third variant, the raw driver asked for a transaction like the
 * function's (PostgreSQL: BEGIN READ ONLY or READ WRITE with SET LOCAL statement_timeout, the row limit,
 * COMMIT, pipelined: three answers, where the function's one batch with a single Sync gets one; MariaDB: SET
 * STATEMENT max_statement_time), tells the function's own cost from the server's. Plus the function with
 * an in-memory engine: microseconds added per call, the database's answer excluded.
 *
 * Each (engine, latency) runs in a fresh process of its own whose stdout (the audit and EMF lines) goes to
 * /dev/null; all variants run every round, in an order shuffled every round from a printed seed.
 *
 * Run: npm run bench (builds the bundles), or `npx ts-node --project tsconfig.dev.json bench/per-call.ts`
 * with PGPORT / MYSQL_PORT naming the servers. BENCH_ROUNDS (default 1000), BENCH_SEED, BENCH_RTTS (default
 * `0,1,2`), BENCH_ENGINES (default `postgres,mariadb`), BENCH_NODE (the Node.js the workers run; see bench/support.ts).
 */
import { fork } from 'child_process';
import * as dgram from 'dgram';
import * as os from 'os';
import * as path from 'path';
import { startLatencyProxy } from './latency-proxy';
import { TIMEOUT_MS } from './raw-entry-shared';
import { apiEvent, ASSETS, BENCH_NODE, buildLike, DB_HOST_ENV, lambdaEnvironment, loadLine, met, nodeLine, percentile, seededRandom, SEED, shuffle, stageBundle } from './support';
import { printTable } from './table';
import type { QueryConfig, RuntimeConfig } from '../src/shared/config';
import { mariadb, MARIADB, PG, postgres } from '../test/runtime/helpers/databases';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1000);
const WARMUP = Math.min(200, ROUNDS);
/** The added round trips measured (BENCH_RTTS=1 for the judged one only). */
const RTTS = (process.env.BENCH_RTTS ?? '0,1,2').split(',').map(Number);
/** The engines measured (BENCH_ENGINES=postgres or mariadb for one). */
const ENGINES = (process.env.BENCH_ENGINES ?? 'postgres,mariadb').split(',');
const READ_SQL = 'SELECT id, label, amount FROM bench_rows WHERE id = :n';
const WRITE_SQL = 'INSERT INTO bench_rows (label, amount) VALUES (:label, :amount)';

type Engine = 'postgres' | 'mariadb';
type Kind = 'read' | 'write';

interface Job {
  readonly engine: Engine | 'memory';
  readonly port: number;
  readonly rtt: number;
  readonly seed: number;
  /** The raw-driver baseline bundle (bench/raw-*-entry.ts) of the engine. */
  readonly rawBundle?: string;
}

/** p50 and p99 (ms) of each variant. */
type Timings = Record<string, { p50: number; p99: number }>;

const QUERIES: QueryConfig[] = [
  {
    name: 'byId',
    method: 'GET',
    path: '/q',
    access: 'read',
    sql: READ_SQL,
    rowLimit: 100,
    timeoutMs: TIMEOUT_MS,
    parameters: [{ name: 'n', type: 'integer', in: 'query' }],
  },
  {
    name: 'add',
    method: 'POST',
    path: '/w',
    access: 'write',
    sql: WRITE_SQL,
    rowLimit: 100,
    timeoutMs: TIMEOUT_MS,
    parameters: [{ name: 'label', type: 'string', in: 'body', maxLength: 40 }, { name: 'amount', type: 'integer', in: 'body' }],
  },
];

function configFor(engine: Engine, port: number): RuntimeConfig {
  const admin = engine === 'postgres' ? PG : MARIADB;
  return {
    version: 1,
    engine,
    // As the construct writes it: the host comes from the function's environment.
    connection: { host: `\${env:${DB_HOST_ENV}}`, port, database: admin.database, user: admin.user, credentials: { type: 'static', password: '' }, tls: { enabled: false }, connectTimeoutMs: 2000 },
    queries: QUERIES,
  };
}

type Call = () => Promise<unknown>;

/** Every variant once per round, in an order shuffled every round. */
async function interleaved(variants: Record<string, Call>, seed: number): Promise<Timings> {
  const random = seededRandom(seed);
  const names = Object.keys(variants);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP; i++) for (const n of shuffle([...names], random)) await variants[n]();
  for (let i = 0; i < ROUNDS; i++) {
    for (const n of shuffle([...names], random)) {
      const t0 = process.hrtime.bigint();
      await variants[n]();
      times[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  return Object.fromEntries(names.map((n) => {
    const s = times[n].sort((a, b) => a - b);
    return [n, { p50: percentile(s, 0.5), p99: percentile(s, 0.99) }];
  }));
}

type LambdaEntry = (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;

/** A benchmark of failing calls measures nothing: stop at the first one. */
function expectOk(res: { statusCode: number; body: string }): void {
  if (res.statusCode !== 200) throw new Error(`benchmark call failed with ${res.statusCode}: ${res.body}`);
}

/** A read (GET /q?n=1) and an INSERT (POST /w) through a Lambda handler, each event as API Gateway sends it. */
function lambdaCalls(handler: LambdaEntry): { read: Call; write: Call } {
  let i = 0;
  const context = (n: number) => ({ awsRequestId: `req-${n}`, functionName: 'bench-query-function', getRemainingTimeInMillis: () => 10_000 });
  return {
    read: async () => expectOk(await handler(apiEvent('GET', '/q', { n: '1' }, undefined, i), context(i++))),
    write: async () => expectOk(await handler(apiEvent('POST', '/w', null, { label: `fn ${i}`, amount: i }, i), context(i++))),
  };
}

/** A bundle's export, required from a directory of its own: each copy is a module instance with its own driver. */
function requireStaged(bundleFile: string, config: RuntimeConfig, name: string): LambdaEntry {
  const { dir, environment } = stageBundle(bundleFile, config);
  // The digest of the shipped bundle's sealed config.json (one per worker process; the raw bundles read no file).
  Object.assign(process.env, environment);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(dir, 'index.js')) as Record<string, LambdaEntry>)[name];
}

/** Runs in a process of its own, with the Lambda environment; stdout is /dev/null. */
async function worker(job: Job): Promise<Timings> {
  if (job.engine === 'memory') {
    const shipped = lambdaCalls(requireStaged(path.join(process.env.BENCH_MEMORY_BUNDLE ?? ''), configFor('postgres', 1), 'handler'));
    const row = { id: 1, label: 'row 1', amount: 1 };
    const calls: Record<string, Call> = {
      'shipped read': shipped.read,
      'raw read': async () => JSON.stringify({ data: [{ ...row }] }),
      'shipped write': shipped.write,
      'raw write': async () => JSON.stringify({ affectedRows: 1 }),
    };
    // The audit lines and the trace are written after the answer, in the same turn of the event loop: timed
    // to the end of that turn too, the call's whole cost.
    const turn = Object.fromEntries(Object.entries(calls).map(([name, call]) => [`${name} turn`, async () => {
      await call();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }]));
    return interleaved({ ...calls, ...turn }, job.seed);
  }
  const config = configFor(job.engine, job.port);
  const bundle = job.engine === 'postgres' ? 'postgres.lambda' : 'mysql.lambda';
  const shipped = lambdaCalls(requireStaged(path.join(ASSETS, bundle, 'index.js'), config, 'handler'));
  const raw = lambdaCalls(requireStaged(job.rawBundle ?? '', config, 'handler'));
  const same = lambdaCalls(requireStaged(job.rawBundle ?? '', config, 'sameWorkHandler'));
  return interleaved({
    'shipped read': shipped.read,
    'raw read': raw.read,
    'same work read': same.read,
    'shipped write': shipped.write,
    'raw write': raw.write,
    'same work write': same.write,
  }, job.seed);
}

/** Runs one job in a fresh process with a deployed function's environment. */
function runWorker(job: Job, xrayPort: number, memoryBundle: string): Promise<Timings> {
  const env = {
    ...process.env,
    ...lambdaEnvironment(path.join(ASSETS), xrayPort, '127.0.0.1'),
    BENCH_WORKER: JSON.stringify(job),
    BENCH_MEMORY_BUNDLE: memoryBundle,
    BENCH_DB_PORT: String(job.port),
  };
  const child = fork(__filename, [], { env, execPath: BENCH_NODE, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['-r', 'ts-node/register/transpile-only'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { timings?: Timings; error?: string }) => (m.timings ? resolve(m.timings) : reject(new Error(m.error))));
    child.once('exit', (code) => reject(new Error(`benchmark worker exited with ${code}`)));
  });
}

async function main(): Promise<void> {
  console.log(`Per-call benchmark: ${ROUNDS} rounds after ${WARMUP} warm-up, order shuffled every round, seed ${SEED} (BENCH_SEED=${SEED} repeats it)\n`);
  const memoryFile = path.join(os.tmpdir(), `sdba-bench-memory-${process.pid}`, 'index.js');
  const memoryBundle = await buildLike('runtime/postgres.lambda', 'bench/memory.lambda.ts', memoryFile, false);
  // The X-Ray daemon's stand-in: counts the segments the function sends.
  const xray = dgram.createSocket('udp4');
  let datagrams = 0;
  xray.on('message', () => datagrams++);
  await new Promise<void>((resolve) => xray.bind(0, '127.0.0.1', resolve));
  const xrayPort = xray.address().port;

  const header = [
    'engine', 'call', 'added RTT ms', 'shipped p50 ms', 'raw p50 ms', 'p50 ratio', 'target', '', 'shipped p99 ms', 'raw p99 ms', 'p99 ratio',
    'µs added p50', 'raw + same server work p50 ms', 'ratio to it',
  ];
  const rows: string[][] = [header];
  const loads: string[] = [];
  let calls = 0;
  let seed = SEED;
  for (const [engine, open] of ([['postgres', postgres], ['mariadb', mariadb]] as const).filter(([e]) => ENGINES.includes(e))) {
    const db = await open();
    await db.exec('DROP TABLE IF EXISTS bench_rows');
    await db.exec(`CREATE TABLE bench_rows (id ${db.types.serial}, label VARCHAR(40), amount ${db.types.int})`);
    for (let i = 0; i < 100; i++) await db.exec(`INSERT INTO bench_rows (label, amount) VALUES ('row ${i}', ${i})`);
    const rawBundle = await buildLike(
      `runtime/${engine === 'postgres' ? 'postgres' : 'mysql'}.lambda`, `bench/raw-${engine === 'postgres' ? 'postgres' : 'mysql'}-entry.ts`,
      path.join(os.tmpdir(), `sdba-bench-raw-${process.pid}`, engine, 'index.js'), engine === 'mariadb',
    );
    let loopbackRaw: number | undefined;
    for (const rtt of RTTS) {
      const proxy = await startLatencyProxy(db.admin.port, rtt);
      const t = await runWorker({ engine, port: proxy.port, rtt, seed: seed++, rawBundle }, xrayPort, memoryBundle);
      await proxy.close();
      calls += 2 * (ROUNDS + WARMUP);
      loads.push(`${engine} ${rtt} ms: ${loadLine()}`);
      if (rtt === 0) loopbackRaw = t['raw read'].p50;
      for (const kind of ['read', 'write'] as Kind[]) {
        const s = t[`shipped ${kind}`];
        const r = t[`raw ${kind}`];
        const g = t[`same work ${kind}`];
        const target = kind === 'read' ? 1.10 : 1.05;
        const judged = rtt === 1;
        rows.push([
          engine, kind === 'read' ? '1-row read' : '1-row INSERT', loopbackRaw === undefined ? String(rtt) : `${rtt} (${(t['raw read'].p50 - loopbackRaw).toFixed(2)})`,
          s.p50.toFixed(3), r.p50.toFixed(3), (s.p50 / r.p50).toFixed(2), judged ? `<= ${target.toFixed(2)}` : '', judged ? met(s.p50 / r.p50 <= target) : '',
          s.p99.toFixed(3), r.p99.toFixed(3), (s.p99 / r.p99).toFixed(2), ((s.p50 - r.p50) * 1000).toFixed(0),
          g.p50.toFixed(3), (s.p50 / g.p50).toFixed(2),
        ]);
      }
    }
    await db.exec('DROP TABLE bench_rows');
    await db.close();
  }
  printTable(rows);
  console.log('added RTT: what the proxy was asked for (what the raw read measured over loopback). Ratios: shipped / raw p50.');
  console.log(`X-Ray datagrams received: ${datagrams} for ${calls} function calls (tracing on).`);
  for (const l of loads) console.log(`  ${l}`);
  console.log(`  ${nodeLine()}\n`);

  const m = await runWorker({ engine: 'memory', port: 0, rtt: 0, seed: seed++ }, xrayPort, memoryBundle);
  const mem: string[][] = [['call', 'shipped p50 µs', 'in-memory raw p50 µs', 'µs added p50', 'shipped p99 µs', 'target', '', 'µs added p50, to the end of the turn']];
  for (const kind of ['read', 'write']) {
    const added = (m[`shipped ${kind}`].p50 - m[`raw ${kind}`].p50) * 1000;
    const [s, r] = [m[`shipped ${kind}`], m[`raw ${kind}`]];
    const turn = (m[`shipped ${kind} turn`].p50 - m[`raw ${kind} turn`].p50) * 1000;
    mem.push([kind, (s.p50 * 1000).toFixed(1), (r.p50 * 1000).toFixed(1), added.toFixed(1), (s.p99 * 1000).toFixed(1), '<= 50', met(added <= 50), turn.toFixed(1)]);
  }
  console.log('The shipped function code with an in-memory engine (the database answer excluded), audit, metrics and tracing on:');
  printTable(mem);
  console.log('  The audit and EMF lines and the X-Ray document are serialized and written after the answer, in the same turn of the');
  console.log('  event loop (before Lambda asks for the next event): the last column times each call to the end of that turn.');
  console.log(`  ${loadLine()}; ${nodeLine()}\n`);
  xray.close();
}

if (process.env.BENCH_WORKER) {
  const job = JSON.parse(process.env.BENCH_WORKER) as Job;
  worker(job).then(
    (timings) => process.send!({ timings }, () => process.exit(0)),
    (e: Error) => process.send!({ error: e.stack ?? String(e) }, () => process.exit(1)),
  );
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
