import { ConfigError, prepareConfig, RuntimeConfig } from '../../src/shared/config';
import { param, query } from '../runtime/helpers/databases';

function config(queries: RuntimeConfig['queries'], engine: RuntimeConfig['engine'] = 'postgres'): RuntimeConfig {
  return {
    version: 1,
    engine,
    connection: { host: 'h', port: 5432, database: 'd', user: 'u', credentials: { type: 'static', password: '' }, tls: { enabled: true } },
    queries,
  };
}

describe('prepareConfig', () => {
  test('a valid query compiles', () => {
    const [q] = prepareConfig(config([query({ name: 'get', method: 'GET', path: '/orders/{id}', sql: 'SELECT * FROM orders WHERE id = :id', parameters: [param({ name: 'id', type: 'integer', in: 'path' })] })]));
    expect(q.compiled.text).toBe('SELECT * FROM orders WHERE id = $1');
    expect(q.pathPattern.test('/orders/42')).toBe(true);
    expect(q.pathPattern.test('/orders/42/x')).toBe(false);
  });

  test.each<[string, RuntimeConfig['queries'], RegExp]>([
    ['duplicate routes', [
      query({ name: 'a', method: 'GET', path: '/x/{id}', sql: 'SELECT :id', parameters: [param({ name: 'id', type: 'integer', in: 'path' })] }),
      query({ name: 'b', method: 'GET', path: '/x/{key}', sql: 'SELECT :key', parameters: [param({ name: 'key', type: 'integer', in: 'path' })] }),
    ], /route GET \/x\/\{key\} is already used by query "a"/],
    ['SQL parameter with no definition', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :missing' })], /SQL uses :missing but no parameter "missing" is defined/],
    ['definition never used', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT 1', parameters: [param({ name: 'x', type: 'integer', in: 'query' })] })], /parameter "x" is defined but the SQL never uses :x/],
    ['write statement on a read query', [query({ name: 'a', method: 'GET', path: '/a', sql: 'DELETE FROM t' })], /read query contains DELETE/],
    ['write keyword hidden in a CTE', [query({ name: 'a', method: 'GET', path: '/a', sql: 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d' })], /read query contains DELETE/],
    ['two statements', [query({ name: 'a', method: 'POST', path: '/a', access: 'write', sql: 'UPDATE t SET a = 1; DROP TABLE t' })], /single statement/],
    ['path parameter without definition', [query({ name: 'a', method: 'GET', path: '/a/{id}', sql: 'SELECT 1' })], /path parameter \{id\} has no definition/],
    ['path parameter defined elsewhere', [query({ name: 'a', method: 'GET', path: '/a/{id}', sql: 'SELECT :id', parameters: [param({ name: 'id', type: 'integer', in: 'query' })] })], /is in the path but defined with in="query"/],
    ['body on GET', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :x', parameters: [param({ name: 'x', type: 'integer' })] })], /GET requests have no body/],
    // Caches, link prefetchers and retrying clients repeat a GET: one that writes would write again.
    ['a write query at GET', [query({ name: 'a', method: 'GET', path: '/a', access: 'write', sql: 'UPDATE t SET hits = hits + 1' })], /query "a": a write query cannot be served at GET, which must not change data .*; use POST, PUT, PATCH or DELETE/],
    ['bad default', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :x', parameters: [param({ name: 'x', type: 'integer', in: 'query', default: 'nope' })] })], /default of parameter "x" must be an integer/],
    ['enum without values', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :x', parameters: [param({ name: 'x', type: 'enum', in: 'query' })] })], /enum parameters need a non-empty list/],
    ['invalid pattern', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :x', parameters: [param({ name: 'x', type: 'string', in: 'query', pattern: '(' })] })], /pattern is not a valid regular expression/],
    ['row limit out of range', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT 1', rowLimit: 0 })], /rowLimit must be a whole number from 1 to 10000/],
    ['timeout beyond API Gateway', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT 1', timeoutMs: 60_000 })], /timeoutMs must be a whole number from 1 to 29000/],
    ['malformed path', [query({ name: 'a', method: 'GET', path: 'a/{id', sql: 'SELECT 1' })], /must start with "\/"/],
    ['a PostgreSQL read that cannot be a subquery', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SHOW search_path' })], /must be a SELECT, WITH, VALUES or TABLE statement/],
    ['positional placeholder', [query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT $1' })], /Positional parameters/],
    // It would change the row, then answer 404 "no row matches": the caller retries a write that happened.
    ['a single DELETE that returns no row', [query({ name: 'a', method: 'DELETE', path: '/a', access: 'write', sql: 'DELETE FROM t WHERE id = 1', single: true })], /query "a": single: true, but the statement returns no rows \(add RETURNING, or leave single out: it answers its affected rows\)/],
    ['a single UPDATE in parentheses, RETURNING only in a comment', [query({ name: 'a', method: 'PUT', path: '/a', access: 'write', sql: '(UPDATE t SET a = 1) -- RETURNING *', single: true })], /single: true, but the statement returns no rows/],
    ['a single INSERT at the end of a CTE', [query({ name: 'a', method: 'POST', path: '/a', access: 'write', sql: "WITH v AS (SELECT 'returning' AS x) INSERT INTO t SELECT x FROM v", single: true })], /single: true, but the statement returns no rows/],
  ])('%s is refused with a clear message', (_what, queries, message) => {
    expect(() => prepareConfig(config(queries))).toThrow(ConfigError);
    expect(() => prepareConfig(config(queries))).toThrow(message);
  });

  test('all problems are reported at once', () => {
    try {
      prepareConfig(config([query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :m', rowLimit: 0, timeoutMs: 0 })]));
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect((e as ConfigError).problems).toHaveLength(3);
    }
  });

  test('MySQL dialect refuses ? placeholders', () => {
    expect(() => prepareConfig(config([query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT ?' })], 'mariadb'))).toThrow(/Positional parameters \(\?\)/);
  });

  test.each([
    ['DELETE ... RETURNING', 'DELETE FROM t WHERE id = 1 RETURNING id'],
    ['a CTE whose DELETE returns into a SELECT', 'WITH d AS (DELETE FROM t WHERE id = 1 RETURNING id) SELECT id FROM d'],
    ['a function that writes', 'SELECT close_order(1) AS closed'],
  ])('a single write that returns its row is accepted: %s', (_what, sql) => {
    expect(() => prepareConfig(config([query({ name: 'a', method: 'POST', path: '/a', access: 'write', sql, single: true })]))).not.toThrow();
  });

  test('a function named like a keyword is not a write', () => {
    expect(() => prepareConfig(config([query({ name: 'a', method: 'GET', path: '/a', sql: "SELECT set_config('x', 'y', true), created_at, 'DELETE' FROM t" })]))).not.toThrow();
  });
});

describe('the idempotency section', () => {
  const q = [query({ name: 'get', method: 'GET', path: '/a', sql: 'SELECT 1' })];

  test.each<[string, unknown, RegExp]>([
    ['an empty table name', { tableName: '', expiresAfterSeconds: 60 }, /idempotency.tableName must be a table name/],
    ['a lifetime of zero', { tableName: 't', expiresAfterSeconds: 0 }, /idempotency.expiresAfterSeconds must be a positive whole number/],
    ['a fractional lifetime', { tableName: 't', expiresAfterSeconds: 1.5 }, /idempotency.expiresAfterSeconds must be a positive whole number/],
  ])('%s is refused', (_label, idempotency, error) => {
    expect(() => prepareConfig({ ...config(q), idempotency } as RuntimeConfig)).toThrow(error);
  });

  test('a table and a lifetime are accepted', () => {
    expect(prepareConfig({ ...config(q), idempotency: { tableName: 'keys', expiresAfterSeconds: 86_400 } })).toHaveLength(1);
  });
});
