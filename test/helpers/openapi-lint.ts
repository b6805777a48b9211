/**
 * Lints OpenAPI documents with Redocly's recommended ruleset (@redocly/openapi-core). The linter is
 * ES modules only, which Jest's CommonJS runtime cannot load, so it runs in one child process per call.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

/** One finding of the linter. */
export interface LintProblem {
  readonly ruleId: string;
  readonly severity: 'error' | 'warn';
  readonly message: string;
  /** Where in the document, as a JSON pointer (`#/paths/...`). */
  readonly pointer?: string;
}

const SCRIPT = path.join(__dirname, 'redocly-lint.mjs');

/** The problems of each document, by the name it was given. */
export function lintOpenApi(documents: Record<string, unknown>): Record<string, LintProblem[]> {
  const input = Object.entries(documents).map(([name, document]) => ({ name, document }));
  const output = execFileSync(process.execPath, [SCRIPT], { input: JSON.stringify(input), maxBuffer: 64 * 1024 * 1024 });
  const results = JSON.parse(output.toString('utf8')) as Array<{ name: string; problems: LintProblem[] }>;
  return Object.fromEntries(results.map((r) => [r.name, r.problems]));
}
