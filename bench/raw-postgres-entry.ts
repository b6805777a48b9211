/**
 * The cold-start baseline for PostgreSQL: a hand-written Lambda handler with pg alone, connecting on its
 * first call and running the same 1-row SELECT. bench/cold-start.ts bundles it with the shipped options.
 */
import { Client } from 'pg';

let client: Client | undefined;

export const handler = async (event: { queryStringParameters: Record<string, string> }) => {
  if (!client) {
    client = new Client({ host: process.env.SECURE_DB_API_DB_HOST, port: Number(process.env.BENCH_DB_PORT), database: 'test', user: 'postgres' });
    await client.connect();
  }
  const r = await client.query('SELECT id, label, amount FROM bench_cold WHERE id = $1', [Number(event.queryStringParameters.n)]);
  return { statusCode: 200, body: JSON.stringify({ data: r.rows }) };
};
