/**
 * The esbuild bundles Lambda actually runs: each loads its config file, serves a real query, and
 * carries only its own driver.
 */
import { spawn } from 'child_process';
import * as dgram from 'dgram';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { apiEvent, json, mariadb, MARIADB, PG, query } from './helpers/databases';
import { until } from './helpers/shipped';
import { CONFIG_PATH_ENV, RUNTIME_SDK_PACKAGES } from '../../src/runtime/lambda';
import { HttpResponse } from '../../src/runtime/problem';
import { QueryConfig, RuntimeConfig } from '../../src/shared/config';

/** A bundle's exported handler, as the tests call it. */
type BundleHandler = ((event: unknown, context: { awsRequestId: string }) => Promise<HttpResponse>) & { close(): Promise<void> };

const ASSETS = path.join(__dirname, '..', '..', 'assets', 'runtime');

/** The query functions' bundle budget (the SQL Server bundle carries tedious and is measured apart): 500 KiB, as `npm run bench` reports it. */
const BUNDLE_BUDGET_BYTES = 500 * 1024;
/** The query functions' idempotency module, full configuration check and pagination, files of their own beside index.js (scripts/bundle-runtime.js). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { IDEMPOTENCY_CHUNK, CONFIG_CHECK_CHUNK, PAGING_CHUNK } = require('../../scripts/bundle-runtime.js') as Record<'IDEMPOTENCY_CHUNK' | 'CONFIG_CHECK_CHUNK' | 'PAGING_CHUNK', string>;
const CHUNKS = [IDEMPOTENCY_CHUNK, CONFIG_CHECK_CHUNK, PAGING_CHUNK];
/** `require("./<chunk>")` in a bundle's text. */
const requireOf = (chunk: string): RegExp => new RegExp(`require\\("\\./${chunk.replace('.', '\\.')}"\\)`, 'g');

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

  test('answers its first traced call before it loads dgram or opens the X-Ray socket, then sends the subsegment', async () => {
    const daemon = dgram.createSocket('udp4');
    const received: string[] = [];
    daemon.on('message', (m) => received.push(String(m)));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    // A fresh process with a deployed function's environment: a cold start, its first call sampled. It says
    // whether dgram was loaded at the answer and at the end of that turn, then waits to be stopped, so the
    // subsegment has all the time it needs, however slow the machine.
    const script = `const { handler } = require(${JSON.stringify(file)});
handler(${JSON.stringify(apiEvent('GET', '/answer', { query: { n: '2' } }))}, { awsRequestId: 'cold' }).then((res) => {
  const atAnswer = process.moduleLoadList.includes('NativeModule dgram');
  setImmediate(() => console.log(JSON.stringify({ status: res.statusCode, atAnswer, after: process.moduleLoadList.includes('NativeModule dgram') })));
  setTimeout(() => process.exit(1), 60_000);
});`;
    const env = {
      PATH: process.env.PATH ?? '',
      [CONFIG_PATH_ENV]: configFile(engine, conn),
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    };
    const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((_, reject) => child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`))));
      exited.catch(() => undefined); // the kill in finally ends it too: only the race below reads it
      const report = await Promise.race([exited, until(() => stdout.includes('{"status"')).then(() => stdout)]);
      const lines = (report ?? '').split('\n').filter((l) => l.startsWith('{"status"'));
      expect(lines.map((l) => JSON.parse(l))).toEqual([{ status: 200, atAnswer: false, after: true }]);
      await until(() => received.length === 1);
      expect(JSON.parse(received[0].split('\n')[1])).toMatchObject({ name: 'database', type: 'subsegment', trace_id: '1-5759e988-bd862e3fe1be46a994272793' });
    } finally {
      child.kill();
      daemon.close();
    }
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

describe.each(['postgres.lambda', 'mysql.lambda', 'sqlserver.lambda', 'graphql-postgres.lambda', 'graphql-mysql.lambda', 'graphql-sqlserver.lambda'])('bundle %s', (bundle) => {
  const text = () => readFileSync(path.join(ASSETS, bundle, 'index.js'), 'utf8');

  test('signs IAM tokens with the credentials in the environment, without the SDK\'s default chain or a bundled Secrets Manager client', () => {
    const code = text();
    expect(code).toMatch(/rds-db/);
    expect(code).toMatch(/AWS_SESSION_TOKEN/);
    // SSO, web identity (STS) and INI-file providers: none can run in Lambda's role setup.
    expect(code).not.toMatch(/sso_start_url|AWS_WEB_IDENTITY_TOKEN_FILE/);
    // The Secrets Manager client reads only the paging cursor key: the runtime's own SDK, required on that path alone.
    expect(code).toMatch(/require\("@aws-sdk\/client-secrets-manager"\)/);
    expect(code).not.toMatch(/defaultSigningName:"secretsmanager"/);
  });

  test('hashes with node:crypto when it signs, without the SDK\'s checksum module (a hash at load time, a JavaScript SHA-256)', () => {
    expect(text()).not.toMatch(/already finished hash|Sha256Js|1116352408/);
  });

});

describe.each(['postgres.lambda', 'mysql.lambda', 'sqlserver.lambda'])('query function bundle %s', (bundle) => {
  const code = () => readFileSync(path.join(ASSETS, bundle, 'index.js'), 'utf8');

  test('requires nothing from outside but Node\'s own modules, the AWS SDK packages the Lambda runtime ships, and optional modules it never loads', () => {
    const required = new Set([...code().matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]).filter((m) => !builtinModules.includes(m.replace(/^node:/, ''))));
    // pg's native binding and mysql2's SQL highlighter are optional, loaded in a try/catch, never used;
    // the chunks are the bundle's own files beside it.
    const own = ['pg-native', 'cardinal', ...CHUNKS.map((chunk) => `./${chunk}`)];
    expect([...required].filter((m) => !(RUNTIME_SDK_PACKAGES as readonly string[]).includes(m) && !own.includes(m))).toEqual([]);
  });

  /** Each chunk, what it holds and when index.js requires it, and texts only it holds. */
  const chunks: Array<[string, string, readonly string[]]> = [
    [IDEMPOTENCY_CHUNK, 'Powertools\' idempotency utility, required only on the idempotency path', ['idempotency store']],
    [CONFIG_CHECK_CHUNK, 'the full configuration check and the SQL lexer, required only for a file that is not sealed',
      ['is defined but the SQL never uses', 'sql must be a single statement', 'Unterminated block comment']],
    [PAGING_CHUNK, 'keyset pagination, required at a paged query\'s first call', ['secure_db_api_page', 'NULLS FIRST', 'has expired (cursors last']],
  ];

  test.each(chunks)('leaves to %s, beside it, %s', (file, _what, texts) => {
    const chunk = readFileSync(path.join(ASSETS, bundle, file), 'utf8');
    for (const text of texts) {
      expect(chunk).toContain(text);
      expect(code()).not.toContain(text);
    }
    // One require of the chunk, in the function that needs it (not at the top level).
    expect(code().match(requireOf(file))).toHaveLength(1);
    // The chunk is a bundle of its own: it requires no other file of the asset.
    expect([...chunk.matchAll(/\brequire\("(\.[^"]+)"\)/g)].map((m) => m[1])).toEqual([]);
  });

  test('leaves Powertools\' JMESPath interpreter and semver out, of the bundle and its chunk', () => {
    const chunk = readFileSync(path.join(ASSETS, bundle, IDEMPOTENCY_CHUNK), 'utf8');
    // The stand-in goes with the idempotency utility, its only user.
    expect(chunk).toMatch(/JMESPath expression .* is not bundled/);
    expect(code() + chunk).not.toMatch(/Invalid Version|Invalid comparator|JMESPath.*Lexer/);
  });
});

describe.each(['postgres.lambda', 'mysql.lambda'])('query function bundle %s', (bundle) => {
  test('stays within its 500 KB budget, with its chunks', () => {
    const bytes = ['index.js', ...CHUNKS].reduce((sum, f) => sum + statSync(path.join(ASSETS, bundle, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual(BUNDLE_BUDGET_BYTES);
  });

  test('loads no file-system or OS module at cold start: none of the SDK\'s config-file or user-agent code is in it', () => {
    const code = readFileSync(path.join(ASSETS, bundle, 'index.js'), 'utf8');
    expect(code).not.toMatch(/require\("(node:)?(fs\/promises|os)"\)/);
    expect(code).not.toMatch(/\.aws\/credentials|AWS_SHARED_CREDENTIALS_FILE/);
  });
});

describe.each(['mysql.lambda', 'graphql-mysql.lambda'])('bundle %s', (bundle) => {
  test('leaves out iconv-lite\'s character-set tables and the RDS certificate profiles (the functions pass their own CA)', () => {
    const code = readFileSync(path.join(ASSETS, bundle, 'index.js'), 'utf8');
    expect(code).toMatch(/connect with utf8mb4 so the server sends UTF-8/);
    expect(code).not.toMatch(/BEGIN CERTIFICATE/);
    expect(code).not.toMatch(/windows1251|\bcp936\b/);
    // mysql2's error names once (name: code), not also as code = name assignments
    expect(code).toMatch(/ER_DUP_ENTRY:1062/);
    expect(code).not.toMatch(/\[1062\]="ER_DUP_ENTRY"/);
  });
});

/** Loads the MySQL bundle with `queries` on the local MariaDB, hands its handler to `use`, then closes it. */
async function withMysqlBundle(queries: QueryConfig[], use: (handler: BundleHandler) => Promise<void>): Promise<void> {
  const config: RuntimeConfig = {
    version: 1,
    engine: 'mariadb',
    connection: { ...MARIADB, credentials: { type: 'static', password: '' }, tls: { enabled: false } },
    queries,
  };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-my-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  process.env[CONFIG_PATH_ENV] = file;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(path.join(ASSETS, 'mysql.lambda', 'index.js')) as { handler: BundleHandler };
  try {
    await use(handler);
  } finally {
    await handler.close();
    delete process.env[CONFIG_PATH_ENV];
  }
}

describe('bundle mysql.lambda on the real MariaDB', () => {
  let db: Awaited<ReturnType<typeof mariadb>>;
  beforeAll(async () => {
    db = await mariadb();
    await db.exec('DROP TABLE IF EXISTS rt_bundle_charsets');
    await db.exec('CREATE TABLE rt_bundle_charsets (id INT PRIMARY KEY, western VARCHAR(40) CHARACTER SET latin1, cyrillic VARCHAR(40) CHARACTER SET cp1251, '
      + 'japanese VARCHAR(40) CHARACTER SET sjis, legacy VARCHAR(40) CHARACTER SET utf8mb3, raw VARBINARY(8))');
    await db.exec("INSERT INTO rt_bundle_charsets VALUES (1, 'Grüße, façade', 'Привет', 'こんにちは', 'naïve ☃', X'00FF10')");
    await db.exec('DROP TABLE IF EXISTS rt_bundle_unique');
    await db.exec('CREATE TABLE rt_bundle_unique (id INT PRIMARY KEY)');
  });
  afterAll(async () => {
    await db.exec('DROP TABLE rt_bundle_charsets');
    await db.exec('DROP TABLE rt_bundle_unique');
    await db.close();
  });

  test('a server error still carries its name (the bundle\'s error table) and maps to its problem', async () => {
    const add = query({
      name: 'add',
      method: 'POST',
      path: '/add',
      access: 'write',
      sql: 'INSERT INTO rt_bundle_unique (id) VALUES (:id)',
      parameters: [{ name: 'id', type: 'integer', in: 'body' }],
    });
    const lines: string[] = [];
    // The driver error is a WARN line; the audit records, written at every level but SILENT (test/quiet-logs.ts),
    // go to stdout directly: kept out of the test output here.
    process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
    const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await withMysqlBundle([add], async (handler) => {
        expect((await handler(apiEvent('POST', '/add', { body: { id: 7 } }), { awsRequestId: 'd1' })).statusCode).toBe(200);
        expect((await handler(apiEvent('POST', '/add', { body: { id: 7 } }), { awsRequestId: 'd2' })).statusCode).toBe(409);
      });
    } finally {
      // The audit lines are written after each answer, in the same turn of the event loop: let it end first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      stdout.mockRestore();
      log.mockRestore();
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    }
    expect(lines.join('\n')).toMatch(/"code":"ER_DUP_ENTRY","errno":1062/);
  });

  test('the server sends every text column as UTF-8 over the utf8mb4 connection, and each comes back intact', async () => {
    const all = query({
      name: 'all',
      method: 'GET',
      path: '/all',
      sql: 'SELECT western, cyrillic, japanese, legacy, HEX(raw) AS raw FROM rt_bundle_charsets WHERE id = :id',
      parameters: [{ name: 'id', type: 'integer', in: 'query' }],
    });
    await withMysqlBundle([all], async (handler) => {
      const res = await handler(apiEvent('GET', '/all', { query: { id: '1' } }), { awsRequestId: 'cs' });
      expect(res.statusCode).toBe(200);
      expect(json(res).data).toEqual([{ western: 'Grüße, façade', cyrillic: 'Привет', japanese: 'こんにちは', legacy: 'naïve ☃', raw: '00FF10' }]);
    });
  });
});
