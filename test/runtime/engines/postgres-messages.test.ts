/**
 * The per-call Parse and Bind messages written by hand are byte for byte those of pg-protocol's serializer,
 * for any statement text and any bound values (text in any script, unpaired surrogates, binary, NULL).
 */
import * as fc from 'fast-check';
import { serialize } from 'pg-protocol';
import { batchMessages, WireValue } from '../../../src/runtime/engines/postgres-messages';

const HEAD = Buffer.concat([serialize.parse({ name: '', text: "SELECT set_config('statement_timeout', '5000', true)", types: [] }), serialize.bind({ values: [] }), serialize.execute({ portal: '', rows: 0 })]);
const TAIL = Buffer.concat([serialize.describe({ type: 'P', name: '' }), serialize.execute({ portal: '', rows: 0 }), serialize.sync()]);

/** What node-postgres' own serializer writes for the same messages. */
function viaPgProtocol(head: Buffer, text: string, values: WireValue[], tail: Buffer): Buffer {
  return Buffer.concat([head, serialize.parse({ name: '', text, types: [] }), serialize.bind({ values }), tail]);
}

const textArb = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }));
const valueArb: fc.Arbitrary<WireValue> = fc.oneof(
  textArb,
  fc.constant(null),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.constantFrom('', '\uD800', 'a\uDFFFb', '\u{1F600}', "'; DROP TABLE t; --"),
);

test('Parse and Bind are the bytes pg-protocol writes, for any text and any values', () => {
  fc.assert(fc.property(textArb, fc.array(valueArb, { maxLength: 12 }), (text, values) => {
    expect(batchMessages(HEAD, text, values, TAIL).equals(viaPgProtocol(HEAD, text, values, TAIL))).toBe(true);
  }), { numRuns: 500 });
});

test('a statement without values, and a long text, are written as pg-protocol writes them', () => {
  const long = `SELECT * FROM t WHERE note = '${'é'.repeat(70_000)}'`;
  expect(batchMessages(HEAD, long, [], TAIL).equals(viaPgProtocol(HEAD, long, [], TAIL))).toBe(true);
  expect(batchMessages(Buffer.alloc(0), 'SELECT 1', [], Buffer.alloc(0)).equals(viaPgProtocol(Buffer.alloc(0), 'SELECT 1', [], Buffer.alloc(0)))).toBe(true);
});
