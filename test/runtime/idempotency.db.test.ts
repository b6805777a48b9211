/**
 * Idempotent writes on the container backend and the Lambda query functions (source and bundle), on both
 * real databases, with dynalite (a DynamoDB-compatible server) as the idempotency store: a retried key answers
 * the first outcome and never writes twice, also when the write's connection dies while it runs; a key reused
 * for another request is a 422 problem; an invalid key a 400.
 */
import type * as http from 'http';
import * as path from 'path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { apiEvent, ENGINES, json, param, query, TestDatabase } from './helpers/databases';
import { BUILDS, containerModule, httpCall, invokeInProcess, lambdaEntry, LambdaEntry, Reply, stageBundle, until, writeConfig } from './helpers/shipped';
import { freePort } from './helpers/throwaway-postgres';
import { RunningServer } from '../../src/runtime/container/main';
import { CONFIG_PATH_ENV } from '../../src/runtime/lambda';
import { RuntimeConfig } from '../../src/shared/config';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: { createTableMs: number }) => http.Server;

const TABLE = 'rt-idempotency';
const UNKNOWN = 'tag:cdk-secure-db-api,2026:problem:write-outcome-unknown';
const AWS_ENV = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/** A fresh table `table` (serial id, k) that `user` (created when missing) may read and insert into. */
async function createWritableTable(db: TestDatabase, table: string, user: string): Promise<void> {
  await db.exec(`DROP TABLE IF EXISTS ${table}`);
  await db.exec(`CREATE TABLE ${table} (id ${db.types.serial}, k INT NOT NULL)`);
  if (db.engine === 'postgres') {
    await db.exec(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${user}') THEN CREATE ROLE ${user} LOGIN; END IF; END $$`);
    await db.exec(`GRANT SELECT, INSERT ON ${table} TO ${user}`);
    await db.exec(`GRANT USAGE ON SEQUENCE ${table}_id_seq TO ${user}`);
  } else {
    for (const host of ['%', 'localhost']) {
      await db.exec(`CREATE USER IF NOT EXISTS '${user}'@'${host}'`);
      await db.exec(`GRANT SELECT, INSERT ON test.${table} TO '${user}'@'${host}'`);
    }
  }
}

let store: http.Server;

beforeAll(async () => {
  store = dynalite({ createTableMs: 0 });
  const port = await freePort();
  await new Promise<void>((resolve) => store.listen(port, '127.0.0.1', resolve));
  // The backend's own DynamoDB client finds the local server the way the SDK always does: the environment.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${port}`,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
  });
  const client = new DynamoDBClient({});
  // Powertools' layout: partition key `id`; the construct's table adds TTL on `expiration`.
  await client.send(new CreateTableCommand({
    TableName: TABLE,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  client.destroy();
});

afterAll(async () => {
  for (const name of AWS_ENV) delete process.env[name];
  await new Promise((resolve) => store?.close(resolve));
});

describe.each(ENGINES)('idempotent writes on %s', (_label, open) => describe.each(BUILDS)('container backend from the %s', (build) => {
  const { ContainerBackend, engineFor, startContainerServer } = containerModule(build);
  const USER = 'rt_idem_w';
  let db: TestDatabase;
  let server: RunningServer;
  let next = 0;

  const config = (): RuntimeConfig => {
    const connection = { host: db.admin.host, port: db.admin.port, database: db.admin.database, user: USER, credentials: { type: 'static' as const, password: '' }, tls: { enabled: false } };
    return {
      version: 1,
      engine: db.engine,
      connection,
      writeConnection: connection,
      idempotency: { tableName: TABLE, expiresAfterSeconds: 3600 },
      queries: [
        query({
          name: 'add',
          method: 'POST',
          path: '/rows',
          access: 'write',
          // Slow enough to be caught running; k is not unique, so a second run would be a second row.
          sql: db.engine === 'postgres'
            ? 'INSERT INTO rt_idem (k) SELECT :k FROM (SELECT pg_sleep(:sleep)) AS s'
            : 'INSERT INTO rt_idem (k) SELECT :k FROM (SELECT SLEEP(:sleep) AS s) AS x',
          parameters: [param({ name: 'k', type: 'integer' }), param({ name: 'sleep', type: 'number', default: 0 })],
        }),
        query({ name: 'count', method: 'GET', path: '/rows', sql: 'SELECT COUNT(*) AS n FROM rt_idem' }),
      ],
    };
  };
  const rowsOf = async (k: number) => Number((await db.exec(`SELECT COUNT(*) AS n FROM rt_idem WHERE k = ${Math.trunc(k)}`))[0].n);
  /** Whether the write of `k` is running on the server (MariaDB shows the bound values; PostgreSQL one write runs at a time here). */
  const running = async (k: number) => {
    const rows = db.engine === 'postgres'
      ? await db.exec("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND state = 'active' AND query LIKE '%pg_sleep%'", [USER])
      : await db.exec("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND = 'Query' AND INFO LIKE '%SLEEP(%' AND INFO LIKE ?", [USER, `%${k}%`]);
    return Number(rows[0].n) === 1;
  };
  const write = (body: Record<string, unknown>, key?: string): Promise<Reply> =>
    httpCall(`${server.url}/rows`, { method: 'POST', body, headers: key === undefined ? {} : { 'idempotency-key': key } });

  beforeAll(async () => {
    db = await open();
    await createWritableTable(db, 'rt_idem', USER);
    const backend = new ContainerBackend({
      config: config(),
      engine: engineFor(db.engine),
      pool: { size: 2, maxQueue: 50, acquireTimeoutMs: 10_000 },
      observer: { record: () => undefined },
      awsCredentials: async () => {
        throw new Error('no AWS credentials for the database in this test');
      },
    });
    server = await startContainerServer({ [CONFIG_PATH_ENV]: writeConfig(config()), HOST: '127.0.0.1' }, backend, 0);
  });
  afterAll(async () => {
    await server?.shutdown();
    await db?.exec('DROP TABLE IF EXISTS rt_idem');
    await db?.close();
  });

  test('a retried key answers the first outcome and writes once; without a key each request writes', async () => {
    const k = ++next + 1000 * BUILDS.indexOf(build);
    const key = `${build}-${db.engine}-${k}`;
    const first = await write({ k }, key);
    const again = await write({ k }, key);
    expect(first).toMatchObject({ status: 200, body: { data: [], meta: { affectedRows: 1 } } });
    expect(again.body).toEqual(first.body);
    expect(await rowsOf(k)).toBe(1);
    await write({ k });
    await write({ k });
    expect(await rowsOf(k)).toBe(3);
  });

  test('a key reused for another request is a 422 problem and writes nothing; an invalid key is a 400', async () => {
    const k = ++next + 1000 * BUILDS.indexOf(build);
    const key = `${build}-${db.engine}-${k}`;
    expect((await write({ k }, key)).status).toBe(200);
    const reused = await write({ k: k + 1 }, key);
    expect(reused).toMatchObject({ status: 422, body: { type: 'tag:cdk-secure-db-api,2026:problem:idempotency-key-reused' } });
    expect(await rowsOf(k + 1)).toBe(0);
    const invalid = await write({ k }, 'has spaces in it');
    expect(invalid).toMatchObject({ status: 400, body: { errors: [{ name: 'Idempotency-Key', in: 'header' }] } });
  });

  test('writes whose connections die while they run, retried by key until answered: 0 duplicates, every 200 stored once', async () => {
    const base = 100_000 + 10_000 * BUILDS.indexOf(build);
    const first = new Map<number, Reply>();
    for (let i = 0; i < 12; i++) {
      const k = base + i;
      const killed = i % 3 === 0;
      const pending = write({ k, sleep: killed ? 2 : 0 }, `fault-${build}-${db.engine}-${k}`);
      if (killed) {
        await until(() => running(k));
        await db.killSessionsOf(USER);
      }
      first.set(k, await pending);
    }
    // A client retries every 5xx with the same key (a naive one, as many are).
    const retried = new Map<number, Reply>();
    for (const [k, reply] of first) {
      let r = reply;
      const killed = (k - base) % 3 === 0;
      for (let attempt = 0; attempt < 3 && r.status >= 500; attempt++) r = await write({ k, sleep: killed ? 2 : 0 }, `fault-${build}-${db.engine}-${k}`);
      retried.set(k, r);
    }
    for (const [k, reply] of first) {
      const rows = await rowsOf(k);
      expect(rows).toBeLessThanOrEqual(1);
      if (reply.status === 200) expect(rows).toBe(1);
      // An unknown outcome stays unknown under its key: the retry is answered, never run again.
      if (reply.body?.type === UNKNOWN) expect(retried.get(k)!.body).toEqual(reply.body);
    }
    expect([...first.values()].filter((r) => r.body?.type === UNKNOWN)).toHaveLength(4);
  });
}));

describe.each(ENGINES)('idempotent writes of the Lambda query function on %s', (_label, open) => {
  const USER = 'rt_idem_lw';
  let db: TestDatabase;
  let next = 0;
  const bundleOf = () => (db.engine === 'postgres' ? 'postgres.lambda' : 'mysql.lambda');

  const config = (idempotency = true): RuntimeConfig => ({
    version: 1,
    engine: db.engine,
    connection: { host: db.admin.host, port: db.admin.port, database: db.admin.database, user: USER, credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    // The construct's form: the table name is a deploy-time value in the function's environment.
    ...(idempotency ? { idempotency: { tableName: '${env:SECURE_DB_API_IDEMPOTENCY_TABLE}', expiresAfterSeconds: 3600 } } : {}),
    queries: [
      query({ name: 'add', method: 'POST', path: '/rows', access: 'write', sql: 'INSERT INTO rt_idem_l (k) VALUES (:k)', parameters: [param({ name: 'k', type: 'integer' })] }),
      query({ name: 'count', method: 'GET', path: '/rows', sql: 'SELECT COUNT(*) AS n FROM rt_idem_l' }),
    ],
  });
  const rowsOf = async (k: number) => Number((await db.exec(`SELECT COUNT(*) AS n FROM rt_idem_l WHERE k = ${Math.trunc(k)}`))[0].n);
  const event = (k: number, key?: string, requestId = `req-${k}`) => apiEvent('POST', '/rows', {
    body: { k },
    headers: { 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
    requestId,
  });

  beforeAll(async () => {
    db = await open();
    process.env.SECURE_DB_API_IDEMPOTENCY_TABLE = TABLE;
    await createWritableTable(db, 'rt_idem_l', USER);
  });
  afterAll(async () => {
    delete process.env.SECURE_DB_API_IDEMPOTENCY_TABLE;
    await db?.exec('DROP TABLE IF EXISTS rt_idem_l');
    await db?.close();
  });

  describe.each(BUILDS)('from the %s', (build) => {
    let fn: LambdaEntry;
    beforeAll(() => {
      fn = lambdaEntry(build, bundleOf(), config());
    });
    afterAll(async () => fn?.close());

    test('a retried key answers the first outcome and writes once; without a key each request writes', async () => {
      const k = ++next + 1000 * BUILDS.indexOf(build);
      const key = `lambda-${build}-${db.engine}-${k}`;
      const first = await fn(event(k, key, 'first'), { awsRequestId: 'first' });
      const again = await fn(event(k, key, 'again'), { awsRequestId: 'again' });
      expect(first.statusCode).toBe(200);
      expect(json(first)).toMatchObject({ data: [], meta: { affectedRows: 1 } });
      expect(again.body).toEqual(first.body);
      expect(await rowsOf(k)).toBe(1);
      await fn(event(k), { awsRequestId: 'n1' });
      await fn(event(k), { awsRequestId: 'n2' });
      expect(await rowsOf(k)).toBe(3);
    });

    test('a key reused for another request is a 422 problem and writes nothing; an invalid key is a 400 and writes nothing', async () => {
      const k = ++next + 1000 * BUILDS.indexOf(build);
      const key = `lambda-${build}-${db.engine}-${k}`;
      expect((await fn(event(k, key), { awsRequestId: 'a' })).statusCode).toBe(200);
      const reused = await fn(event(k + 500, key), { awsRequestId: 'b' });
      expect(reused.statusCode).toBe(422);
      expect(json(reused)).toMatchObject({ type: 'tag:cdk-secure-db-api,2026:problem:idempotency-key-reused' });
      expect(await rowsOf(k + 500)).toBe(0);
      const invalid = await fn(event(k + 600, 'has spaces in it'), { awsRequestId: 'c' });
      expect(invalid.statusCode).toBe(400);
      expect(json(invalid)).toMatchObject({ errors: [{ name: 'Idempotency-Key', in: 'header' }] });
      expect(await rowsOf(k + 600)).toBe(0);
    });

    test('reads are never keyed: the header on a read route changes nothing', async () => {
      const read = (requestId: string) => fn(apiEvent('GET', '/rows', { headers: { 'Idempotency-Key': 'read-key' }, requestId }), { awsRequestId: requestId });
      const before = json(await read('r1')).data[0].n;
      await fn(event(++next + 1000 * BUILDS.indexOf(build)), { awsRequestId: 'w' });
      expect(Number(json(await read('r2')).data[0].n)).toBe(Number(before) + 1);
    });
  });

  test('the staged bundle, each call a cold start as Lambda runs it, finds the AWS SDK where the runtime keeps it (NODE_PATH) and writes a retried key once', async () => {
    const asset = stageBundle(bundleOf(), { 'config.json': config() });
    const k = 90_000 + ++next;
    const env = {
      // Lambda's NODE_PATH names /var/runtime/node_modules, where the runtime's AWS SDK v3 is; here: this repository's.
      NODE_PATH: path.join(__dirname, '..', '..', 'node_modules'),
      SECURE_DB_API_IDEMPOTENCY_TABLE: TABLE,
      ...Object.fromEntries(AWS_ENV.map((name) => [name, process.env[name]])),
    };
    const first = await invokeInProcess(asset, event(k, `staged-${db.engine}-${k}`, 'staged-1'), env);
    const again = await invokeInProcess(asset, event(k, `staged-${db.engine}-${k}`, 'staged-2'), env);
    expect(first).toMatchObject({ result: { statusCode: 200 } });
    expect(again.result).toEqual(first.result);
    expect(await rowsOf(k)).toBe(1);
  });

  test('without an idempotency section the staged bundle never loads the AWS SDK (none on NODE_PATH) and serves writes', async () => {
    const asset = stageBundle(bundleOf(), { 'config.json': config(false) });
    const k = 95_000 + ++next;
    const out = await invokeInProcess(asset, event(k, `ignored-${k}`), {});
    expect(out).toMatchObject({ result: { statusCode: 200 } });
    expect(await rowsOf(k)).toBe(1);
  });
});
