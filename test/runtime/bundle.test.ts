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
