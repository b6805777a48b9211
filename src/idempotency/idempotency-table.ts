import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { IdempotencyOptions } from './idempotency-options';
import { apiError } from '../parts/context';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';
import { httpsEgressGroup } from '../security/vpc-access';
import type { IdempotencyConfig } from '../shared/config';

/** The environment variable that carries the table's name to the functions and the tasks (a deploy-time value). */
export const IDEMPOTENCY_TABLE_ENV = 'SECURE_DB_API_IDEMPOTENCY_TABLE';

/**
 * The record layout of Powertools' idempotency utility, as src/runtime/idempotency.ts uses it (its defaults):
 * partition key `id`, expiry timestamp in epoch seconds in `expiration`, which the table's TTL reads.
 */
export const IDEMPOTENCY_KEY_ATTRIBUTE = 'id';
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';

/** The DynamoDB actions Powertools' DynamoDB persistence layer calls, and no others. */
export const IDEMPOTENCY_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'] as const;
/** What a caller of a table encrypted with a customer-managed key needs of the key (through DynamoDB only). */
export const IDEMPOTENCY_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

const DEFAULT_EXPIRES_AFTER = Duration.hours(1);

export interface IdempotencyTableProps extends IdempotencyOptions {
  /** The API's customer-managed key. */
  readonly encryptionKey: kms.IKey;
  /** The same as the API's other stateful resources (key, secrets, log groups). */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The idempotency store of the write routes: a DynamoDB table in Powertools' layout, encrypted with the API's
 * key, on-demand, with point-in-time recovery and TTL on the records' expiry. CloudFormation names it.
 * Only the write function and the container tasks are allowed to use it ({@link statements}).
 */
export class IdempotencyTable extends Construct {
  public readonly table: dynamodb.Table;
  /** How long a key's outcome is kept, in seconds. */
  public readonly expiresAfterSeconds: number;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps) {
    super(scope, id);
    const expiresAfter = props.expiresAfter ?? DEFAULT_EXPIRES_AFTER;
    if (Token.isUnresolved(expiresAfter.toSeconds({ integral: false }))) {
      throw apiError(scope, 'idempotency.expiresAfter must be a duration known at synth time');
    }
    const seconds = expiresAfter.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < 60) {
      throw apiError(scope, `idempotency.expiresAfter must be whole seconds, at least 1 minute (got ${expiresAfter.toHumanString()})`);
    }
    this.expiresAfterSeconds = seconds;
    this.encryptionKey = props.encryptionKey;

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: IDEMPOTENCY_KEY_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    acknowledge(this.table, ...inCompliancePacks('DynamoDBInBackupPlan',
      'The records are the outcomes of recent writes, kept for idempotency.expiresAfter and then deleted by TTL; point-in-time recovery covers the table, and a backup plan would keep what is meant to expire.'));
  }

  /** The `idempotency` section of a runtime configuration: the table's name comes from the environment ({@link environment}). */
  public runtimeConfig(): IdempotencyConfig {
    return { tableName: `\${env:${IDEMPOTENCY_TABLE_ENV}}`, expiresAfterSeconds: this.expiresAfterSeconds };
  }

  /** The environment a function or task that serves write routes needs. */
  public environment(): Record<string, string> {
    return { [IDEMPOTENCY_TABLE_ENV]: this.table.tableName };
  }

  /**
   * A security group, in `scope`, that lets the write function reach DynamoDB over HTTPS (through a DynamoDB
   * gateway endpoint, or NAT); the function's shared group reaches only the proxy.
   */
  public egressFrom(scope: Construct, vpc: ec2.IVpc): ec2.SecurityGroup {
    return httpsEgressGroup(scope, 'IdempotencyStoreSecurityGroup', vpc, 'Write function: HTTPS to DynamoDB (the idempotency store)', 'DynamoDB (gateway endpoint or NAT)');
  }

  /** What the write function's or the tasks' role may do: Powertools' four item actions on this table, and the key through DynamoDB. */
  public statements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({ sid: 'IdempotencyRecords', actions: [...IDEMPOTENCY_TABLE_ACTIONS], resources: [this.table.tableArn] }),
      new iam.PolicyStatement({
        sid: 'IdempotencyTableKeyThroughDynamoDb',
        actions: [...IDEMPOTENCY_KEY_ACTIONS],
        resources: [this.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    ];
  }
}
