/**
 * Benchmark: synthesis time for 20 vs 200 routes (target ratio <= 3), for an API given its queries in props
 * and one built with addQuery, against aws-cdk-lib's own RestApi with the same routes (the floor every
 * Method and Resource costs); and the time to require each engine's bundle against a minimal bundle
 * that holds only pg (the floor any PostgreSQL Lambda pays). Ratios against baselines measured in the same process; printed, never asserted.
 *
 * Run: npm run bench (needs the bundles: npx projen bundle).
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseTarget, QueryDefinition, QueryParameter, SecureDbApi } from '../src';
import { printTable } from './table';

type Build = (stack: Stack, vpc: ec2.IVpc, cluster: rds.DatabaseCluster, routes: number) => void;

const queryOf = (i: number): QueryDefinition => ({
  // One resource per route: 200 routes with two path levels each would pass CloudFormation's
  // 500-resource limit for one stack (see README).
  route: `GET /table${i}`,
  sql: `SELECT * FROM table${i} WHERE id = :id AND status = :status`,
  parameters: [QueryParameter.integer('id'), QueryParameter.enumeration('status', ['a', 'b'], { defaultValue: 'a' })],
});

const BUILDS: Record<string, Build> = {
  'SecureDbApi, queries in props': (stack, vpc, cluster, routes) => {
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }), queries: Array.from({ length: routes }, (_, i) => queryOf(i)) });
  },
  'SecureDbApi, addQuery per route': (stack, vpc, cluster, routes) => {
    const api = new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }) });
    for (let i = 0; i < routes; i++) {
      const { route, ...options } = queryOf(i);
      api.addQuery(route, options);
    }
  },
  // The floor: aws-cdk-lib's own RestApi with the same routes (one Resource and one Method each, IAM
  // authorization, a validator, the same query-string parameters) and one function, nothing else.
  'baseline: plain aws-cdk-lib RestApi': (stack, _vpc, _cluster, routes) => {
    const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = 1') });
    const api = new apigw.RestApi(stack, 'Plain', { deployOptions: { stageName: 'v1' } });
    const validator = api.addRequestValidator('Validator', { validateRequestParameters: true, validateRequestBody: true });
    const integration = new apigw.LambdaIntegration(fn, { scopePermissionToMethod: false });
    for (let i = 0; i < routes; i++) {
      api.root.resourceForPath(`/table${i}`).addMethod('GET', integration, {
        authorizationType: apigw.AuthorizationType.IAM,
        requestValidator: validator,
        operationName: `getTable${i}`,
        requestParameters: { 'method.request.querystring.id': true, 'method.request.querystring.status': false },
      });
    }
  },
};

function synthOnce(build: Build, routes: number): number {
  const started = process.hrtime.bigint();
  const app = new App({ outdir: mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-')) });
  const stack = new Stack(app, 'Bench', { env: { account: '111111111111', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new rds.DatabaseCluster(stack, 'Db', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('w'),
  });
  build(stack, vpc, cluster, routes);
  app.synth();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Median wall time of `node -e require(file)` in fresh processes. */
function requireTime(file: string, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['-e', `const t=process.hrtime.bigint();require(${JSON.stringify(file)});console.log(Number(process.hrtime.bigint()-t)/1e6)`]);
    times.push(Number(String(out).trim()));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

function main() {
  const ROUNDS = 5;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows: string[][] = [['build', '20 routes ms', '200 routes ms', 'ratio 200/20 (target <= 3)', 'ms per added route']];
  const perRoute: Record<string, number> = {};
  for (const build of Object.values(BUILDS)) synthOnce(build, 5); // warm the module cache
  for (const [name, build] of Object.entries(BUILDS)) {
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      small.push(synthOnce(build, 20));
      large.push(synthOnce(build, 200));
    }
    const [s20, s200] = [median(small), median(large)];
    perRoute[name] = (s200 - s20) / 180;
    rows.push([name, s20.toFixed(0), s200.toFixed(0), (s200 / s20).toFixed(2), perRoute[name].toFixed(2)]);
  }
  printTable(rows);
  const base = perRoute['baseline: plain aws-cdk-lib RestApi'];
  console.log(`Cost of an added route, SecureDbApi / plain aws-cdk-lib: ${(perRoute['SecureDbApi, queries in props'] / base).toFixed(2)} (props), `
    + `${(perRoute['SecureDbApi, addQuery per route'] / base).toFixed(2)} (addQuery)\n`);

  // Baseline: pg alone, bundled and minified by the same esbuild.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-pg-'));
  writeFileSync(path.join(dir, 'entry.js'), "module.exports = require('pg');\n");
  const baseline = path.join(dir, 'pg-only.js');
  execFileSync(path.join(__dirname, '..', 'node_modules', '.bin', 'esbuild'), [
    path.join(dir, 'entry.js'), '--bundle', '--minify', '--platform=node', '--target=node20', `--outfile=${baseline}`,
    '--external:pg-native', '--external:cloudflare:sockets', '--resolve-extensions=.js', `--alias:pg=${path.dirname(require.resolve('pg/package.json'))}`,
  ], { stdio: 'ignore' });
  const pgAlone = requireTime(baseline, 9);
  const times: string[][] = [['bundle', 'require ms (median of 9)', 'ratio to pg alone']];
  times.push(['pg alone', pgAlone.toFixed(1), '1.00']);
  for (const bundle of ['postgres.lambda', 'mysql.lambda']) {
    const t = requireTime(path.join(__dirname, '..', 'assets', 'runtime', bundle, 'index.js'), 9);
    times.push([bundle, t.toFixed(1), (t / pgAlone).toFixed(2)]);
  }
  printTable(times);
}

main();
