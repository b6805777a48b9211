/**
 * Benchmark: what one route costs at synthesis, a SecureDbApi query (given in props, or added with
 * addQuery) against aws-cdk-lib's own RestApi with the same routes (one Resource and one Method each,
 * IAM authorization, a validator, the same query-string parameters), in the same run. The cost of a route
 * is the difference between an app with 200 and one with 20 routes, divided by 180; the apps are built in
 * an order shuffled every round. Target: a SecureDbApi route costs at most 1.0x aws-cdk-lib's own.
 *
 * Run: npm run bench (needs the bundles: npx projen bundle). BENCH_SYNTH_ROUNDS (default 7).
 */
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

function synthOnce(build: Build, routes: number): number {
  const started = process.hrtime.bigint();
  const { app, stack, vpc, cluster } = benchStack('sdba-bench-');
  build(stack, vpc, cluster, routes);
  app.synth();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function main() {
  const rounds = Number(process.env.BENCH_SYNTH_ROUNDS ?? 7);
  const random = seededRandom(SEED + 2);
  console.log(`Synthesis: ${rounds} rounds of 20 and 200 routes per build, shuffled order, seed ${SEED}`);
  const names = Object.keys(BUILDS);
  for (const build of Object.values(BUILDS)) synthOnce(build, 5); // warm the module cache
  const small: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const large: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < rounds; i++) {
    for (const [name, routes] of shuffle(names.flatMap((n) => [[n, 20], [n, 200]] as Array<[string, number]>), random)) {
      (routes === 20 ? small : large)[name].push(synthOnce(BUILDS[name], routes));
    }
  }
  const perRoute = (n: string) => (median(large[n]) - median(small[n])) / 180;
  const base = perRoute(BASELINE);
  const rows: string[][] = [['build', '20 routes ms', '200 routes ms', 'ms per route', 'ratio to aws-cdk-lib', 'target', '']];
  for (const n of names) {
    const ratio = perRoute(n) / base;
    // The target is for the construct as users get it (monitoring on); the monitoring-off row explains it.
    const judged = n !== BASELINE && !n.includes('monitoring off');
    rows.push([n, median(small[n]).toFixed(0), median(large[n]).toFixed(0), perRoute(n).toFixed(2), ratio.toFixed(2), judged ? '<= 1.00' : '', judged ? met(ratio <= 1.0) : '']);
  }
  printTable(rows);
  console.log(`  ${loadLine()}\n`);
}

main();
