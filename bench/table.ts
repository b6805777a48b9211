/** Prints rows (the first is the header) as a Markdown table, the format README.md quotes. */
export function printTable(table: string[][]): void {
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(table[0]));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of table.slice(1)) console.log(line(r));
  console.log('');
}
