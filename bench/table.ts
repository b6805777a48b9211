/** Prints rows (the first is the header) as a Markdown table, the format README.md quotes. */
export function printTable(table: string[][], out: (line: string) => void = (l) => console.log(l)): void {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  out(line(table[0]));
  out(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of table.slice(1)) out(line(r));
  out('');
}
