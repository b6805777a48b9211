/**
 * Stands in for `semver` in the query functions' bundles (see scripts/bundle-runtime.js). The X-Ray SDK (under
 * Powertools Tracer) requires it in one place only: the AWS SDK v2 patcher (`captureAWS`), to check the
 * patched SDK's version; the functions never patch an SDK v2 client, so its 27 KB are left out. Called
 * anyway, it fails loudly.
 */
export function gte(version: string, minimum: string): never {
  throw new Error(`semver is not bundled (asked whether ${version} >= ${minimum}): see scripts/bundle-runtime.js`);
}
