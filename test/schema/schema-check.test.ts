/**
 * Queries checked against the database schema at synthesis (issue #19): the file form on an embedded
 * PGlite, the URL form on the real PostgreSQL and MariaDB servers. Every query is described, never
 * executed; problems stop the synthesis all at once, and result columns come from the description.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { AccessLevel, ColumnType, DatabaseTarget, QueryDefinition, QueryParameter, QuerySchema, SecureDbApi } from '../../src';
import { describeQueries } from '../../src/schema/check';
import { ENV, postgresApi } from '../helpers/stacks';
import { MARIADB, PG } from '../runtime/helpers/databases';

const DIR = mkdtempSync(path.join(os.tmpdir(), 'schema-check-'));

const SHOP_DDL = `
CREATE TABLE customers (id uuid PRIMARY KEY, name text NOT NULL, email text);
CREATE TYPE order_status AS ENUM ('open', 'paid');
CREATE TABLE orders (
  id serial PRIMARY KEY,
  customer_id uuid NOT NULL REFERENCES customers (id),
  status order_status NOT NULL DEFAULT 'open',
  total numeric(10, 2) NOT NULL,
  placed_at timestamptz NOT NULL DEFAULT now(),
  paid boolean NOT NULL DEFAULT false,
  note text
);
`;

function schemaFile(name: string, ddl: string): string {
  const file = path.join(DIR, name);
  writeFileSync(file, ddl);
  return file;
}

const SHOP: QueryDefinition[] = [
  {
    route: 'GET /orders/{id}',
    sql: 'SELECT o.id, o.total, o.placed_at, o.paid, o.note, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = :id',
    parameters: [QueryParameter.integer('id')],
    single: true,
  },
  {
    route: 'GET /customers/{id}/orders',
    sql: 'SELECT c.name, o.id AS order_id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.id = :id',
    parameters: [QueryParameter.uuid('id')],
  },
  {
    route: 'POST /orders',
    access: AccessLevel.WRITE,
    sql: 'INSERT INTO orders (customer_id, total) VALUES (:customer, :total) RETURNING id, status',
    parameters: [QueryParameter.uuid('customer'), QueryParameter.number('total')],
  },
  {
    route: 'PATCH /orders/{id}',
    access: AccessLevel.WRITE,
    sql: 'UPDATE orders SET note = :note WHERE id = :id',
    parameters: [QueryParameter.integer('id'), QueryParameter.string('note')],
  },
];

type JsonObject = Record<string, any>;

function rowSchema(api: SecureDbApi, name: string): JsonObject {
  return (JSON.parse(api.openApiDocument()) as JsonObject).components.schemas[name];
}

function graphqlConfig(app: App, stack: Stack): JsonObject {
  const t = Template.fromStack(stack);
  const [fn] = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('graphql queries') } })) as JsonObject[];
  return JSON.parse(readFileSync(path.join(app.synth().directory, fn.Metadata['aws:asset:path'], 'config.json'), 'utf8'));
}

describe('a PostgreSQL schema file (embedded PGlite)', () => {
  const schema = QuerySchema.fromFile(schemaFile('shop.sql', SHOP_DDL));

  test('result columns and their types come from the schema: OpenAPI response schemas and the GraphQL function', () => {
    const { app, stack, api } = postgresApi({ schema, queries: SHOP, graphql: {} });
    expect(rowSchema(api, 'GetOrdersByIdRow')).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        // numeric arrives as exact text
        total: { type: 'string' },
        placed_at: { type: 'string', format: 'date-time' },
        paid: { type: 'boolean' },
        note: { type: ['string', 'null'] },
        name: { type: 'string' },
      },
      required: ['id', 'total', 'placed_at', 'paid', 'note', 'name'],
      additionalProperties: false,
    });
    // The optional side of a LEFT JOIN is nullable even where its table says NOT NULL.
    expect(rowSchema(api, 'GetCustomersByIdOrdersRow').properties.order_id).toEqual({ type: ['integer', 'null'] });
    expect(rowSchema(api, 'PostOrdersRow').properties).toEqual({ id: { type: 'integer' }, status: { type: 'string' } });
    const queries = graphqlConfig(app, stack).queries as JsonObject[];
    expect(queries.find((q) => q.name === 'getOrdersById')?.columns).toContainEqual({ name: 'paid', type: 'boolean', nullable: false });
    // A write without RETURNING keeps answering its affected rows: no columns.
    expect(queries.find((q) => q.name === 'patchOrdersById')?.columns).toBeUndefined();
  });

  test('declared columns are kept, and checked against the schema', () => {
    const { api } = postgresApi({
      schema,
      queries: [{ route: 'GET /orders', sql: 'SELECT id, note FROM orders', columns: [{ name: 'id', type: ColumnType.INTEGER, nullable: false, description: 'The order' }] }],
    });
    expect(rowSchema(api, 'GetOrdersRow').properties).toEqual({ id: { type: 'integer', description: 'The order' } });
    const wrong = postgresApi({
      schema,
      queries: [{ route: 'GET /orders', sql: 'SELECT id, note FROM orders', columns: [{ name: 'id', type: ColumnType.UUID }, { name: 'notes', type: ColumnType.STRING }] }],
    });
    expect(() => wrong.app.synth()).toThrow(/column "id" is declared uuid, but the result holds integer \(int4\)[\s\S]*declared column "notes" is not in the result \(it returns id, note\)/);
  });

  test('every problem of every query is listed at once, with query name, route, message and position', () => {
    const { app } = postgresApi({
      schema,
      queries: [
        { route: 'GET /orders', sql: 'SELECT id,\n  total\nFROM orderz' },
        { route: 'GET /orders/{id}', sql: 'SELECT id, totl FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')] },
        { route: 'GET /customers/{id}', sql: 'SELECT name FROM customers WHERE id = :id', parameters: [QueryParameter.integer('id')] },
        // No column (a DELETE without RETURNING is refused before the schema check, from its SQL alone).
        { route: 'DELETE /orders/{id}', access: AccessLevel.WRITE, sql: 'SELECT FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], single: true },
        { route: 'GET /open', sql: 'SELECT id FROM orders WHERE status = :status', parameters: [QueryParameter.boolean('status')] },
      ],
    });
    let message = '';
    let stack: string | undefined;
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
      stack = (e as Error).stack;
    }
    // What `cdk synth` prints: the problems, not the library's call stack.
    expect(stack).toBe(`Error: ${message}`);
    expect(message).toMatch(/^SecureDbApi Test\/Api: 5 problems with the queries against .*shop\.sql:/);
    expect(message).toContain('- query "getOrders" (GET /orders): relation "orderz" does not exist [42P01] at line 3, column 6 (near "orderz")');
    expect(message).toContain('- query "getOrdersById" (GET /orders/{id}): column "totl" does not exist [42703] at line 1, column 12 (near "totl FROM orders WHERE id = :i")');
    expect(message).toContain('- query "getCustomersById" (GET /customers/{id}): parameter "id" is declared integer, but the database expects uuid there: no integer value is a valid uuid; declare it QueryParameter.uuid');
    expect(message).toContain('- query "deleteOrdersById" (DELETE /orders/{id}): single: true, but the statement returns no columns');
    expect(message).toContain('- query "getOpen" (GET /open): parameter "status" is declared boolean, but the database expects order_status there');
    expect(message).not.toMatch(/\n\s+at /);
  });

  test('a schema change that breaks an existing query stops the synthesis', () => {
    const queries: QueryDefinition[] = [{ route: 'GET /orders', sql: 'SELECT id, note FROM orders WHERE note LIKE :q', parameters: [QueryParameter.string('q')] }];
    const file = schemaFile('migrating.sql', SHOP_DDL);
    expect(() => postgresApi({ schema: QuerySchema.fromFile(file), queries }).app.synth()).not.toThrow();
    writeFileSync(file, `${SHOP_DDL}\nALTER TABLE orders RENAME COLUMN note TO remark;\n`);
    expect(() => postgresApi({ schema: QuerySchema.fromFile(file), queries }).app.synth())
      .toThrow(/query "getOrders" \(GET \/orders\): column "note" does not exist \[42703\] at line 1, column 12/);
  });

  test('parameters the server reports by number are named as in the SQL', () => {
    const { app } = postgresApi({ schema, queries: [{ route: 'GET /x', sql: 'SELECT 1 AS v WHERE :anything IS NULL', parameters: [QueryParameter.string('anything')] }] });
    expect(() => app.synth()).toThrow(/could not determine data type of parameter :anything/);
  });

  test('an unreadable schema file is one error naming the file', () => {
    const missing = path.join(DIR, 'missing.sql');
    const { app } = postgresApi({ schema: QuerySchema.fromFile(missing) });
    expect(() => app.synth()).toThrow(new RegExp(`^SecureDbApi Test/Api: cannot read the schema file ${missing.replace(/[.]/g, '\\.')}: ENOENT`));
  });

  test('DDL that fails to load is one error naming the file and, where the server tells, the line', () => {
    const file = schemaFile('broken.sql', 'CREATE TABLE a (id int);\nCREATE TABLE b (id int,, name text);\n');
    expect(() => postgresApi({ schema: QuerySchema.fromFile(file) }).app.synth())
      .toThrow(/^SecureDbApi Test\/Api: the schema file .*broken\.sql does not load into PostgreSQL: syntax error at or near "," \(at line 2, column 24\)$/);
    writeFileSync(file, 'CREATE TABLE b (id int REFERENCES nowhere (id));\n');
    expect(() => postgresApi({ schema: QuerySchema.fromFile(file) }).app.synth())
      .toThrow(/^SecureDbApi Test\/Api: the schema file .*broken\.sql does not load into PostgreSQL: relation "nowhere" does not exist$/);
  });

  test('the planner check sees a read that writes through a data-modifying CTE (describe only, no row changes)', () => {
    const [described] = describeQueries(schema, 'postgres', [{
      name: 'sneaky',
      method: 'GET',
      path: '/sneaky',
      access: 'read',
      parameters: [],
      rowLimit: 10,
      timeoutMs: 1000,
      sql: 'WITH gone AS (DELETE FROM orders WHERE id = :id RETURNING id) SELECT id FROM gone',
    }]);
    expect(described.writes).toEqual(['Delete on orders']);
  });
});

describe('a database URL from the environment', () => {
  const ENV_VAR = 'SECURE_DB_API_TEST_SCHEMA_URL';
  const DATABASE = 'schema_check_19';
  afterEach(() => {
    delete process.env[ENV_VAR];
  });

  describe('PostgreSQL', () => {
    beforeAll(async () => {
      const admin = new Client(PG);
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
      await admin.query(`CREATE DATABASE ${DATABASE}`);
      await admin.end();
      const db = new Client({ ...PG, database: DATABASE });
      await db.connect();
      await db.query(SHOP_DDL);
      await db.end();
    });

    const url = () => `postgres://${PG.user}@${PG.host}:${PG.port}/${DATABASE}`;

    test('describes the queries on the server: columns from it, problems listed', async () => {
      process.env[ENV_VAR] = url();
      const { api } = postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR), queries: SHOP });
      expect(rowSchema(api, 'GetOrdersByIdRow').properties.total).toEqual({ type: 'string' });
      expect(rowSchema(api, 'GetOrdersByIdRow').properties.placed_at).toEqual({ type: 'string', format: 'date-time' });
      const broken = postgresApi({
        schema: QuerySchema.fromEnvironmentUrl(ENV_VAR),
        queries: [{ route: 'GET /c/{id}', sql: 'SELECT nme FROM customers WHERE id = :id', parameters: [QueryParameter.integer('id')] }],
      });
      expect(() => broken.app.synth()).toThrow(/the database in \$SECURE_DB_API_TEST_SCHEMA_URL:\n- query "getCById" \(GET \/c\/\{id\}\): column "nme" does not exist \[42703\] at line 1, column 8/);
    });

    test('a column dropped on the server breaks the query that uses it', async () => {
      process.env[ENV_VAR] = url();
      const queries: QueryDefinition[] = [{ route: 'GET /c', sql: 'SELECT id, email FROM customers' }];
      expect(() => postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR), queries }).app.synth()).not.toThrow();
      const db = new Client({ ...PG, database: DATABASE });
      await db.connect();
      await db.query('ALTER TABLE customers DROP COLUMN email');
      await db.end();
      expect(() => postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR), queries }).app.synth()).toThrow(/column "email" does not exist/);
    });

    test('nothing is executed: a described write leaves the table as it was', async () => {
      process.env[ENV_VAR] = url();
      const { app } = postgresApi({
        schema: QuerySchema.fromEnvironmentUrl(ENV_VAR),
        queries: [{ route: 'POST /c', access: AccessLevel.WRITE, sql: 'INSERT INTO customers (id, name) VALUES (gen_random_uuid(), :name) RETURNING id', parameters: [QueryParameter.string('name')] }],
      });
      app.synth();
      const db = new Client({ ...PG, database: DATABASE });
      await db.connect();
      const { rows } = await db.query('SELECT count(*)::int AS n FROM customers');
      await db.end();
      expect(rows).toEqual([{ n: 0 }]);
    });
  });

  describe('MariaDB', () => {
    beforeAll(async () => {
      const admin = await mysql.createConnection({ ...MARIADB, database: undefined, multipleStatements: true });
      await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}; CREATE DATABASE ${DATABASE}; USE ${DATABASE};
        CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, sku VARCHAR(40) NOT NULL, price DECIMAL(10,2) NOT NULL,
          in_stock TINYINT(1) NOT NULL DEFAULT 1, added DATETIME NULL, weight DOUBLE NULL)`);
      await admin.end();
    });

    function mysqlApi(queries: QueryDefinition[]): App {
      const app = new App();
      const stack = new Stack(app, 'Test', { env: ENV });
      const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
      const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Db', {
        instanceIdentifier: 'shop',
        instanceEndpointAddress: 'shop.abc.eu-west-1.rds.amazonaws.com',
        port: 3306,
        securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'DbSg', 'sg-0123456789abcdef0')],
        engine: rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_10_11 }),
      });
      const api = new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromInstance(instance, { databaseName: 'shop' }), queries, schema: QuerySchema.fromEnvironmentUrl(ENV_VAR) });
      apis.set(app, api);
      return app;
    }
    const apis = new Map<App, SecureDbApi>();
    const url = () => `mariadb://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${DATABASE}`;

    test('columns and their types come from the prepared statement', () => {
      process.env[ENV_VAR] = url();
      const app = mysqlApi([{ route: 'GET /items', sql: 'SELECT id, sku, price, in_stock, added, weight FROM items WHERE sku LIKE :q', parameters: [QueryParameter.string('q')] }]);
      expect(rowSchema(apis.get(app) as SecureDbApi, 'GetItemsRow')).toEqual({
        type: 'object',
        properties: {
          id: { type: 'integer' },
          sku: { type: 'string' },
          // DECIMAL arrives as exact text
          price: { type: 'string' },
          in_stock: { type: 'boolean' },
          added: { type: ['string', 'null'], format: 'date-time' },
          weight: { type: ['number', 'null'] },
        },
        required: ['id', 'sku', 'price', 'in_stock', 'added', 'weight'],
        additionalProperties: false,
      });
    });

    test('unknown columns and syntax errors are listed with the server\'s message', () => {
      process.env[ENV_VAR] = url();
      const app = mysqlApi([
        { route: 'GET /items', sql: 'SELECT id, skew FROM items' },
        { route: 'GET /other', sql: 'SELECT id FROM items WHERE' },
        { route: 'DELETE /items/{id}', access: AccessLevel.WRITE, sql: 'DELETE FROM items WHERE id = :id', parameters: [QueryParameter.integer('id')] },
      ]);
      expect(() => app.synth()).toThrow(/2 problems with the queries against the database in \$SECURE_DB_API_TEST_SCHEMA_URL:\n- query "getItems" \(GET \/items\): Unknown column 'skew' in '[^']+' \[ER_BAD_FIELD_ERROR\]\n- query "getOther" \(GET \/other\): You have an error in your SQL syntax; .* \[ER_PARSE_ERROR\]$/);
    });

    test('the planner check sees a read MariaDB would plan as a write', () => {
      process.env[ENV_VAR] = url();
      const [described] = describeQueries(QuerySchema.fromEnvironmentUrl(ENV_VAR), 'mariadb', [{
        name: 'sneaky', method: 'GET', path: '/sneaky', access: 'read', parameters: [], rowLimit: 10, timeoutMs: 1000, sql: 'DELETE FROM items WHERE id > 0',
      }]);
      expect(described.writes).toEqual(['DELETE on items']);
    });
  });

  test('an unset environment variable is one clear error', () => {
    const { app } = postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR) });
    expect(() => app.synth()).toThrow(/^SecureDbApi Test\/Api: the environment variable SECURE_DB_API_TEST_SCHEMA_URL \(QuerySchema\.fromEnvironmentUrl\) is not set/);
  });

  test('an unreachable database is one error naming the host, not the password', () => {
    process.env[ENV_VAR] = 'postgres://app:s3cret@127.0.0.1:1/shop';
    const { app } = postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR) });
    let message = '';
    try {
      app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^SecureDbApi Test\/Api: cannot connect to the schema database at 127\.0\.0\.1:1 \(from SECURE_DB_API_TEST_SCHEMA_URL\): .*ECONNREFUSED/);
    expect(message).not.toContain('s3cret');
  });

  test('a URL of another engine than the API\'s database is refused', () => {
    process.env[ENV_VAR] = `mysql://root@${MARIADB.host}:${MARIADB.port}/x`;
    const { app } = postgresApi({ schema: QuerySchema.fromEnvironmentUrl(ENV_VAR) });
    expect(() => app.synth()).toThrow(/points to a MySQL\/MariaDB database \(127\.0\.0\.1:\d+\), but the API's database is PostgreSQL/);
  });
});

test('without a schema nothing is described: queries on unknown tables synthesize as before', () => {
  const { app, api } = postgresApi({ queries: [{ route: 'GET /nowhere', sql: 'SELECT id FROM no_such_table' }] });
  expect(() => app.synth()).not.toThrow();
  expect(rowSchema(api, 'GetNowhereRow')).toEqual({ type: 'object', description: 'A row (columns not declared).', additionalProperties: true });
});
