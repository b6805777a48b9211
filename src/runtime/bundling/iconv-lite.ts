/**
 * Stands in for `iconv-lite` in the Lambda bundles that carry mysql2 (an esbuild alias, see scripts/bundle-runtime.js).
 *
 * mysql2 asks iconv-lite only for character sets that Node's Buffer cannot decode itself. The functions
 * connect with `utf8mb4`, so the server converts every text result to UTF-8 (a latin1 or cp1251 column
 * included) and mysql2 never asks; iconv-lite's code tables (about 480 KB of a 500 KB budget) are left
 * out. Should a decoder be asked for anyway, the platform's WHATWG TextDecoder (Node ships full ICU)
 * serves the encodings it knows, and any other fails with a clear error instead of returning wrong text.
 */
import { TextDecoder } from 'util';

export interface StreamDecoder {
  write(buffer: Uint8Array): string;
  end(): string | undefined;
}

/** mysql2's names (lib/constants/charset_encodings.js) that TextDecoder spells differently. */
const LABELS: Record<string, string> = {
  // MySQL's utf8mb3 holds no supplementary characters, and CESU-8 equals UTF-8 on all others.
  cesu8: 'utf-8',
  // MySQL's utf16 and ucs2 are big-endian.
  utf16: 'utf-16be',
  ucs2: 'utf-16be',
  koi8r: 'koi8-r',
  koi8u: 'koi8-u',
  euckr: 'euc-kr',
  eucjp: 'euc-jp',
  eucjpms: 'euc-jp',
  cp932: 'shift_jis',
  macroman: 'macintosh',
  latin7: 'iso-8859-13',
  // windows-874 is TIS-620 plus characters in 0x80-0x9F, which TIS-620 leaves unassigned.
  tis620: 'windows-874',
};

export function getDecoder(encoding: string): StreamDecoder {
  const label = LABELS[encoding.toLowerCase()] ?? encoding;
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    throw new Error(`cannot decode text in character set "${encoding}": connect with utf8mb4 so the server sends UTF-8`);
  }
  return {
    write: (buffer) => decoder.decode(buffer, { stream: true }),
    end: () => decoder.decode() || undefined,
  };
}

export function getEncoder(encoding: string): never {
  throw new Error(`cannot encode text as "${encoding}": this function sends UTF-8 only (connection charset utf8mb4)`);
}

export function decode(buffer: Uint8Array, encoding: string): string {
  const d = getDecoder(encoding);
  return d.write(buffer) + (d.end() ?? '');
}

export function encode(_text: string, encoding: string): never {
  return getEncoder(encoding);
}

export function encodingExists(encoding: string): boolean {
  try {
    getDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}
