import { ParameterConfig } from '../../src/shared/config';
import { coerceValue, DateTimeValue } from '../../src/shared/params';

const p = (x: Partial<ParameterConfig> & Pick<ParameterConfig, 'type'>): ParameterConfig => ({ name: 'v', in: 'query', ...x });

describe('coerceValue', () => {
  test.each<[Partial<ParameterConfig> & Pick<ParameterConfig, 'type'>, unknown, boolean, unknown]>([
    [{ type: 'integer' }, '42', true, 42],
    [{ type: 'integer' }, '-0', true, -0],
    [{ type: 'integer' }, 42, false, 42],
    [{ type: 'number' }, '1.5e3', true, 1500],
    [{ type: 'number' }, '0e-400', true, 0],
    [{ type: 'number' }, '-0.000', true, -0],
    [{ type: 'boolean' }, 'false', true, false],
    [{ type: 'boolean' }, true, false, true],
    [{ type: 'uuid' }, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', true, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    [{ type: 'enum', values: ['a', 'b'] }, 'b', true, 'b'],
    [{ type: 'string', maxLength: 2 }, '𝄞𝄞', true, '𝄞𝄞'],
  ])('%j accepts %j', (def, raw, fromText, expected) => {
    const r = coerceValue(p(def), raw, fromText);
    expect(r).toEqual({ ok: true, value: expected });
  });

  test('date-time keeps the instant', () => {
    const r = coerceValue(p({ type: 'date-time' }), '2024-01-31T23:00:00-01:30', true);
    expect(r.ok && (r.value as Date).toISOString()).toBe('2024-02-01T00:30:00.000Z');
  });

  test.each([
    ['2026-01-01T00:00:00.123456Z', '2026-01-01T00:00:00.123456Z', 123, 0.000456],
    ['2026-01-01T01:00:00.9999999+01:00', '2026-01-01T00:00:00.9999999Z', 999, 0.0009999],
    ['2026-01-01t00:00:00.123456789z', '2026-01-01T00:00:00.123456789Z', 123, 0.000456789],
    ['2026-01-01 00:00:00.5Z', '2026-01-01T00:00:00.500Z', 500, 0],
    ['0050-06-15T12:00:00Z', '0050-06-15T12:00:00.000Z', 0, 0],
  ])('date-time %s keeps every digit of its fraction, not only the milliseconds a Date holds', (raw, iso, ms, beyond) => {
    const r = coerceValue(p({ type: 'date-time' }), raw, true);
    if (!r.ok) throw new Error(r.reason);
    const d = r.value as DateTimeValue;
    expect(d).toBeInstanceOf(DateTimeValue);
    expect(d.toISOString()).toBe(iso);
    expect(JSON.stringify({ d })).toBe(JSON.stringify({ d: iso }));
    expect(d.getUTCMilliseconds()).toBe(ms);
    expect(d.nanosecondDelta).toBeCloseTo(beyond, 12);
  });

  test.each<[Partial<ParameterConfig> & Pick<ParameterConfig, 'type'>, unknown, boolean, RegExp]>([
    [{ type: 'integer' }, '4.2', true, /integer/],
    [{ type: 'integer' }, '1e3', true, /integer/],
    [{ type: 'integer' }, '42', false, /integer/], // body values must be JSON numbers
    [{ type: 'integer' }, '99999999999999999999', true, /between/],
    [{ type: 'integer', minimum: 1 }, '0', true, /must be >= 1/],
    [{ type: 'number' }, 1e400, false, /finite/],
    [{ type: 'number' }, 'NaN', true, /number/],
    [{ type: 'number' }, '1e-400', true, /too small to represent as a number \(it would be read as 0\)/],
    [{ type: 'number' }, `-0.${'0'.repeat(400)}7`, true, /too small to represent/],
    [{ type: 'number' }, 'Infinity', true, /number/],
    [{ type: 'number', maximum: 10 }, 10.5, false, /must be <= 10/],
    [{ type: 'boolean' }, '1', true, /true or false/],
    [{ type: 'uuid' }, 'not-a-uuid', true, /UUID/],
    [{ type: 'date-time' }, '2023-02-29T00:00:00Z', true, /RFC 3339/],
    [{ type: 'date-time' }, '2024-01-01', true, /RFC 3339/],
    [{ type: 'date-time' }, '2024-01-01T25:00:00Z', true, /RFC 3339/],
    [{ type: 'enum', values: ['a'] }, 'A', true, /one of a/],
    [{ type: 'string' }, 'a\u0000b', true, /NUL/],
    [{ type: 'string' }, 'a\uD800b', true, /valid Unicode/],
    [{ type: 'string' }, 5, false, /string/],
    [{ type: 'string', maxLength: 3 }, 'abcd', true, /at most 3/],
    [{ type: 'string', minLength: 2 }, 'a', true, /at least 2/],
    [{ type: 'string' }, 'x'.repeat(4097), true, /at most 4096/],
  ])('%j rejects %j', (def, raw, fromText, reason) => {
    const r = coerceValue(p(def), raw, fromText);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
    // The reason never echoes the value.
    if (typeof raw === 'string' && raw.length > 3) expect(!r.ok && r.reason).not.toContain(raw);
  });

  test('pattern must match the whole value', () => {
    const def = p({ type: 'string', pattern: '[a-z]+' });
    expect(coerceValue(def, 'abc', true, /^(?:[a-z]+)$/u).ok).toBe(true);
    expect(coerceValue(def, 'abc1', true, /^(?:[a-z]+)$/u).ok).toBe(false);
  });
});
