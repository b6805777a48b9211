/**
 * A sealed configuration file: the queries as the construct checked and compiled them, written into the file
 * with the file's SHA-256 beside it, and taken back exactly as prepareConfig prepares them.
 */
import { createHash } from 'crypto';
import * as fc from 'fast-check';
import { ConfigError, EngineName, prepareConfig, QueryConfig, RuntimeConfig } from '../../src/shared/config';
import { CONFIG_SHA256_ENV, configSha256, isSealed, sealConfig, sealedQueries } from '../../src/shared/sealed-config';
import { param, query } from '../runtime/helpers/databases';

function config(queries: QueryConfig[], engine: EngineName = 'postgres'): RuntimeConfig {
  return {
    version: 1,
    engine,
    connection: { host: '${env:SECURE_DB_API_DB_HOST}', port: 5432, database: 'd', user: 'u', credentials: { type: 'iam', region: '${env:AWS_REGION}' }, tls: { enabled: true } },
    queries,
  };
}

const ORDERS = config([
  query({
    name: 'ordersOf',
    method: 'GET',
    path: '/customers/{id}/orders',
    sql: "SELECT id, note FROM orders WHERE customer = :id AND note <> ':id ?' -- :status ?\n AND status = :status",
    parameters: [
      param({ name: 'id', type: 'integer', in: 'path' }),
      param({ name: 'status', type: 'enum', in: 'query', values: ['open', 'closed'], default: 'open' }),
    ],
  }),
  query({
    name: 'rename',
    method: 'PUT',
    path: '/customers/{id}',
    access: 'write',
    sql: 'UPDATE customers SET name = :name WHERE id = :id',
    parameters: [param({ name: 'id', type: 'integer', in: 'path' }), param({ name: 'name', type: 'string', pattern: '[A-Z][a-z]+', maxLength: 40 })],
  }),
]);

/** A query of a generated shape: literal and variable path segments, parameters from the path, query and body. */
const generatedQuery = (i: number): fc.Arbitrary<QueryConfig> => fc.record({
  segments: fc.array(fc.oneof(fc.constantFrom('orders', 'v1', 'a.b', 'x~y'), fc.constant('{}')), { minLength: 0, maxLength: 4 }),
  extra: fc.array(fc.record({ type: fc.constantFrom('string', 'integer', 'uuid', 'boolean'), pattern: fc.option(fc.constantFrom('[a-z]+', '\\d{2,}', 'é|ü'), { nil: undefined }) }), { maxLength: 3 }),
  write: fc.boolean(),
  noise: fc.constantFrom('', " AND '?:x' = '?:x'", ' /* :y ? */', ' -- :z ?\n'),
}).map(({ segments, extra, write, noise }) => {
  let v = 0;
  const path = `/q${i}/${segments.map((s) => (s === '{}' ? `{p${v++}}` : s)).join('/')}`.replace(/\/$/, '');
  const parameters = [
    ...Array.from({ length: v }, (_, k) => param({ name: `p${k}`, type: 'integer', in: 'path' })),
    ...extra.map((e, k) => param({
      name: `e${k}`,
      type: e.pattern ? 'string' : e.type,
      in: write ? 'body' : 'query',
      ...(e.pattern ? { pattern: e.pattern } : {}),
    })),
  ];
  const uses = parameters.map((p) => `:${p.name}`).join(', ');
  const sql = write
    ? `UPDATE t${i} SET c = c${noise} WHERE (${uses || '1'}) IS NOT NULL`
    : `SELECT ${uses || '1'} AS c${noise} FROM t${i}`;
  return query({ name: `q${i}`, method: write ? 'POST' : 'GET', path, access: write ? 'write' : 'read', sql, parameters });
});

const generatedConfig: fc.Arbitrary<RuntimeConfig> = fc.record({
  engine: fc.constantFrom<EngineName>('postgres', 'mysql', 'mariadb', 'sqlserver'),
  queries: fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => generatedQuery(i)))),
}).map(({ engine, queries }) => config(queries, engine));

describe('sealConfig', () => {
  test('the sealed file gives back the queries exactly as prepareConfig prepares them, on every engine', () => {
    fc.assert(fc.property(generatedConfig, (c) => {
      const sealed = JSON.parse(sealConfig(c).text) as RuntimeConfig;
      expect(sealedQueries(sealed)).toEqual(prepareConfig(c));
    }), { numRuns: 300 });
  });

  test('literals, comments and patterns survive: placeholders, matchers and parameter patterns are the ones prepared', () => {
    for (const engine of ['postgres', 'mysql', 'sqlserver'] as const) {
      const c = { ...ORDERS, engine };
      const queries = sealedQueries(JSON.parse(sealConfig(c).text) as RuntimeConfig);
      expect(queries).toEqual(prepareConfig(c));
      expect(queries?.[0].pathPattern.exec('/customers/7/orders')?.[1]).toBe('7');
      expect(queries?.[1].patterns.get('name')?.test('Ada')).toBe(true);
      expect(queries?.[1].patterns.get('name')?.test('ada')).toBe(false);
    }
  });

  test('the digest is the SHA-256 of the file\'s text, and the file is the configuration with each query\'s compiled form', () => {
    const { text, sha256 } = sealConfig(ORDERS);
    expect(sha256).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    expect(configSha256(text)).toBe(sha256);
    const { compiled, ...rest } = JSON.parse(text) as RuntimeConfig;
    expect(rest).toEqual(ORDERS);
    expect(compiled?.map((q) => q.sql.text)).toEqual([
      "SELECT id, note FROM orders WHERE customer = $1 AND note <> ':id ?' -- :status ?\n AND status = $2",
      'UPDATE customers SET name = $1 WHERE id = $2',
    ]);
  });

  test('a configuration with a problem is not sealed: every problem is listed', () => {
    const broken = config([query({ name: 'a', method: 'GET', path: '/a', sql: 'SELECT :missing' }), query({ name: 'b', method: 'GET', path: '/b', sql: 'DELETE FROM t' })]);
    expect(() => sealConfig(broken)).toThrow(ConfigError);
    expect(() => sealConfig(broken)).toThrow(/SQL uses :missing but no parameter "missing" is defined[\s\S]*read query contains DELETE/);
  });
});

describe('isSealed', () => {
  const { text, sha256 } = sealConfig(ORDERS);

  test('the file the construct wrote, with its digest in the environment, is sealed', () => {
    expect(isSealed(text, { [CONFIG_SHA256_ENV]: sha256 })).toBe(true);
  });

  test('without the digest, or with an empty one, a file is not sealed', () => {
    expect(isSealed(text, {})).toBe(false);
    expect(isSealed(text, { [CONFIG_SHA256_ENV]: '' })).toBe(false);
  });

  test('a file changed in any one character after synthesis is not sealed', () => {
    fc.assert(fc.property(fc.nat({ max: text.length - 1 }), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }), (at, c) => {
      fc.pre(text[at] !== c);
      const edited = `${text.slice(0, at)}${c}${text.slice(at + 1)}`;
      expect(isSealed(edited, { [CONFIG_SHA256_ENV]: sha256 })).toBe(false);
    }), { numRuns: 200 });
  });
});

describe('sealedQueries', () => {
  const sealed = JSON.parse(sealConfig(ORDERS).text) as RuntimeConfig;

  test('a file without a compiled form for each query has none to give: it is checked in full', () => {
    expect(sealedQueries(ORDERS)).toBeUndefined();
    expect(sealedQueries({ ...sealed, compiled: sealed.compiled?.slice(1) })).toBeUndefined();
    expect(sealedQueries({ ...sealed, queries: [...sealed.queries, sealed.queries[0]] })).toBeUndefined();
  });
});
