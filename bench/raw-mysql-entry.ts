/**
 * The raw-driver baseline for MariaDB: a hand-written Lambda handler with mysql2 alone, connecting on its
 * first call; GET runs the 1-row SELECT, POST the 1-row INSERT, each answered as JSON. The benchmarks bundle
 * it with the shipped bundles' options, so it runs its own copy of the driver as the function does.
 * `sameWorkHandler` asks the server for what the function asks of it (the per-statement timeout).
 * BENCH_DB_PORT names the server's port, BENCH_TABLE the table (default `bench_rows`).
 */
import { Connection, createConnection, ResultSetHeader } from 'mysql2/promise';
import { BenchEvent, statements, TIMEOUT_MS } from './raw-entry-shared';

const { read: READ, write: WRITE } = statements(() => '?');

function connection(): () => Promise<Connection> {
  let connected: Promise<Connection> | undefined;
  return () => (connected ??= createConnection({ host: process.env.SECURE_DB_API_DB_HOST, port: Number(process.env.BENCH_DB_PORT), database: 'test', user: 'root' }));
}

function handlerWith(prefix: string) {
  const conn = connection();
  return async (event: BenchEvent) => {
    const c = await conn();
    if (event.httpMethod === 'POST') {
      const b = JSON.parse(event.body ?? '{}') as { label: string; amount: number };
      const [r] = await c.query<ResultSetHeader>(`${prefix}${WRITE}`, [b.label, b.amount]);
      return { statusCode: 200, body: JSON.stringify({ affectedRows: r.affectedRows }) };
    }
    const [rows] = await c.query(`${prefix}${READ}`, [Number(event.queryStringParameters?.n)]);
    return { statusCode: 200, body: JSON.stringify({ data: rows }) };
  };
}

export const handler = handlerWith('');

export const sameWorkHandler = handlerWith(`SET STATEMENT max_statement_time=${(TIMEOUT_MS / 1000).toFixed(3)} FOR `);
