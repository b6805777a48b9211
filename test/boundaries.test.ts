import * as fs from 'fs';
import * as path from 'path';

/**
 * The folder boundaries, checked by reading every import in src/: the construct never reaches into the
 * runtime (what both sides need lives in src/shared/), and the code that runs in Lambda and the
 * container never pulls in aws-cdk-lib or constructs (it would end up in the bundles).
 */
const SRC = path.join(__dirname, '..', 'src');
const RUNTIME = path.join(SRC, 'runtime');
const SHARED = path.join(SRC, 'shared');

/** Module specifiers of `import … from`, `export … from`, `import '…'`, `import('…')` and `require('…')`. */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:\b(?:import|export)\b[^'"`;]*?\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;
  for (const match of source.matchAll(pattern)) specifiers.push(match[2]);
  return specifiers;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

const inside = (file: string, dir: string): boolean => !path.relative(dir, file).startsWith('..');
const isCdk = (specifier: string): boolean => /^(aws-cdk-lib|constructs)(\/|$)/.test(specifier);

/** `file: specifier` for every import of a file in `files` that `forbidden` rejects. */
function violations(files: readonly string[], forbidden: (file: string, specifier: string) => boolean): string[] {
  return files.flatMap((file) => importsOf(fs.readFileSync(file, 'utf8'))
    .filter((specifier) => forbidden(file, specifier))
    .map((specifier) => `${path.relative(SRC, file)}: ${specifier}`));
}

const reachesIntoRuntime = (file: string, specifier: string): boolean =>
  specifier.startsWith('.') && inside(path.resolve(path.dirname(file), specifier), RUNTIME);

describe('folder boundaries', () => {
  const all = sourceFiles(SRC);

  test('the import scan finds static, dynamic, re-exported and side-effect imports', () => {
    const source = [
      "import { Stack } from 'aws-cdk-lib';",
      "import type { Construct } from 'constructs';",
      "export { a } from './runtime/a';",
      "import './runtime/side-effect';",
      "const b = require('./runtime/b');",
      "const c = import('aws-cdk-lib/aws-iam');",
    ].join('\n');
    expect(importsOf(source)).toEqual(['aws-cdk-lib', 'constructs', './runtime/a', './runtime/side-effect', './runtime/b', 'aws-cdk-lib/aws-iam']);
    expect(reachesIntoRuntime(path.join(SRC, 'api', 'x.ts'), '../runtime/handler')).toBe(true);
    expect(reachesIntoRuntime(path.join(SRC, 'api', 'x.ts'), '../shared/config')).toBe(false);
    expect(isCdk('aws-cdk-lib/aws-lambda')).toBe(true);
    expect(isCdk('aws-cdk-lib-extra')).toBe(false);
  });

  test('nothing outside src/runtime imports from src/runtime', () => {
    const outside = all.filter((file) => !inside(file, RUNTIME));
    expect(outside.length).toBeGreaterThan(20);
    expect(violations(outside, reachesIntoRuntime)).toEqual([]);
  });

  test('neither src/runtime nor src/shared imports aws-cdk-lib or constructs', () => {
    const bundled = all.filter((file) => inside(file, RUNTIME) || inside(file, SHARED));
    expect(bundled.length).toBeGreaterThan(20);
    expect(violations(bundled, (_file, specifier) => isCdk(specifier))).toEqual([]);
  });
});
