/**
 * Stands in for `is-property` in the Lambda bundles that carry mysql2 (see scripts/bundle-runtime.js). Only
 * generate-function's `sym()` and `property()` helpers call it, and mysql2's parser generators use neither;
 * the package's 10 KB Unicode identifier expression is left out. Called anyway, it fails loudly.
 */
export = function isProperty(name: string): never {
  throw new Error(`is-property is not bundled (asked about "${name}"): see scripts/bundle-runtime.js`);
};
