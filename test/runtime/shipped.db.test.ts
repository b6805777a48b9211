/**
 * Every artifact that ships, on both real servers, next to its source: the REST query functions
 * (postgres.lambda, mysql.lambda), the GraphQL functions, the container backend and the development
 * server (the bundled command, as a process of its own). The same scenarios run against the TypeScript
 * sources and the minified bundles in assets/runtime, so anything that depends on names esbuild renames,
 * or on code the bundles leave out, fails here.
 */
import { apiEvent, ENGINES, json, param, query, TestDatabase } from './helpers/databases';
import { Build, BUILDS, containerModule, devServerModule, httpCall, lambdaEntry, LambdaEntry, startDevCli, writeConfig } from './helpers/shipped';
import { CONFIG_PATH_ENV } from '../../src/runtime/lambda';
import { QueryConfig, RuntimeConfig } from '../../src/shared/config';

interface Answer {
  readonly status: number;
  readonly body: any;
}

/** One artifact serving REST routes. */
interface RestTarget {
  call(method: string, path: string, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

const quiet = { record: () => undefined };
const noAwsCredentials = async (): Promise<never> => {
  throw new Error('no AWS credentials in this test');
};

const QUERIES = (db: TestDatabase): QueryConfig[] => [
  query({
    name: 'add',
    method: 'POST',
    path: '/items',
    access: 'write',
    sql: 'INSERT INTO rt_ship_items (k, name) VALUES (:k, :name)',
    parameters: [param({ name: 'k', type: 'integer' }), param({ name: 'name', type: 'string', maxLength: 40 })],
  }),
  query({
    name: 'rename',
    method: 'PUT',
    path: '/items',
    access: 'write',
    sql: 'UPDATE rt_ship_items SET name = :to WHERE name = :from',
    parameters: [param({ name: 'from', type: 'string', maxLength: 40 }), param({ name: 'to', type: 'string', maxLength: 40 })],
  }),
  query({
    name: 'byName',
    method: 'GET',
    path: '/items',
    sql: 'SELECT k FROM rt_ship_items WHERE name = :name ORDER BY k',
    parameters: [param({ name: 'name', type: 'string', in: 'query', maxLength: 40 })],
  }),
  query({ name: 'slow', method: 'GET', path: '/slow', timeoutMs: 200, sql: db.sleepSql('3') }),
  query({
    name: 'pages',
    method: 'GET',
    path: '/pages',
    sql: 'SELECT k, name FROM rt_ship_items WHERE k >= :from AND k < :from + 100',
    parameters: [param({ name: 'from', type: 'integer', in: 'query' })],
    pagination: { orderBy: [{ column: 'name' }, { column: 'k', descending: true }], cursorLifetimeSeconds: 600 },
  }),
];

function configOf(db: TestDatabase, queries: QueryConfig[]): RuntimeConfig {
  const connection = { ...db.admin, credentials: { type: 'static' as const, password: '' }, tls: { enabled: false }, connectTimeoutMs: 2000 };
  return { version: 1, engine: db.engine, connection, writeConnection: connection, queries };
}

function viaLambda(handler: LambdaEntry): RestTarget {
  let n = 0;
  return {
    call: async (method, path, body) => {
      const [p, qs] = path.split('?');
      const queryString = qs ? Object.fromEntries(new URLSearchParams(qs)) : undefined;
      const res = await handler(apiEvent(method, p, { body, query: queryString }), { awsRequestId: `r${++n}` });
      return { status: res.statusCode, body: json(res) };
    },
    close: () => handler.close(),
  };
}

function viaHttp(url: string, close: () => Promise<unknown>): RestTarget {
  return {
    call: async (method, path, body) => {
      const r = await httpCall(`${url}${path}`, { method, body });
      return { status: r.status, body: r.body };
    },
    close: async () => void (await close()),
  };
}

type Artifact = [string, (build: Build, db: TestDatabase, config: RuntimeConfig) => Promise<RestTarget>];

const ARTIFACTS: Artifact[] = [
  // Its config.json sealed, as the construct writes it: the queries taken as compiled at synthesis.
  ['query function', async (build, db, config) => viaLambda(lambdaEntry(build, db.engine === 'postgres' ? 'postgres.lambda' : 'mysql.lambda', config, { sealed: true }))],
  ['container backend', async (build, db, config) => {
    const m = containerModule(build);
    const pool = { size: 2, maxQueue: 10, acquireTimeoutMs: 5000 };
    const backend = new m.ContainerBackend({ config, engine: m.engineFor(db.engine), pool, observer: quiet, awsCredentials: noAwsCredentials });
    const file = writeConfig(config);
    const s = await m.startContainerServer({ [CONFIG_PATH_ENV]: file, HOST: '127.0.0.1' }, backend, 0);
    return viaHttp(s.url, () => s.shutdown());
  }],
  ['development server', async (build, db, config) => {
    const url = `${db.engine === 'postgres' ? 'postgres' : 'mysql'}://${db.admin.user}@${db.admin.host}:${db.admin.port}/${db.admin.database}`;
    if (build === 'source') {
      const s = await devServerModule('source').startDevServer({ config, databaseUrl: url, port: 0, observer: quiet });
      return viaHttp(s.url, () => s.close());
    }
    const file = writeConfig(config);
    const cli = await startDevCli(['--config', file, '--database-url', url, '--port', '0']);
    return viaHttp(cli.url, () => cli.stop());
  }],
];

describe.each(ENGINES)('what ships, on %s', (_label, open) => {
  let db: TestDatabase;
  let next = 0;

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_ship_items');
    await db.exec('CREATE TABLE rt_ship_items (k INT PRIMARY KEY, name VARCHAR(40))');
  });
  afterAll(async () => {
    await db?.exec('DROP TABLE IF EXISTS rt_ship_items');
    await db?.close();
  });

  describe.each(ARTIFACTS)('%s', (_artifact, start) => {
    describe.each(BUILDS)('from the %s', (build) => {
      let target: RestTarget;
      beforeAll(async () => {
        target = await start(build, db, configOf(db, QUERIES(db)));
      });
      afterAll(async () => target?.close());

      test('a write answers the rows it changed, never the driver\'s OK packet as data', async () => {
        const tag = `${build}-${++next}-${db.engine}`.slice(0, 40);
        const base = next * 10;
        for (const k of [base + 1, base + 2]) {
          const added = await target.call('POST', '/items', { k, name: tag });
          expect(added).toEqual({ status: 200, body: { data: [], meta: { rowCount: 0, truncated: false, affectedRows: 1 } } });
        }
        const renamed = await target.call('PUT', '/items', { from: tag, to: `${tag}!` });
        expect(renamed).toEqual({ status: 200, body: { data: [], meta: { rowCount: 0, truncated: false, affectedRows: 2 } } });
        const read = await target.call('GET', `/items?name=${encodeURIComponent(`${tag}!`)}`);
        expect(read).toEqual({ status: 200, body: { data: [{ k: base + 1 }, { k: base + 2 }], meta: { rowCount: 2, truncated: false } } });
      });

      test('a paged query walks its pages by links.next; a forged cursor is a 400 problem', async () => {
        const from = 300_000 + ++next * 100;
        for (const [i, name] of ['b', 'a', 'b', 'a', 'b'].entries()) expect((await target.call('POST', '/items', { k: from + i, name })).status).toBe(200);
        const keys: number[] = [];
        let link: string | null = `/pages?from=${from}&limit=2`;
        while (link) {
          const page: Answer = await target.call('GET', link);
          expect(page.status).toBe(200);
          keys.push(...page.body.data.map((r: { k: number }) => r.k));
          link = page.body.links.next;
        }
        expect(keys).toEqual([from + 3, from + 1, from + 4, from + 2, from]);
        const forged = await target.call('GET', `/pages?from=${from}&cursor=AQ${'A'.repeat(60)}`);
        expect(forged.status).toBe(400);
        expect(forged.body.type).toBe('tag:cdk-secure-db-api,2026:problem:invalid-cursor');
      });

      test('a duplicate key is a 409 problem and a slow statement a 504 problem', async () => {
        const k = 100_000 + ++next;
        expect((await target.call('POST', '/items', { k, name: 'dup' })).status).toBe(200);
        const dup = await target.call('POST', '/items', { k, name: 'dup' });
        expect(dup.status).toBe(409);
        expect(dup.body.type).toBe('tag:cdk-secure-db-api,2026:problem:conflict');
        const slow = await target.call('GET', '/slow');
        expect(slow.status).toBe(504);
        expect(slow.body.type).toBe('tag:cdk-secure-db-api,2026:problem:timeout');
      });
    });
  });

  describe.each(BUILDS)('GraphQL function from the %s', (build) => {
    test('a mutation answers its changed rows and no OK packet as a row', async () => {
      const columns = [{ name: 'k', type: 'integer' as const }];
      const base = configOf(db, QUERIES(db).slice(0, 3).map((q) => ({ ...q, columns })));
      const handler = lambdaEntry(build, db.engine === 'postgres' ? 'graphql-postgres.lambda' : 'graphql-mysql.lambda', {
        ...base,
        graphql: { path: '/graphql', maxDepth: 5, maxComplexity: 100, introspection: false },
      });
      try {
        const k = 200_000 + ++next;
        const res = await handler(apiEvent('POST', '/graphql', { body: { query: `mutation { add(k: ${k}, name: "gql-${build}") { rows { k } affectedRows } }` } }), { awsRequestId: 'g1' });
        expect(json(res)).toEqual({ data: { add: { rows: [], affectedRows: 1 } } });
        const read = await handler(apiEvent('POST', '/graphql', { body: { query: `{ byName(name: "gql-${build}") { rows { k } } }` } }), { awsRequestId: 'g2' });
        expect(json(read)).toEqual({ data: { byName: { rows: [{ k }] } } });
      } finally {
        await handler.close();
      }
    });
  });
});
