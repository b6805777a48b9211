import { bindMysqlValues, mysqlLiteral } from '../../../src/runtime/engines/mysql-literal';
import { compileNamedSql } from '../../../src/shared/named-parameters';
import { coerceValue } from '../../../src/shared/params';

describe('MySQL literals that no sql_mode changes', () => {
  test('a quote is doubled, never backslash-escaped', () => {
    expect(mysqlLiteral("it's")).toBe("'it''s'");
    expect(mysqlLiteral("' OR 1=1 #")).toBe("''' OR 1=1 #'");
  });

  test('a backslash is never written as an escape inside a value', () => {
    expect(mysqlLiteral('a\\b')).toBe("CONCAT('a', SUBSTRING('\\\\', 1, 1), 'b')");
    expect(mysqlLiteral("\\'")).toBe("CONCAT('', SUBSTRING('\\\\', 1, 1), '''')");
  });

  test('numbers, booleans, NULL and dates are plain tokens', () => {
    expect(mysqlLiteral(42)).toBe('42');
    expect(mysqlLiteral(-1)).toBe(' -1');
    expect(mysqlLiteral(1e21)).toBe('1e+21');
    expect(mysqlLiteral(true)).toBe('TRUE');
    expect(mysqlLiteral(false)).toBe('FALSE');
    expect(mysqlLiteral(null)).toBe('NULL');
    expect(mysqlLiteral(new Date(Date.UTC(2024, 1, 29, 23, 5, 9, 7)))).toBe("'2024-02-29 23:05:09.007'");
    // A date-time parameter keeps every digit of its fraction.
    const r = coerceValue({ name: 'at', in: 'query', type: 'date-time' }, '2024-02-29T23:05:09.1234567+01:00', true);
    expect(r.ok && mysqlLiteral(r.value)).toBe("'2024-02-29 22:05:09.1234567'");
  });

  test('values that cannot be literals are refused', () => {
    expect(() => mysqlLiteral(Number.NaN)).toThrow(/not finite/);
    expect(() => mysqlLiteral(new Date(Number.NaN))).toThrow(/invalid date/);
  });

  test('only the compiler\'s placeholders are replaced, not a ? in the SQL\'s own literals or comments', () => {
    const c = compileNamedSql("SELECT '?' AS q, `a?` AS b, :x AS x /* ? */ -- ?\n, :y AS y", 'mysql');
    expect(bindMysqlValues(c.text, c.placeholders, ['1', 2])).toBe("SELECT '?' AS q, `a?` AS b, '1' AS x /* ? */ -- ?\n, 2 AS y");
  });

  test('placeholders and values must agree', () => {
    const c = compileNamedSql('SELECT :x AS x', 'mysql');
    expect(() => bindMysqlValues(c.text, c.placeholders, [])).toThrow(/1 placeholders but 0 values/);
    expect(() => bindMysqlValues('SELECT 1', [3], ['a'])).toThrow(/no placeholder at offset 3/);
  });
});
