/**
 * Deploys examples/existing-mysql-instance.ts against a real RDS for MySQL instance (a fixture stack plays
 * the existing database, VPC and master secret) and exercises it: the bootstrap created both users, a
 * write without RETURNING answers its affected rows and changes the row, a read returns it, and the
 * writer's secret rotates while the API keeps writing.
 */
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { destroyOnDelete, integTest, rotates, SqlRunner, testInvoke } from './fixtures';
import { ExistingMysqlInventoryStack } from '../../examples/existing-mysql-instance';
import { egressVpc } from '../../examples/shared';

const app = new App();

// What the example imports by ID: the VPC, the instance and its master secret.
const fixture = new Stack(app, 'SecureDbApiIntegMysqlDatabase');
destroyOnDelete(fixture);
const vpc = egressVpc(fixture, '10.30.0.0/16');
const instance = new rds.DatabaseInstance(fixture, 'Inventory', {
  engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 }),
  instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
  credentials: rds.Credentials.fromGeneratedSecret('inventory_admin'),
  databaseName: 'inventory',
  storageEncrypted: true,
  backupRetention: Duration.days(1),
});
const sql = new SqlRunner(fixture, 'IntegSql', {
  vpc,
  database: instance,
  port: 3306,
  masterSecret: instance.secret!,
  databaseName: 'inventory',
  engine: 'mysql',
});

// Imported by ID as the example does, so its rules on the instance's security group live in its own stack.
const stack = new ExistingMysqlInventoryStack(app, 'SecureDbApiIntegExistingMysql', {
  database: {
    vpc: {
      vpcId: vpc.vpcId,
      vpcCidrBlock: vpc.vpcCidrBlock,
      availabilityZones: vpc.availabilityZones,
      privateSubnetIds: vpc.privateSubnets.map((s) => s.subnetId),
      privateSubnetRouteTableIds: vpc.privateSubnets.map((s) => s.routeTable.routeTableId),
    },
    instanceIdentifier: instance.instanceIdentifier,
    instanceEndpointAddress: instance.dbInstanceEndpointAddress,
    securityGroupId: instance.connections.securityGroups[0].securityGroupId,
    engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 }),
    masterSecretName: instance.secret!.secretName,
  },
});
destroyOnDelete(stack);

const integ = integTest(app, 'SecureDbApiExistingMysqlInteg', stack);
const a = integ.assertions;
const api = stack.inventoryApi;
const rotation = rotates(a, api.secrets[1]);
const restock = () => testInvoke(a, api, { method: 'PATCH', resource: '/items/{sku}', path: '/items/BOLT-M6', body: { delta: 5 } }, { path: 'body.meta.affectedRows', expected: ExpectedResult.exact(1) });

sql.run(a, [
  'CREATE TABLE IF NOT EXISTS items (sku VARCHAR(32) PRIMARY KEY, name VARCHAR(200) NOT NULL, quantity INT NOT NULL)',
  "INSERT INTO items (sku, name, quantity) VALUES ('BOLT-M6', 'Bolt M6', 10), ('NUT-M6', 'Nut M6', 5) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity)",
])
  // The bootstrap created both users.
  .next(sql.run(a, ["SELECT User AS name FROM mysql.user WHERE User IN ('inventory_reader', 'inventory_writer') ORDER BY User"], [{ name: 'inventory_reader' }, { name: 'inventory_writer' }]))
  // A write as the writer (an UPDATE: no RETURNING on MySQL), then the row as the master sees it.
  .next(restock())
  .next(sql.run(a, ["SELECT quantity FROM items WHERE sku = 'BOLT-M6'"], [{ quantity: 15 }]))
  // A read as the reader.
  .next(testInvoke(a, api, { method: 'GET', resource: '/items', path: '/items?prefix=BOLT' }, { path: 'body.data.0.quantity', expected: ExpectedResult.exact(15) }))
  // The writer's password rotates; the proxy logs in with the new one.
  .next(rotation.first);
rotation.last.next(restock()).next(sql.run(a, ["SELECT quantity FROM items WHERE sku = 'BOLT-M6'"], [{ quantity: 20 }]));
