/**
 * Every ```ts block of the README type-checks against the library, and the quick start also synthesizes.
 *
 * A block compiles on its own, as a module, unless an HTML comment right before it (GitHub does not show
 * it) gives it context:
 *
 *     <!-- readme-ts name=quick-start -->            names the block, so later blocks can build on it
 *     <!-- readme-ts after=quick-start                the named block's code comes first,
 *     import * as iam from 'aws-cdk-lib/aws-iam';     then these hidden lines (imports, `declare const`s),
 *     -->                                             then the block itself
 *
 * `from 'cdk-secure-db-api'` resolves to this repository's src/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly name?: string;
  readonly after?: string;
  /** Hidden lines from the directive comment. */
  readonly hidden: string;
  readonly code: string;
}

/** The README's ```ts blocks with their `<!-- readme-ts ... -->` directives. */
export function tsBlocks(markdown: string): ReadmeBlock[] {
  const blocks: ReadmeBlock[] = [];
  // A directive and a fence start a line (so prose that quotes a directive is not one).
  const fence = /^(?:<!--\s*readme-ts\b([^\n]*?)(?:\n([\s\S]*?))?-->\s*\n)?```ts\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const attrs = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)=([\w-]+)/g)].map((a) => [a[1], a[2]]));
    const start = m.index + m[0].indexOf('```ts');
    blocks.push({ line: markdown.slice(0, start).split('\n').length, name: attrs.name, after: attrs.after, hidden: m[2] ?? '', code: m[3] });
  }
  return blocks;
}

/** The TypeScript a block compiles as: its context (the blocks it follows, hidden lines) and itself. */
function source(block: ReadmeBlock, all: ReadmeBlock[]): string {
  let context = '';
  if (block.after) {
    const before = all.find((b) => b.name === block.after);
    if (!before) throw new Error(`README line ${block.line}: no block named ${block.after}`);
    context = source(before, all);
  }
  const library = JSON.stringify(path.join(ROOT, 'src'));
  return `${context}${block.hidden}\n${block.code}`.replace(/from 'cdk-secure-db-api'/g, `from ${library}`);
}

const blocks = tsBlocks(README);
const dir = mkdtempSync(path.join(ROOT, 'test', '.readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Type-checks every block in one program (one load of aws-cdk-lib's types), each as a module of its own. */
function diagnosticsPerBlock(): Map<ReadmeBlock, string[]> {
  const files = blocks.map((b, i) => {
    const file = path.join(dir, `block-${i + 1}-line-${b.line}.ts`);
    writeFileSync(file, `${source(b, blocks)}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true,
  });
  return new Map(blocks.map((b, i) => [b, ts.getPreEmitDiagnostics(program, program.getSourceFile(files[i]))
    .map((d) => `${d.file ? path.basename(d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)]));
}

describe('README', () => {
  test('has TypeScript blocks, the quick start among them', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(blocks.map((b) => b.name)).toContain('quick-start');
  });

  test('every ```ts block type-checks against the library', () => {
    const found = diagnosticsPerBlock();
    const problems = [...found].filter(([, d]) => d.length > 0).map(([b, d]) => `README line ${b.line}:\n  ${d.join('\n  ')}`);
    expect(problems).toEqual([]);
  });

  test('a block that does not compile is reported (the check can fail)', () => {
    const broken = tsBlocks('<!-- readme-ts after=missing -->\n```ts\nconst x: number = "no";\n```\n');
    expect(broken).toEqual([expect.objectContaining({ line: 2, after: 'missing', code: 'const x: number = "no";\n' })]);
    expect(() => source(broken[0], broken)).toThrow(/no block named missing/);
  });

  test('the quick start synthesizes the API it describes', () => {
    const quickStart = blocks.find((b) => b.name === 'quick-start')!;
    const file = path.join(dir, 'quick-start.ts');
    writeFileSync(file, `${source(quickStart, blocks)}\nexport const assembly = app.synth();\n`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { assembly } = require(file);
    const template = assembly.getStackByName('Orders').template;
    const types = Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types).toEqual(expect.arrayContaining(['AWS::RDS::DBProxy', 'AWS::ApiGateway::RestApi', 'AWS::Lambda::Function']));
    expect(types.filter((t) => t === 'AWS::ApiGateway::Method')).toHaveLength(2);
  });
});
