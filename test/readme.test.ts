/** The README's usage block compiles against the library and synthesizes. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');

function usageBlock(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /## Usage\s+```ts\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README has no ```ts block under "## Usage"');
  return block[1];
}

const afterCleanup: (() => void)[] = [];
afterAll(() => afterCleanup.forEach((f) => f()));

test('the usage example type-checks and synthesizes', () => {
  // Inside the repository, so the library's node_modules resolve.
  const dir = mkdtempSync(path.join(ROOT, 'test', '.readme-'));
  afterCleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'usage.ts');
  const code = usageBlock().replace(/from 'cdk-secure-db-api'/g, `from ${JSON.stringify(path.join(ROOT, 'src'))}`);
  writeFileSync(file, `${code}\nexport const assembly = app.synth();\n`);
  const program = ts.createProgram([file], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  expect(diagnostics).toEqual([]);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { assembly } = require(file);
  const template = assembly.getStackByName('Orders').template;
  const types = Object.values(template.Resources).map((r: any) => r.Type);
  expect(types).toEqual(expect.arrayContaining(['AWS::RDS::DBProxy', 'AWS::ApiGateway::RestApi', 'AWS::Lambda::Function']));
  expect(types.filter((t) => t === 'AWS::ApiGateway::Method')).toHaveLength(2);
});
