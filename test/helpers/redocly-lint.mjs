// Lints OpenAPI documents with Redocly's recommended ruleset, plus rules it leaves off that the generated
// documents keep: every operation described and tagged with a declared tag, 4xx answers as problem details.
// (@redocly/openapi-core is ES modules only, which Jest's CommonJS runtime cannot load, so the tests run
// this in a child process.)
// stdin: [{ "name": string, "document": object }]; stdout: [{ "name", "problems": [{ ruleId, severity, message, pointer }] }]
import { createConfig, lintFromString } from '@redocly/openapi-core';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const config = await createConfig({
  extends: ['recommended'],
  rules: { 'operation-description': 'error', 'operation-tag-defined': 'error', 'operation-4xx-problem-details-rfc7807': 'error' },
});
const results = [];
for (const { name, document } of JSON.parse(input)) {
  const problems = await lintFromString({ source: JSON.stringify(document, undefined, 2), absoluteRef: `${name}.json`, config });
  results.push({
    name,
    problems: problems.map((p) => ({ ruleId: p.ruleId, severity: p.severity, message: p.message, pointer: p.location[0]?.pointer })),
  });
}
process.stdout.write(JSON.stringify(results));
