/**
 * Example 2: an existing RDS for MySQL instance in an existing VPC (both imported by ID), published
 * as an inventory API. The construct adds the proxy, the API users' secrets and the functions, and
 * creates the two users with the instance's master secret (imported by name).
 */
import { App, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AccessLevel, DatabaseTarget, ParameterLocation, QueryParameter, SecureDbApi } from '../src';

/** The existing VPC, instance and master secret, by ID. */
export interface ExistingInventoryDatabase {
  readonly vpc: ec2.VpcAttributes;
  readonly instanceIdentifier: string;
  readonly instanceEndpointAddress: string;
  readonly securityGroupId: string;
  readonly engine: rds.IInstanceEngine;
  readonly masterSecretName: string;
}

/** This example's database (the integration test passes a real one). */
const INVENTORY: ExistingInventoryDatabase = {
  vpc: {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidrBlock: '10.30.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
    privateSubnetRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0bbbbbbbbbbbbbbb2'],
  },
  instanceIdentifier: 'inventory-mysql',
  instanceEndpointAddress: 'inventory-mysql.abcdefghijkl.eu-west-1.rds.amazonaws.com',
  securityGroupId: 'sg-0123456789abcdef0',
  engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_39 }),
  masterSecretName: 'inventory-mysql/master',
};

export interface ExistingMysqlInventoryStackProps extends StackProps {
  /** @default - this example's IDs */
  readonly database?: ExistingInventoryDatabase;
}

export class ExistingMysqlInventoryStack extends Stack {
  public readonly inventoryApi: SecureDbApi;

  constructor(scope: Construct, id: string, props: ExistingMysqlInventoryStackProps = {}) {
    super(scope, id, props);
    const existing = props.database ?? INVENTORY;
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', existing.vpc);
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Inventory', {
      instanceIdentifier: existing.instanceIdentifier,
      instanceEndpointAddress: existing.instanceEndpointAddress,
      port: 3306,
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(this, 'InventorySg', existing.securityGroupId)],
      engine: existing.engine,
    });

    this.inventoryApi = new SecureDbApi(this, 'InventoryApi', {
      vpc,
      database: DatabaseTarget.fromInstance(instance, { databaseName: 'inventory' }),
      databaseUsers: {
        reader: 'inventory_reader',
        writer: 'inventory_writer',
        masterSecret: secretsmanager.Secret.fromSecretNameV2(this, 'InventoryMaster', existing.masterSecretName),
      },
      queries: [
        {
          route: 'GET /items',
          sql: 'SELECT sku, name, quantity FROM items WHERE (:prefix IS NULL OR sku LIKE CONCAT(:prefix, \'%\')) ORDER BY sku',
          parameters: [QueryParameter.string('prefix', { required: false, maxLength: 32, pattern: '[A-Z0-9-]+' })],
          rowLimit: 200,
        },
        {
          route: 'PATCH /items/{sku}',
          access: AccessLevel.WRITE,
          sql: 'UPDATE items SET quantity = quantity + :delta WHERE sku = :sku',
          parameters: [
            QueryParameter.string('sku', { maxLength: 32, pattern: '[A-Z0-9-]+' }),
            QueryParameter.integer('delta', { minimum: -1000, maximum: 1000, location: ParameterLocation.BODY }),
          ],
          timeout: Duration.seconds(2),
        },
      ],
    });
  }
}

export function build(app: App): Stack[] {
  return [new ExistingMysqlInventoryStack(app, 'SecureDbApiExistingMysql', { env: { account: '111111111111', region: 'eu-west-1' } })];
}
