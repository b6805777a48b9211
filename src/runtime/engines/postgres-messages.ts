/**
 * The per-call part of a PostgreSQL batch, written straight into one buffer: Parse of the unnamed statement
 * (no parameter types) and Bind of it to the unnamed portal (text results), between a head and a tail
 * serialized once (pg-protocol's messages). The bytes are those pg-protocol's serializer writes for the same
 * messages (test/runtime/engines/postgres-messages.test.ts compares them); one allocation and one copy per
 * part instead of a buffer per message joined afterwards, on the path between a call's arrival and its write.
 */

/** A bound value as the Bind message carries it: text, binary (a Buffer, format code 1) or NULL. */
export type WireValue = string | Buffer | null;

const PARSE = 0x50; // 'P'
const BIND = 0x42; // 'B'

/** head, Parse(`text`), Bind(`values`), tail, in one buffer. */
export function batchMessages(head: Buffer, text: string, values: readonly WireValue[], tail: Buffer): Buffer {
  const textBytes = Buffer.byteLength(text, 'utf8');
  // Parse: length, statement name "", text, its terminator, 0 parameter types.
  const parseLength = 4 + 1 + textBytes + 1 + 2;
  // Bind: length, portal "", statement "", the format codes (one per value), the values, one result format.
  const n = values.length;
  const valueBytes: number[] = new Array(n);
  let bindLength = 4 + 1 + 1 + 2 + 2 * n + 2 + 2 + 2;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const bytes = v === null ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
    valueBytes[i] = bytes;
    bindLength += 4 + (bytes < 0 ? 0 : bytes);
  }
  const out = Buffer.allocUnsafe(head.length + 1 + parseLength + 1 + bindLength + tail.length);
  let o = head.copy(out, 0);

  out[o++] = PARSE;
  o = out.writeInt32BE(parseLength, o);
  out[o++] = 0;
  o += out.write(text, o, textBytes, 'utf8');
  out[o++] = 0;
  o = out.writeInt16BE(0, o);

  out[o++] = BIND;
  o = out.writeInt32BE(bindLength, o);
  out[o++] = 0;
  out[o++] = 0;
  o = out.writeInt16BE(n, o);
  for (let i = 0; i < n; i++) o = out.writeInt16BE(Buffer.isBuffer(values[i]) ? 1 : 0, o);
  o = out.writeInt16BE(n, o);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    o = out.writeInt32BE(valueBytes[i], o);
    if (v === null) continue;
    o += typeof v === 'string' ? out.write(v, o, valueBytes[i], 'utf8') : v.copy(out, o);
  }
  o = out.writeInt16BE(1, o);
  o = out.writeInt16BE(0, o);

  tail.copy(out, o);
  return out;
}
