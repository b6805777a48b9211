import * as fc from 'fast-check';
import { compileNamedSql, SqlCompileError, SqlDialect, tokenizeSql } from '../../src/shared/named-parameters';

describe('compileNamedSql', () => {
  test('PostgreSQL: numbered placeholders, repeated names reuse their number', () => {
    const c = compileNamedSql('SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a', 'postgres');
    expect(c.text).toBe('SELECT * FROM t WHERE a = $1 AND b = $2 OR a2 = $1');
    expect(c.valueOrder).toEqual(['a', 'b']);
  });

  test('MySQL: one ? per occurrence, in order', () => {
    const c = compileNamedSql('SELECT * FROM t WHERE a = :a AND b = :b OR a2 = :a', 'mysql');
    expect(c.text).toBe('SELECT * FROM t WHERE a = ? AND b = ? OR a2 = ?');
    expect(c.placeholders.map((at) => c.text[at])).toEqual(['?', '?', '?']);
    expect(c.placeholders).toEqual([26, 36, 46]);
    expect(c.valueOrder).toEqual(['a', 'b', 'a']);
    expect(c.names).toEqual(['a', 'b']);
  });

  test.each<[string, SqlDialect, string]>([
    ["SELECT ':a'", 'postgres', "SELECT ':a'"],
    ["SELECT 'it''s :a'", 'postgres', "SELECT 'it''s :a'"],
    ["SELECT E'\\' :a'", 'postgres', "SELECT E'\\' :a'"],
    ['SELECT ":a" FROM t', 'postgres', 'SELECT ":a" FROM t'],
    ['SELECT 1 -- :a\n', 'postgres', 'SELECT 1 -- :a\n'],
    ['SELECT /* :a /* nested :b */ :c */ 1', 'postgres', 'SELECT /* :a /* nested :b */ :c */ 1'],
    ['SELECT x::int, y::text[]', 'postgres', 'SELECT x::int, y::text[]'],
    ['SELECT $$ :a $$, $tag$ :b $ $tag$', 'postgres', 'SELECT $$ :a $$, $tag$ :b $ $tag$'],
    ['SELECT arr[1:n], a$b:c FROM t', 'postgres', 'SELECT arr[1:n], a$b:c FROM t'],
    ["SELECT '\\' :a'", 'mysql', "SELECT '\\' :a'"],
    ['SELECT ":a", `:b` FROM t', 'mysql', 'SELECT ":a", `:b` FROM t'],
    ['SELECT 1 # :a\n', 'mysql', 'SELECT 1 # :a\n'],
    ['SELECT 1 -- :a', 'mysql', 'SELECT 1 -- :a'],
    ['SELECT @v := 1', 'mysql', 'SELECT @v := 1'],
  ])('%j (%s) has no parameters', (sql, dialect, expected) => {
    const c = compileNamedSql(sql, dialect);
    expect(c.text).toBe(expected);
    expect(c.names).toEqual([]);
  });

  test('a cast right after a parameter stays a cast', () => {
    expect(compileNamedSql('SELECT :id::uuid', 'postgres').text).toBe('SELECT $1::uuid');
  });

  test('dotted names bind claims', () => {
    expect(compileNamedSql('SELECT * FROM t WHERE tenant = :claims.tenant_id', 'postgres').names).toEqual(['claims.tenant_id']);
  });

  test('a claim name may hold colons, as Cognito\'s custom attributes do; a cast after it stays a cast', () => {
    const pg = compileNamedSql('SELECT * FROM t WHERE tenant = :claims.custom:tenant_id AND u = :claims.cognito:username::text', 'postgres');
    expect(pg.names).toEqual(['claims.custom:tenant_id', 'claims.cognito:username']);
    expect(pg.text).toBe('SELECT * FROM t WHERE tenant = $1 AND u = $2::text');
    // Only in a claim's name: elsewhere a colon after a parameter is not part of it.
    expect(() => compileNamedSql('SELECT :a:b', 'mysql')).not.toThrow();
    expect(compileNamedSql('SELECT :a:b', 'mysql').names).toEqual(['a']);
  });

  test('MySQL -- without a following space is not a comment', () => {
    expect(compileNamedSql('SELECT 1--:a', 'mysql').names).toEqual(['a']);
  });

  test.each<[string, SqlDialect, RegExp]>([
    ["SELECT 'open", 'postgres', /Unterminated string literal/],
    ['SELECT "open', 'postgres', /Unterminated quoted identifier/],
    ['SELECT /* open', 'postgres', /Unterminated block comment/],
    ['SELECT /* a /* b */', 'postgres', /Unterminated block comment/],
    ['SELECT $x$ open', 'postgres', /Unterminated dollar-quoted string/],
    ['SELECT $1', 'postgres', /Positional parameters/],
    ['SELECT ?', 'mysql', /Positional parameters/],
    ['SELECT `open', 'mysql', /Unterminated quoted identifier/],
  ])('%j (%s) is refused', (sql, dialect, message) => {
    expect(() => compileNamedSql(sql, dialect)).toThrow(SqlCompileError);
    expect(() => compileNamedSql(sql, dialect)).toThrow(message);
  });
});

/** Pieces that must never yield a parameter, and a generator for real parameters. */
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/);
const textWithColons = fc.array(fc.constantFrom('a', ' ', ':', 'x', ':p', '1', '.', '$', '-', '/', '*', '\n'), { maxLength: 12 }).map((a) => a.join(''));

function opaquePiece(dialect: SqlDialect) {
  const common = [
    textWithColons.map((s) => `'${s.replace(/'/g, "''").replace(/\\/g, '')}'`),
    textWithColons.map((s) => `/*${s.replace(/[*/]/g, '')}*/`),
    textWithColons.map((s) => `-- ${s.replace(/\n/g, '')}\n`),
  ];
  const pg = [
    textWithColons.map((s) => `"${s.replace(/"/g, '""')}"`),
    textWithColons.map((s) => `$q$${s.replace(/\$q\$/g, '').replace(/\$q$/, '').replace(/\$$/, '')}$q$`),
    name.map((n) => `x::${n}`),
  ];
  const my = [
    textWithColons.map((s) => `\`${s.replace(/`/g, '``')}\``),
    textWithColons.map((s) => `# ${s.replace(/\n/g, '')}\n`),
    textWithColons.map((s) => `"${s.replace(/"/g, '""').replace(/\\/g, '')}"`),
  ];
  return fc.oneof(...common, ...(dialect === 'postgres' ? pg : my));
}

describe.each<SqlDialect>(['postgres', 'mysql'])('lexer properties (%s)', (dialect) => {
  const piece = fc.oneof(
    { weight: 3, arbitrary: opaquePiece(dialect).map((text) => ({ text, param: undefined as string | undefined })) },
    { weight: 2, arbitrary: name.map((n) => ({ text: `:${n}`, param: n as string | undefined })) },
    { weight: 1, arbitrary: fc.constantFrom(' ', ' = ', ', ', ' AND ', '(', ')').map((text) => ({ text, param: undefined as string | undefined })) },
  );
  // Separate pieces so a parameter never runs into the next word.
  const statement = fc.array(piece, { minLength: 1, maxLength: 12 });

  test('parameters come only from parameter tokens, in order, and everything else is kept byte for byte', () => {
    fc.assert(
      fc.property(statement, (pieces) => {
        const sql = 'SELECT ' + pieces.map((p) => p.text).join(' ');
        const expected = pieces.filter((p) => p.param !== undefined).map((p) => p.param!);
        const compiled = compileNamedSql(sql, dialect);
        // Oracle built from the pieces: each parameter piece becomes a placeholder, nothing else changes.
        const seen: string[] = [];
        const expectedText = 'SELECT ' + pieces.map((p) => {
          if (p.param === undefined) return p.text;
          if (dialect === 'mysql') return '?';
          if (!seen.includes(p.param)) seen.push(p.param);
          return `$${seen.indexOf(p.param) + 1}`;
        }).join(' ');
        expect(compiled.text).toBe(expectedText);
        expect(compiled.valueOrder).toEqual(dialect === 'mysql' ? expected : [...new Set(expected)]);
      }),
      { numRuns: 500 },
    );
  });

  test('opaque pieces survive unchanged and never contain parameters', () => {
    fc.assert(
      fc.property(opaquePiece(dialect), (text) => {
        const tokens = tokenizeSql(`SELECT ${text}`, dialect);
        expect(tokens.some((t) => t.kind === 'parameter')).toBe(false);
        expect(tokens.map((t) => t.text).join('')).toBe(`SELECT ${text}`);
      }),
      { numRuns: 500 },
    );
  });
});


describe('tokenizeSql', () => {
  /** Every character a branch of the lexer reads, in any dialect, among ordinary ones. */
  const anyText = fc.string({ unit: fc.constantFrom("'", '"', '[', ']', '@', 'p', '1', '`', '-', '#', '/', '*', '$', '?', ':', '.', 'E', 'a', '_', ' ', '\n', '\\', 'é') });

  test.each<SqlDialect>(['postgres', 'mysql', 'sqlserver'])('the tokens of any text are that text, in order, each starting where the last ended (%s)', (dialect) => {
    fc.assert(fc.property(anyText, (sql) => {
      let tokens;
      try {
        tokens = tokenizeSql(sql, dialect);
      } catch (e) {
        expect(e).toBeInstanceOf(SqlCompileError);
        return;
      }
      let at = 0;
      for (const t of tokens) {
        expect(t.start).toBe(at);
        expect(t.text.length).toBeGreaterThan(0);
        at += t.text.length;
      }
      expect(tokens.map((t) => t.text).join('')).toBe(sql);
    }), { numRuns: 2000 });
  });
});
