/** The public SQL-injection payload lists in test/fixtures/sqli (one payload a line), plus a suite's own extras. */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';

const SQLI_DIR = path.join(__dirname, '..', '..', 'fixtures', 'sqli');

/** Every distinct payload of every list; `extra` is always included. */
export function sqliPayloads(extra: readonly string[]): string[] {
  const files = readdirSync(SQLI_DIR).filter((f) => f.endsWith('.txt')).sort();
  if (files.length === 0) throw new Error(`no payload lists in ${SQLI_DIR}`);
  const lines: string[] = [];
  for (const f of files) {
    lines.push(...readFileSync(path.join(SQLI_DIR, f), 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0));
  }
  return [...new Set([...lines, ...extra])];
}
