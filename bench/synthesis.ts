/**
 * Benchmark: what one route costs at synthesis, a SecureDbApi query (given in props, or added with
 * addQuery) against aws-cdk-lib's own RestApi with the same routes (one Resource and one Method each,
 * IAM authorization, a validator, the same query-string parameters), in the same run. Each build is made
 * with 20, 65, 110, 155 and 200 routes, every build and size once a round, in an order shuffled every
 * round, after a garbage collection (so no app pays for the garbage of the one before it). The cost of a
 * route is the slope of the least-squares line through the five sizes' medians: two sizes alone made it
 * swing with the noise of either. Target: a SecureDbApi route costs at most 1.0x aws-cdk-lib's own.
 *
 * Run: npm run bench (needs the bundles: npx projen bundle). BENCH_SYNTH_ROUNDS (default 7).
 */
import { rmSync } from 'fs';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { Stack } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseTarget, QueryDefinition, QueryParameter, SecureDbApi } from '../src';
import { loadLine, median, met, seededRandom, SEED, shuffle } from './support';
import { benchStack } from './synth-stack';
import { printTable } from './table';

type Build = (stack: Stack, vpc: ec2.IVpc, cluster: rds.DatabaseCluster, routes: number) => void;

const queryOf = (i: number): QueryDefinition => ({
  // One resource per route: 200 routes with two path levels each would pass CloudFormation's
  // 500-resource limit for one stack (see README).
  route: `GET /table${i}`,
  sql: `SELECT * FROM table${i} WHERE id = :id AND status = :status`,
  parameters: [QueryParameter.integer('id'), QueryParameter.enumeration('status', ['a', 'b'], { defaultValue: 'a' })],
});

const BASELINE = 'aws-cdk-lib RestApi, Resource + Method';

const BUILDS: Record<string, Build> = {
  'SecureDbApi, queries in props': (stack, vpc, cluster, routes) => {
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }), queries: Array.from({ length: routes }, (_, i) => queryOf(i)) });
  },
  // What a route costs without its dashboard row: the rest of the excess over aws-cdk-lib's route.
  'SecureDbApi, queries in props, monitoring off': (stack, vpc, cluster, routes) => {
    new SecureDbApi(stack, 'Api', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }),
      queries: Array.from({ length: routes }, (_, i) => queryOf(i)),
      monitoring: { alarms: false, dashboard: false },
    });
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
  [BASELINE]: (stack, _vpc, _cluster, routes) => {
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

/** The route counts each build is made with. */
const SIZES = [20, 65, 110, 155, 200];

/** A full garbage collection, whether or not node was started with --expose-gc. */
const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function synthOnce(build: Build, routes: number): number {
  collectGarbage();
  const started = process.hrtime.bigint();
  const { app, stack, vpc, cluster } = benchStack('sdba-bench-');
  build(stack, vpc, cluster, routes);
  app.synth();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  rmSync(app.outdir, { recursive: true, force: true });
  return ms;
}

/** The slope of the least-squares line through the points. */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxy / sxx;
}

function main() {
  const rounds = Number(process.env.BENCH_SYNTH_ROUNDS ?? 7);
  const random = seededRandom(SEED + 2);
  console.log(`Synthesis: ${rounds} rounds of ${SIZES.join(', ')} routes per build, shuffled order, a garbage collection before each, seed ${SEED}`);
  const names = Object.keys(BUILDS);
  for (const build of Object.values(BUILDS)) synthOnce(build, 5); // warm the module cache
  const times: Record<string, Record<number, number[]>> = Object.fromEntries(names.map((n) => [n, Object.fromEntries(SIZES.map((r) => [r, []]))]));
  for (let i = 0; i < rounds; i++) {
    for (const [name, routes] of shuffle(names.flatMap((n) => SIZES.map((r) => [n, r] as [string, number])), random)) {
      times[name][routes].push(synthOnce(BUILDS[name], routes));
    }
  }
  const perRoute = (n: string) => slope(SIZES.map((r) => [r, median(times[n][r])] as const));
  const base = perRoute(BASELINE);
  const first = SIZES[0];
  const last = SIZES[SIZES.length - 1];
  const rows: string[][] = [['build', `${first} routes ms`, `${last} routes ms`, 'ms per route', 'ratio to aws-cdk-lib', 'target', '']];
  for (const n of names) {
    const ratio = perRoute(n) / base;
    // The target is for the construct as users get it (monitoring on); the monitoring-off row explains it.
    const judged = n !== BASELINE && !n.includes('monitoring off');
    rows.push([n, median(times[n][first]).toFixed(0), median(times[n][last]).toFixed(0), perRoute(n).toFixed(2), ratio.toFixed(2), judged ? '<= 1.00' : '', judged ? met(ratio <= 1.0) : '']);
  }
  printTable(rows);
  console.log(`  ${loadLine()}\n`);
}

main();
