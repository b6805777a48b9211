/**
 * SQL Server without a server (none runs on this machine): the T-SQL dialect of the named-parameter
 * lexer, how values are typed for tedious, the requests tedious receives, the row limit, the error
 * mapping with tedious' own error classes, the TLS settings, and a real tedious client against
 * endpoints that are not SQL Server.
 */
import * as fc from 'fast-check';
import { ConnectionError, RequestError } from 'tedious';
import { freePort } from './helpers/throwaway-postgres';
import { buildRequest, classifySqlServerError, connectionConfig, parameterType, RowCollector, sqlServerEngine } from '../../src/runtime/engines/sqlserver';
import { prepareConfig, RuntimeConfig } from '../../src/shared/config';
import { compileNamedSql, SqlCompileError } from '../../src/shared/named-parameters';

describe('T-SQL named parameters', () => {
  test('parameters become numbered @p placeholders; repeats reuse theirs', () => {
    expect(compileNamedSql('SELECT * FROM orders WHERE id = :id OR parent_id = :id AND status = :status;', 'sqlserver')).toEqual({
      text: 'SELECT * FROM orders WHERE id = @p1 OR parent_id = @p1 AND status = @p2',
      valueOrder: ['id', 'status'],
      names: ['id', 'status'],
      placeholders: [],
    });
  });

  test('colons inside brackets, N-strings, quoted identifiers, line and nested block comments are not parameters', () => {
    const sql = `SELECT [a:b], "c:d", N'it''s :x', '[:y]' -- :z
      /* outer :u /* nested :v */ still comment :w */ FROM [Order ]]Details:] WHERE id = :id`;
    const compiled = compileNamedSql(sql, 'sqlserver');
    expect(compiled.names).toEqual(['id']);
    expect(compiled.text.endsWith('WHERE id = @p1')).toBe(true);
    expect(compiled.text).toContain("N'it''s :x'");
  });

  test('static method calls (::) and local variables are left alone; reserved @p placeholders are refused', () => {
    expect(compileNamedSql('SELECT geography::Point(:lat, :lon, 4326) AS p, @@ROWCOUNT AS n', 'sqlserver').names).toEqual(['lat', 'lon']);
    expect(() => compileNamedSql('SELECT * FROM t WHERE id = @p1', 'sqlserver')).toThrow(/@p1 are reserved/);
    expect(() => compileNamedSql('SELECT * FROM t WHERE id = @P2', 'sqlserver')).toThrow(SqlCompileError);
    expect(compileNamedSql('DECLARE @pivot INT = :n SELECT @pivot', 'sqlserver').names).toEqual(['n']);
  });

  test('unterminated brackets, strings and comments are reported', () => {
    expect(() => compileNamedSql('SELECT [oops FROM t', 'sqlserver')).toThrow(/Unterminated bracketed identifier/);
    expect(() => compileNamedSql("SELECT 'oops", 'sqlserver')).toThrow(/Unterminated string literal/);
    expect(() => compileNamedSql('SELECT 1 /* a /* b */', 'sqlserver')).toThrow(/Unterminated block comment/);
  });

  test('property: any text in a string literal or a bracketed identifier never becomes a parameter', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (s, ident) => {
      const sql = `SELECT N'${s.replace(/'/g, "''")}' AS v, [${ident.replace(/]/g, ']]')}] FROM t WHERE id = :id`;
      const compiled = compileNamedSql(sql, 'sqlserver');
      return compiled.names.length === 1 && compiled.names[0] === 'id' && compiled.text.endsWith('= @p1');
    }), { numRuns: 300 });
  });

  test('a configuration for SQL Server compiles its queries with @p placeholders and allows non-SELECT reads', () => {
    const config: RuntimeConfig = {
      version: 1,
      engine: 'sqlserver',
      connection: { host: 'proxy', port: 1433, database: 'app', user: 'api_reader', credentials: { type: 'iam', region: 'eu-west-1' }, tls: { enabled: true } },
      queries: [{ name: 'top', method: 'GET', path: '/top', access: 'read', sql: 'EXEC dbo.top_orders :n', parameters: [{ name: 'n', type: 'integer', in: 'query' }], rowLimit: 10, timeoutMs: 1000 }],
    };
    expect(prepareConfig(config)[0].compiled.text).toBe('EXEC dbo.top_orders @p1');
  });
});

describe('values and requests', () => {
  test.each([
    [null, 'NVarChar'],
    ['text', 'NVarChar'],
    [42, 'BigInt'],
    [Number.MAX_SAFE_INTEGER, 'BigInt'],
    [1.5, 'Float'],
    [true, 'Bit'],
    [new Date('2026-01-02T03:04:05Z'), 'DateTimeOffset'],
  ])('%p is sent as %s', (value, type) => {
    expect(parameterType(value as never).name).toBe(type);
  });

  test('the request carries the compiled text, one typed parameter per value and the statement timeout', () => {
    const request = buildRequest({ text: 'SELECT * FROM t WHERE a = @p1 AND b = @p2 AND c = @p3', values: ["x'; DROP TABLE t; --", 7, null], access: 'read', rowLimit: 5, timeoutMs: 2500 }, () => undefined);
    expect(request.sqlTextOrProcedure).toBe('SELECT * FROM t WHERE a = @p1 AND b = @p2 AND c = @p3');
    expect(request.parameters.map((p) => [p.name, p.type.name, p.value])).toEqual([
      ['p1', 'NVarChar', "x'; DROP TABLE t; --"],
      ['p2', 'BigInt', 7],
      ['p3', 'NVarChar', null],
    ]);
    expect(request.timeout).toBe(2500);
  });

  test('rows beyond the limit are not kept and mark the result truncated; values become JSON-safe', () => {
    const rows = new RowCollector(2);
    const col = (value: unknown) => ({ value });
    expect(rows.add({ id: col(1), at: col(new Date('2026-01-02T03:04:05Z')), raw: col(Buffer.from('hi')), big: col(BigInt('9007199254740993')) })).toBe(true);
    expect(rows.add({ id: col(2), at: col(null), raw: col(null), big: col(null) })).toBe(true);
    expect(rows.add({ id: col(3), at: col(null), raw: col(null), big: col(null) })).toBe(false);
    expect(rows.truncated).toBe(true);
    expect(rows.rows).toEqual([
      { id: 1, at: '2026-01-02T03:04:05.000Z', raw: 'aGk=', big: '9007199254740993' },
      { id: 2, at: null, raw: null, big: null },
    ]);
  });
});

describe('error mapping', () => {
  const requestError = (number: number) => Object.assign(new RequestError('driver text with data', 'EREQUEST'), { number });
  test.each([
    [requestError(2627), 'conflict'],
    [requestError(2601), 'conflict'],
    [requestError(547), 'conflict'],
    [requestError(1205), 'conflict'],
    [requestError(8152), 'data'],
    [requestError(2628), 'data'],
    [requestError(245), 'data'],
    [requestError(515), 'data'],
    [requestError(8134), 'data'],
    [requestError(18456), 'auth'],
    [requestError(229), 'internal'],
    [requestError(102), 'internal'],
    [new RequestError('Timeout: Request failed to complete in 5000ms', 'ETIMEOUT'), 'timeout'],
    [new ConnectionError('Login failed', 'ELOGIN'), 'auth'],
    [new ConnectionError('Connection lost', 'ESOCKET'), 'connection'],
    [new ConnectionError('closed', 'ECLOSE'), 'connection'],
    // A ConnectionError with any other code (tedious sets no name; the class is what counts).
    [new ConnectionError('Failed to connect: routing', 'EROUTING'), 'connection'],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'connection'],
    [new Error('anything else'), 'internal'],
    [undefined, 'internal'],
  ])('%p is %s', (error, cls) => {
    expect(classifySqlServerError(error)).toBe(cls);
  });
});

describe('connection settings', () => {
  const base = { host: 'prx.proxy-abc.eu-west-1.rds.amazonaws.com', port: 1433, database: 'app', credentials: { user: 'api_reader', password: 'token' }, iamAuth: true, connectTimeoutMs: 5000 };

  test('TLS is on and verified, with the IAM token as the password', () => {
    const config = connectionConfig({ ...base, tls: { servername: 'prx.proxy-abc.eu-west-1.rds.amazonaws.com' } });
    expect(config.options).toMatchObject({ encrypt: true, trustServerCertificate: false, serverName: 'prx.proxy-abc.eu-west-1.rds.amazonaws.com', port: 1433, database: 'app' });
    expect(config.authentication).toEqual({ type: 'default', options: { userName: 'api_reader', password: 'token' } });
  });

  test('only local development turns TLS off, and never trusts any certificate', () => {
    expect(connectionConfig({ ...base, tls: undefined }).options).toMatchObject({ encrypt: false, trustServerCertificate: false });
  });

  test('a real tedious client: nothing listening is a connection error', async () => {
    const port = await freePort();
    const error = await sqlServerEngine.connect({ ...base, host: '127.0.0.1', port, tls: undefined, connectTimeoutMs: 2000 }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(sqlServerEngine.classify(error)).toBe('connection');
  });

  test('a real tedious client: a server that is not SQL Server (the local PostgreSQL) is a connection error, not a hang', async () => {
    const error = await sqlServerEngine.connect({ ...base, host: '127.0.0.1', port: 5432, tls: undefined, connectTimeoutMs: 2000 }).catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(sqlServerEngine.classify(error)).toBe('connection');
  });
});
