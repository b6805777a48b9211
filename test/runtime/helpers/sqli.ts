/** The public SQL-injection payload lists in ../shared/sqli (one payload a line), plus a suite's own extras. */
import { readFileSync } from 'fs';
import * as path from 'path';

const SQLI_DIR = path.join(__dirname, '..', '..', '..', '..', 'shared', 'sqli');
const FILES = ['auth_bypass.txt', 'generic_fuzz.txt', 'mysql.txt', 'polyglots.txt', 'postgres_enumeration.txt'];

/** Every distinct payload; `extra` is always included, whether or not shared/ is present. */
export function sqliPayloads(extra: readonly string[]): string[] {
  const lines: string[] = [];
  for (const f of FILES) {
    try {
      lines.push(...readFileSync(path.join(SQLI_DIR, f), 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0));
    } catch {
      // shared/ is optional on a developer machine; CI always has it.
    }
  }
  return [...new Set([...lines, ...extra])];
}
