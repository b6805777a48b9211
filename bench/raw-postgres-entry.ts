/**
 * The raw-driver baseline for PostgreSQL: a hand-written Lambda handler with pg alone, connecting on its
 * first call; GET runs the 1-row SELECT, POST the 1-row INSERT, each answered as JSON. The benchmarks bundle
 * it with the shipped bundles' options, so it runs its own copy of the driver as the function does.
 * `sameWorkHandler` asks the server for what the function asks of it (a read-only or read-write transaction
 * with a statement timeout and the row limit), pipelined, to tell the function's own cost from the server's.
 * BENCH_DB_PORT names the server's port, BENCH_TABLE the table (default `bench_rows`).
 */
import { Client } from 'pg';
import { BenchEvent, statements, TIMEOUT_MS } from './raw-entry-shared';

const { read: READ, write: WRITE } = statements((i) => `$${i}`);

function client(pipeline: boolean): () => Promise<Client> {
  let connected: Promise<Client> | undefined;
  return () => (connected ??= (async () => {
    const port = Number(process.env.BENCH_DB_PORT);
    const c = new Client({ host: process.env.SECURE_DB_API_DB_HOST, port, database: 'test', user: 'postgres', ...(pipeline ? { pipeline: true } : {}) });
    await c.connect();
    return c;
  })());
}

const plain = client(false);

export const handler = async (event: BenchEvent) => {
  const c = await plain();
  if (event.httpMethod === 'POST') {
    const b = JSON.parse(event.body ?? '{}') as { label: string; amount: number };
    const r = await c.query(WRITE, [b.label, b.amount]);
    return { statusCode: 200, body: JSON.stringify({ affectedRows: r.rowCount }) };
  }
  const r = await c.query(READ, [Number(event.queryStringParameters?.n)]);
  return { statusCode: 200, body: JSON.stringify({ data: r.rows }) };
};

const pipelined = client(true);

/** The statement inside a transaction like the function's: three answers, where the function's one batch gets one. */
async function inTransaction(begin: string, text: string, values: unknown[]) {
  const c = await pipelined();
  const opening = c.query(`${begin}; SET LOCAL statement_timeout = ${TIMEOUT_MS}`);
  const r = c.query(text, values);
  const commit = c.query('COMMIT');
  await Promise.all([opening, commit]);
  return r;
}

export const sameWorkHandler = async (event: BenchEvent) => {
  if (event.httpMethod === 'POST') {
    const b = JSON.parse(event.body ?? '{}') as { label: string; amount: number };
    const r = await inTransaction('BEGIN READ WRITE', WRITE, [b.label, b.amount]);
    return { statusCode: 200, body: JSON.stringify({ affectedRows: r.rowCount }) };
  }
  const r = await inTransaction('BEGIN READ ONLY', `SELECT * FROM (\n${READ}\n) AS r LIMIT 101`, [Number(event.queryStringParameters?.n)]);
  return { statusCode: 200, body: JSON.stringify({ data: r.rows }) };
};
