'use strict';
/**
 * mysql2's table of MySQL error names (lib/constants/errors.js, 145 KB minified) lists every error twice:
 * name -> code, then code -> name. This writes the same module with the names once and the reverse built
 * when it loads, and proves the result equal to the original, key for key, before anything uses it: the
 * build fails rather than ship a table that differs.
 */
const fs = require('fs');
const path = require('path');
const vm = require('vm');

// The package's exports map does not name the file, so it is found beside the package.json.
const ORIGINAL = path.join(path.dirname(require.resolve('mysql2/package.json')), 'lib', 'constants', 'errors.js');

function evaluate(source) {
  const module = { exports: {} };
  vm.runInNewContext(source, { module, exports: module.exports });
  return module.exports;
}

function compactErrorsModule() {
  const original = evaluate(fs.readFileSync(ORIGINAL, 'utf8'));
  const byName = {};
  const byCode = {};
  for (const [key, value] of Object.entries(original)) (/^\d+$/.test(key) ? byCode : byName)[key] = value;
  const derived = {};
  for (const [name, code] of Object.entries(byName)) derived[code] = name;
  // Codes whose name in the original is not the last name given that code.
  const exceptions = Object.fromEntries(Object.entries(byCode).filter(([code, name]) => derived[code] !== name));
  const extra = Object.keys(derived).filter((code) => !(code in byCode));
  const source = [
    "'use strict';",
    '// Generated from mysql2/lib/constants/errors.js by scripts/mysql2-errors.js: the same keys and values.',
    `const names = ${JSON.stringify(byName)};`,
    'for (const name in names) exports[name] = names[name];',
    'for (const name in names) exports[names[name]] = name;',
    `Object.assign(exports, ${JSON.stringify(exceptions)});`,
    ...extra.map((code) => `delete exports[${JSON.stringify(code)}];`),
  ].join('\n');

  const compact = evaluate(source);
  const a = Object.keys(original).sort();
  const b = Object.keys(compact).sort();
  if (a.length !== b.length || a.some((k, i) => k !== b[i] || original[k] !== compact[k])) {
    throw new Error('the compact mysql2 error table differs from the original; not bundling it');
  }
  return source;
}

module.exports = { compactErrorsModule, evaluate, ORIGINAL };
