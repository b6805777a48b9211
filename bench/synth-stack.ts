import { mkdtempSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';

/** The app every synthesis benchmark builds its API in: an isolated VPC and an Aurora PostgreSQL cluster. */
export interface BenchStack {
  readonly app: App;
  readonly stack: Stack;
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
}

/** A fresh app (its own temporary output directory named after `prefix`) with the stack, VPC and cluster. */
export function benchStack(prefix: string): BenchStack {
  const app = new App({ outdir: mkdtempSync(path.join(os.tmpdir(), prefix)) });
  const stack = new Stack(app, 'Bench', { env: { account: '111111111111', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const cluster = new rds.DatabaseCluster(stack, 'Db', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('w'),
  });
  return { app, stack, vpc, cluster };
}
