/**
 * The request body's JSON: a name given twice in one object is refused, at any depth, compared as JSON.parse
 * decodes names; nothing else is (property tests over generated JSON).
 */
import * as fc from 'fast-check';
import { decodeJsonBody, header, repeatedJsonName, underflowingJsonNumber } from '../../src/runtime/request';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype);

/** A JSON value, names drawn from ordinary strings and Object.prototype's own names. */
const nameArb = fc.oneof(fc.string(), fc.constantFrom(...PROTOTYPE_NAMES));
const valueArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1.5e300, 'x', '"{[,]}:\\'),
    fc.string(),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nameArb, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const event = (body: string) => ({
  httpMethod: 'POST',
  path: '/things',
  resource: '/things',
  pathParameters: null,
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  body,
  isBase64Encoded: false,
  headers: { 'Content-Type': 'application/json' },
});

describe('header', () => {
  /** Names of any case and length: the wanted one in any case, Unicode whose lower case is longer, prototype names. */
  const headerName = fc.oneof(
    fc.string(),
    fc.constantFrom(...PROTOTYPE_NAMES, 'Content-Type', 'content-type', 'CONTENT-TYPE', 'Content-type ', 'İContent-Type', 'Content-Typeİ', 'Content_Type'),
    fc.string({ unit: fc.constantFrom('c', 'C', 'o', 'O', 'n', 'N', 't', 'T', 'e', 'E', '-', 'y', 'Y', 'p', 'P', 'İ', 'K') }),
  );
  const headersArb = fc.dictionary(headerName, fc.string(), { maxKeys: 12 });

  test('answers the first header whose name is the wanted one in any case, among any others', () => {
    fc.assert(fc.property(headersArb, (headers) => {
      const first = Object.keys(headers).find((k) => k.toLowerCase() === 'content-type');
      expect(header({ ...event('{}'), headers }, 'content-type')).toBe(first === undefined ? undefined : headers[first]);
    }));
  });

  test('finds a name written in capitals before its twin; a name one character longer or shorter never matches', () => {
    const headers = { 'Accept': '*/*', 'Authorization': 'AWS4-HMAC-SHA256 x', 'CONTENT-TYPE': 'application/json', 'Content-Type': 'text/plain', 'Host': 'h' };
    expect(header({ ...event('{}'), headers }, 'content-type')).toBe('application/json');
    expect(header({ ...event('{}'), headers: { 'Content-Typ': 'x', 'Content-Types': 'y' } }, 'content-type')).toBeUndefined();
  });
});

describe('repeatedJsonName', () => {
  test('finds nothing in JSON that JSON.stringify wrote, compact or indented', () => {
    fc.assert(fc.property(valueArb, (value) => {
      expect(repeatedJsonName(JSON.stringify(value))).toBeUndefined();
      expect(repeatedJsonName(JSON.stringify(value, null, 2))).toBeUndefined();
    }));
  });

  test('finds a name given twice in one object, however deep the object is', () => {
    const objectArb = fc.dictionary(nameArb, valueArb, { minKeys: 1, maxKeys: 5 });
    fc.assert(fc.property(objectArb, fc.nat(), fc.nat({ max: 3 }), (object, pick, depth) => {
      const names = Object.keys(object);
      const name = names[pick % names.length];
      // The same name once more, before the object's own members.
      let text = `{${JSON.stringify(name)}:${JSON.stringify(object[name])},${JSON.stringify(object).slice(1)}`;
      for (let i = 0; i < depth; i++) text = i % 2 === 0 ? `[1,${text}]` : `{"outer":${text}}`;
      expect(repeatedJsonName(text)).toBe(name);
    }));
  });

  test('compares names as JSON.parse decodes them', () => {
    expect(repeatedJsonName('{"a":1,"\\u0061":2}')).toBe('a');
    expect(repeatedJsonName('{"\\"":1,"\\u0022":2}')).toBe('"');
    expect(repeatedJsonName('{"\\ud83d\\ude00":1,"😀":2}')).toBe('😀');
    expect(repeatedJsonName('{"a\\\\":1,"a":2}')).toBeUndefined();
  });

  test('keeps the objects apart: the same name in sibling or nested objects is no repetition', () => {
    expect(repeatedJsonName('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBeUndefined();
    expect(repeatedJsonName('{"a":{"b":1},"b":[1,{"c":{}}],"a":2}')).toBe('a');
    expect(repeatedJsonName('[{"k":1},{"k":1,"k":2}]')).toBe('k');
  });

  test.each(PROTOTYPE_NAMES)('finds %s given twice', (name) => {
    expect(repeatedJsonName(`{"${name}":1,"${name}":2}`)).toBe(name);
  });
});

describe('decodeJsonBody', () => {
  test('refuses a body that names a field twice with a 400 naming the field, not the value', () => {
    let thrown: unknown;
    try {
      decodeJsonBody(event('{"amount":5,"amount":-100}'), 1024);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({
      kind: 'validation',
      message: 'The request body names a field twice in one object',
      extras: { errors: [{ name: 'amount', in: 'body', reason: 'appears twice in one JSON object' }] },
    });
  });

  test('reads every other body as JSON.parse does', () => {
    fc.assert(fc.property(valueArb, (value) => {
      expect(decodeJsonBody(event(JSON.stringify(value)), 1024 * 1024)).toEqual(JSON.parse(JSON.stringify(value)));
    }));
  });
});

describe('underflowingJsonNumber', () => {
  test('finds a number JSON.parse would read as 0 although it is not, outside strings', () => {
    expect(underflowingJsonNumber('{"n":1e-400}')).toBe('1e-400');
    expect(underflowingJsonNumber('[1, -2.5E-999, 3]')).toBe('-2.5E-999');
    expect(underflowingJsonNumber(`{"n":0.${'0'.repeat(400)}1}`)).toBe(`0.${'0'.repeat(400)}1`);
    expect(underflowingJsonNumber('{"s":"1e-400","z":0,"m":-0,"e":0e-5,"x":0.0}')).toBeUndefined();
  });

  test('finds nothing in any JSON that JSON.stringify wrote (every double it writes reads back as itself)', () => {
    fc.assert(fc.property(valueArb, fc.double({ noNaN: true, noDefaultInfinity: true }), (value, n) => {
      expect(underflowingJsonNumber(JSON.stringify([value, n, { n }]))).toBeUndefined();
    }));
  });

  test('a body with such a number is a 400, not a 0 written to the database', () => {
    expect(() => decodeJsonBody(event('{"amount":1e-400}'), 1024)).toThrow(expect.objectContaining({
      kind: 'validation',
      extras: { errors: [{ name: 'body', in: 'body', reason: 'has a number that is too small to represent as a number (it would be read as 0): 1e-400' }] },
    }));
  });

  test('the shortest such number without an exponent is refused, and the longest nonzero one kept', () => {
    // 1e-324 reads as 0 (the smallest double is about 4.9e-324); 1e-323 does not.
    const tiny = `0.${'0'.repeat(323)}1`;
    const smallest = `0.${'0'.repeat(322)}1`;
    expect(Number(tiny)).toBe(0);
    expect(() => decodeJsonBody(event(tiny), 4096)).toThrow(expect.objectContaining({ kind: 'validation' }));
    expect(() => decodeJsonBody(event(`-${tiny}`), 4096)).toThrow(expect.objectContaining({ kind: 'validation' }));
    expect(decodeJsonBody(event(smallest), 4096)).toBeGreaterThan(0);
    expect(() => decodeJsonBody(event('{"a":"e","n":5E-999}'), 4096)).toThrow(expect.objectContaining({ kind: 'validation' }));
  });

  test('every body with such a number is refused, whatever else it holds (property)', () => {
    fc.assert(fc.property(valueArb, fc.constantFrom('1e-400', '-2.5E-999', `0.${'0'.repeat(323)}2`, '0.1e-330'), (value, tiny) => {
      expect(() => decodeJsonBody(event(JSON.stringify([value, '\u0000tiny']).replace('"\\u0000tiny"', tiny)), 1_048_576)).toThrow(expect.objectContaining({ kind: 'validation' }));
    }));
  });
});
