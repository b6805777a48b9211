/**
 * Result rows as JSON carries them: plain rows pass through without a copy (the common case, on every
 * call), anything else is copied with each value made safe and the driver's row left as it was.
 */
import { jsonSafeRow } from '../../../src/runtime/engines/engine';

describe('jsonSafeRow', () => {
  test('a row of strings, numbers, booleans and nulls is returned as it is', () => {
    const row = { id: 1, label: 'a', ok: true, none: null, ratio: 0.5 };
    expect(jsonSafeRow(row)).toBe(row);
  });

  test.each<[string, unknown, unknown]>([
    ['a timestamp', new Date('2024-02-29T21:59:58.123Z'), '2024-02-29T21:59:58.123Z'],
    ['an invalid date', new Date('nope'), null],
    ['bytes', Buffer.from([0, 255, 16]), 'AP8Q'],
    ['a bigint', 2n ** 63n - 1n, '9223372036854775807'],
    ['a JSON column', { nested: { at: new Date(0) } }, { nested: { at: '1970-01-01T00:00:00.000Z' } }],
    ['an array column', [1n, 'x'], ['1', 'x']],
    ['undefined', undefined, null],
  ])('a row with %s is copied and made safe, the original untouched', (_what, value, expected) => {
    const row = { id: 1, value };
    const safe = jsonSafeRow(row);
    expect(safe).not.toBe(row);
    expect(safe).toEqual({ id: 1, value: expected });
    expect(row.value).toBe(value);
    expect(() => JSON.stringify(safe)).not.toThrow();
  });
});
