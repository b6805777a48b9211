/**
 * Benchmark: construct synthesis time for 20 vs 200 routes (target ratio <= 3), and the time to require
 * each engine's bundle against a minimal bundle that holds only pg (the floor any PostgreSQL Lambda
 * pays). Ratios against baselines measured in the same process; printed, never asserted.
 *
 * Run: npm run bench (needs the bundles: npx projen bundle).
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseTarget, QueryDefinition, QueryParameter, SecureDbApi } from '../src';

function synthOnce(routes: number): number {
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
  const queries: QueryDefinition[] = Array.from({ length: routes }, (_, i) => ({
    // One resource per route: 200 routes with two path levels each would pass CloudFormation's
    // 500-resource limit for one stack (see README).
    route: `GET /table${i}`,
    sql: `SELECT * FROM table${i} WHERE id = :id AND status = :status`,
    parameters: [QueryParameter.integer('id'), QueryParameter.enumeration('status', ['a', 'b'], { defaultValue: 'a' })],
  }));
  new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'db' }), queries });
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
  synthOnce(5); // warm the module cache
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 0; i < 3; i++) {
    small.push(synthOnce(20));
    large.push(synthOnce(200));
  }
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[1];
  console.log('| routes | synth ms (median of 3) | ratio to 20 routes | target |');
  console.log('| ------ | ---------------------- | ------------------ | ------ |');
  console.log(`| 20     | ${med(small).toFixed(0).padEnd(22)} | 1.00               |        |`);
  console.log(`| 200    | ${med(large).toFixed(0).padEnd(22)} | ${(med(large) / med(small)).toFixed(2).padEnd(18)} | <= 3   |`);
  console.log('');

  // Baseline: pg alone, bundled and minified by the same esbuild.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-pg-'));
  writeFileSync(path.join(dir, 'entry.js'), "module.exports = require('pg');\n");
  const baseline = path.join(dir, 'pg-only.js');
  execFileSync(path.join(__dirname, '..', 'node_modules', '.bin', 'esbuild'), [
    path.join(dir, 'entry.js'), '--bundle', '--minify', '--platform=node', '--target=node20', `--outfile=${baseline}`,
    '--external:pg-native', '--external:cloudflare:sockets', '--resolve-extensions=.js', `--alias:pg=${path.dirname(require.resolve('pg/package.json'))}`,
  ], { stdio: 'ignore' });
  const base = requireTime(baseline, 9);
  console.log('| bundle          | require ms (median of 9) | ratio to pg alone |');
  console.log('| --------------- | ------------------------ | ----------------- |');
  console.log(`| pg alone        | ${base.toFixed(1).padEnd(24)} | 1.00              |`);
  for (const bundle of ['postgres.lambda', 'mysql.lambda']) {
    const t = requireTime(path.join(__dirname, '..', 'assets', 'runtime', bundle, 'index.js'), 9);
    console.log(`| ${bundle.padEnd(15)} | ${t.toFixed(1).padEnd(24)} | ${(t / base).toFixed(2).padEnd(17)} |`);
  }
}

main();
