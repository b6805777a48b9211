/**
 * What the raw-driver baselines (bench/raw-*-entry.ts) share: the event fields they read, the table, the
 * statements (with the engine's placeholders) and the statement timeout the "same work" variant asks for.
 */
export interface BenchEvent {
  readonly httpMethod: string;
  readonly queryStringParameters: Record<string, string> | null;
  readonly body: string | null;
}

/** The server-side timeout the function sets for the benchmark's queries (bench/per-call.ts). */
export const TIMEOUT_MS = 5000;

/** The 1-row read and the 1-row INSERT, on BENCH_TABLE (default `bench_rows`), with `placeholder(i)` for the i-th value. */
export function statements(placeholder: (i: number) => string): { read: string; write: string } {
  const table = process.env.BENCH_TABLE ?? 'bench_rows';
  return {
    read: `SELECT id, label, amount FROM ${table} WHERE id = ${placeholder(1)}`,
    write: `INSERT INTO ${table} (label, amount) VALUES (${placeholder(1)}, ${placeholder(2)})`,
  };
}
