/**
 * The cold-start baseline for MariaDB: a hand-written Lambda handler with mysql2 alone, connecting on its
 * first call and running the same 1-row SELECT. bench/cold-start.ts bundles it with the shipped options.
 */
import { Connection, createConnection } from 'mysql2/promise';

let conn: Connection | undefined;

export const handler = async (event: { queryStringParameters: Record<string, string> }) => {
  conn ??= await createConnection({ host: process.env.SECURE_DB_API_DB_HOST, port: Number(process.env.BENCH_DB_PORT), database: 'test', user: 'root' });
  const [rows] = await conn.query('SELECT id, label, amount FROM bench_cold WHERE id = ?', [Number(event.queryStringParameters.n)]);
  return { statusCode: 200, body: JSON.stringify({ data: rows }) };
};
