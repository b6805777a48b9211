/**
 * The esbuild bundles Lambda actually runs: each loads its config file, serves a real query, and
 * carries only its own driver.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { apiEvent, json, MARIADB, PG, query } from './helpers/databases';
import { RuntimeConfig } from '../../src/runtime/config';
import { CONFIG_PATH_ENV } from '../../src/runtime/lambda';

const ASSETS = path.join(__dirname, '..', '..', 'assets', 'runtime');

function configFile(engine: RuntimeConfig['engine'], conn: { host: string; port: number; database: string; user: string }): string {
  const config: RuntimeConfig = {
    version: 1,
    engine,
    connection: { ...conn, credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    queries: [query({ name: 'answer', method: 'GET', path: '/answer', sql: 'SELECT 40 + :n AS answer', parameters: [{ name: 'n', type: 'integer', in: 'query' }] })],
  };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-cfg-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe.each([
  ['postgres.lambda', 'postgres' as const, PG, /require\("mysql2"\)|mysql_native_password/],
  ['mysql.lambda', 'mariadb' as const, MARIADB, /pg-protocol|SCRAM-SHA-256-PLUS/],
])('bundle %s', (bundle, engine, conn, foreignDriver) => {
  const file = path.join(ASSETS, bundle, 'index.js');

  test('serves a query from its config file', async () => {
    process.env[CONFIG_PATH_ENV] = configFile(engine, conn);
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(file);
      const res = await handler(apiEvent('GET', '/answer', { query: { n: '2' } }), { awsRequestId: 'r1' });
      await handler.close();
      expect(res.statusCode).toBe(200);
      expect(Number(json(res).data[0].answer)).toBe(42);
    } finally {
      delete process.env[CONFIG_PATH_ENV];
    }
  });

  test('does not ship the other engine\'s driver', () => {
    expect(readFileSync(file, 'utf8')).not.toMatch(foreignDriver);
  });
});

describe.each([
  ['graphql-postgres.lambda', 'postgres' as const, PG],
  ['graphql-mysql.lambda', 'mariadb' as const, MARIADB],
])('bundle %s', (bundle, engine, conn) => {
  test('answers a GraphQL query and a mutation, each as its own user', async () => {
    const base = JSON.parse(readFileSync(configFile(engine, conn), 'utf8')) as RuntimeConfig;
    const config: RuntimeConfig = {
      ...base,
      queries: [
        { ...base.queries[0], columns: [{ name: 'answer', type: 'integer' }] },
        query({ name: 'double', method: 'POST', path: '/double', access: 'write', sql: 'SELECT 2 * :n AS doubled', parameters: [{ name: 'n', type: 'integer', in: 'body' }], columns: [{ name: 'doubled', type: 'integer' }] }),
      ],
      writeConnection: base.connection,
      graphql: { path: '/graphql', maxDepth: 5, maxComplexity: 100, introspection: false },
    };
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-gql-')), 'config.json');
    writeFileSync(file, JSON.stringify(config));
    process.env[CONFIG_PATH_ENV] = file;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { handler } = require(path.join(ASSETS, bundle, 'index.js'));
      const q = await handler(apiEvent('POST', '/graphql', { body: { query: '{ answer(n: 2) { rows { answer } } }' } }), { awsRequestId: 'r1' });
      const m = await handler(apiEvent('POST', '/graphql', { body: { query: 'mutation { double(n: 21) { rows { doubled } } }' } }), { awsRequestId: 'r2' });
      await handler.close();
      expect(json(q)).toEqual({ data: { answer: { rows: [{ answer: 42 }] } } });
      expect(json(m)).toEqual({ data: { double: { rows: [{ doubled: 42 }] } } });
    } finally {
      delete process.env[CONFIG_PATH_ENV];
    }
  });

  test('holds exactly one copy of graphql-js (two break at run time)', () => {
    expect(readFileSync(path.join(ASSETS, bundle, 'index.js'), 'utf8').match(/from another module or realm/g)).toHaveLength(1);
  });
});
