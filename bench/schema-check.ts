/**
 * Benchmark: what checking the queries against a database schema adds to synthesis (issue #19), for a
 * schema of 50 tables and 200 queries (four per table: a read by key, a list, an INSERT ... RETURNING and
 * an UPDATE without RETURNING), none with declared columns. Compared with the same API synthesized
 * without a schema (the baseline, same process): the file form (PGlite started once per synthesis),
 * the file form with a single query (PGlite's start alone), and the URL form on the local PostgreSQL
 * (PGPORT) when it answers. Printed, never asserted (machine speed is not a test).
 *
 * Run: npx ts-node --project tsconfig.dev.json bench/schema-check.ts (needs the bundles: npx projen bundle).
 */
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { AccessLevel, DatabaseTarget, QueryDefinition, QueryParameter, QuerySchema, SecureDbApi } from '../src';
import { benchStack } from './synth-stack';
import { printTable } from './table';

const TABLES = 50;
const ROUNDS = 3;
const ENV_VAR = 'SECURE_DB_API_BENCH_SCHEMA_URL';

const DDL = Array.from({ length: TABLES }, (_, t) => `CREATE TABLE table${t} (
  id bigserial PRIMARY KEY,
  owner uuid NOT NULL,
  status text NOT NULL DEFAULT 'open',
  amount numeric(12, 2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  note text
);`).join('\n');

function queries(tables: number): QueryDefinition[] {
  return Array.from({ length: tables }, (_, t): QueryDefinition[] => [
    { route: `GET /t${t}/{id}`, sql: `SELECT id, owner, status, amount, created_at, note FROM table${t} WHERE id = :id`, parameters: [QueryParameter.integer('id')], single: true },
    { route: `GET /t${t}`, sql: `SELECT id, status, amount FROM table${t} WHERE owner = :owner ORDER BY created_at DESC`, parameters: [QueryParameter.uuid('owner')] },
    {
      route: `POST /t${t}`,
      access: AccessLevel.WRITE,
      sql: `INSERT INTO table${t} (owner, amount, note) VALUES (:owner, :amount, :note) RETURNING id`,
      parameters: [QueryParameter.uuid('owner'), QueryParameter.number('amount'), QueryParameter.string('note', { required: false })],
    },
    {
      route: `PATCH /t${t}/{id}`,
      access: AccessLevel.WRITE,
      sql: `UPDATE table${t} SET status = :status WHERE id = :id`,
      parameters: [QueryParameter.integer('id'), QueryParameter.enumeration('status', ['open', 'closed'])],
    },
  ]).flat();
}

function synthOnce(schema: QuerySchema | undefined, defs: QueryDefinition[]): number {
  const started = process.hrtime.bigint();
  const { app, stack, vpc, cluster } = benchStack('sdba-bench-schema-');
  // No alarms or dashboard: 200 routes with them pass CloudFormation's 500 resources per stack.
  new SecureDbApi(stack, 'Api', {
    vpc,
    database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }),
    queries: defs,
    monitoring: { alarms: false, dashboard: false },
    ...(schema ? { schema } : {}),
  });
  app.synth();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function localPostgresUrl(): Promise<string | undefined> {
  const admin = { host: '127.0.0.1', port: Number(process.env.PGPORT ?? 5432), user: 'postgres', database: 'test' };
  try {
    const client = new Client(admin);
    await client.connect();
    await client.query('DROP DATABASE IF EXISTS schema_bench');
    await client.query('CREATE DATABASE schema_bench');
    await client.end();
    const db = new Client({ ...admin, database: 'schema_bench' });
    await db.connect();
    await db.query(DDL);
    await db.end();
    return `postgres://${admin.user}@${admin.host}:${admin.port}/schema_bench`;
  } catch {
    return undefined;
  }
}

async function main() {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-ddl-')), 'schema.sql');
  writeFileSync(file, DDL);
  const all = queries(TABLES);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const measure = (schema: QuerySchema | undefined, defs: QueryDefinition[]) => median(Array.from({ length: ROUNDS }, () => synthOnce(schema, defs)));

  synthOnce(undefined, all); // warm the module cache
  const baseline = measure(undefined, all);
  const rows: string[][] = [['synthesis, 50 tables / 200 queries', `ms (median of ${ROUNDS})`, 'added ms', 'ratio to no schema']];
  const row = (name: string, ms: number) => rows.push([name, ms.toFixed(0), (ms - baseline).toFixed(0), (ms / baseline).toFixed(2)]);
  row('no schema (baseline)', baseline);
  row('QuerySchema.fromFile (PGlite), 200 queries', measure(QuerySchema.fromFile(file), all));
  row('QuerySchema.fromFile (PGlite), 1 query: the start alone', measure(QuerySchema.fromFile(file), all.slice(0, 1)) - measure(undefined, all.slice(0, 1)) + baseline);
  const url = await localPostgresUrl();
  if (url) {
    process.env[ENV_VAR] = url;
    row('QuerySchema.fromEnvironmentUrl (local PostgreSQL), 200 queries', measure(QuerySchema.fromEnvironmentUrl(ENV_VAR), all));
  } else {
    console.log(`(no PostgreSQL on 127.0.0.1:${process.env.PGPORT ?? 5432}: the URL form is not measured)`);
  }
  printTable(rows);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
