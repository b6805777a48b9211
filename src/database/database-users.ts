import * as path from 'path';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DatabaseTargetConfig } from './database-target';
import { privateFunction } from '../security/private-function';

/** The bootstrap bundle, built by esbuild at build time. */
const BOOTSTRAP_BUNDLE = path.join(__dirname, '..', '..', 'assets', 'runtime', 'bootstrap', 'bootstrap.lambda', 'index.js');

/** Lambda's bundle of CA certificates, which includes the RDS certificate authorities. */
const LAMBDA_CA_BUNDLE = '/var/runtime/ca-cert.pem';

export interface DatabaseUsersProps {
  readonly target: DatabaseTargetConfig;
  /** The database's own endpoint. */
  readonly endpoint: rds.Endpoint;
  readonly masterSecret: secretsmanager.ISecret;
  /** The master secret's key, when the secret does not know it. */
  readonly masterSecretEncryptionKey?: kms.IKey;
  readonly reader: { readonly name: string; readonly secret?: secretsmanager.ISecret };
  readonly writer: { readonly name: string; readonly secret?: secretsmanager.ISecret };
  /** `password`: the users log in with their secrets (the proxy does); `iam`: with IAM tokens only. */
  readonly authentication: 'password' | 'iam';
  readonly schemas?: string[];
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Creates the reader and writer users in the database, with the grants read and write queries need,
 * as a custom resource run by a bundled function with the master secret, directly against the
 * database. Idempotent, on create and on every update; a delete never drops a user.
 */
export class DatabaseUsers extends Construct {
  public readonly resource: CustomResource;
  public readonly function: lambda.Function;
  /** The bootstrap function's security group, which the database lets in. */
  public readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseUsersProps) {
    super(scope, id);
    const securityGroup = this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'Database user bootstrap: the database and Secrets Manager (HTTPS)',
    });
    // Opens the database to this group and this group's egress to the database's groups only.
    props.target.connections.allowFrom(securityGroup, ec2.Port.tcp(props.target.port), 'Database user bootstrap');
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager (endpoint or NAT)');

    const secrets = [props.masterSecret, props.reader.secret, props.writer.secret].filter((s): s is secretsmanager.ISecret => s !== undefined);
    // The keys of the secrets (the construct's own, a CMK on the master secret), through Secrets Manager only.
    const keys = [...new Set([...secrets.map((s) => s.encryptionKey), props.masterSecretEncryptionKey].filter((k): k is kms.IKey => k !== undefined))];
    this.function = privateFunction(this, 'Function', {
      description: 'SecureDbApi database user bootstrap (custom resource)',
      roleDescription: 'Creates the SecureDbApi database users with the master secret',
      policyDescription: 'Database user bootstrap: read the master and user secrets, write own logs',
      statements: [
        // A secret imported by name has a partial ARN: the policy needs its random suffix matched.
        new iam.PolicyStatement({ sid: 'ReadTheSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secrets.map((s) => s.secretFullArn ?? `${s.secretArn}-??????`) }),
        ...(keys.length > 0
          ? [new iam.PolicyStatement({
            sid: 'DecryptTheSecrets',
            actions: ['kms:Decrypt'],
            resources: keys.map((k) => k.keyArn),
            conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${props.vpc.stack.region}.amazonaws.com` } },
          })]
          : []),
      ],
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      bundle: BOOTSTRAP_BUNDLE,
      // The connection to the database verifies its certificate against the RDS CAs Lambda ships.
      environment: { NODE_EXTRA_CA_CERTS: LAMBDA_CA_BUNDLE },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroup,
      timeout: Duration.minutes(2),
      noDlqReason: 'Invoked synchronously by CloudFormation as a custom resource; it answers CloudFormation itself, even on failure.',
      noReservedConcurrencyReason: 'Runs only during deployments, once per stack operation.',
    }).function;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::SecureDbApiDatabaseUsers',
      properties: {
        Engine: props.target.engine,
        Database: props.target.databaseName,
        ...(props.schemas ? { Schemas: props.schemas.join(',') } : {}),
        Host: props.endpoint.hostname,
        Port: props.endpoint.port,
        MasterSecretArn: props.masterSecret.secretArn,
        ReaderUser: props.reader.name,
        WriterUser: props.writer.name,
        Authentication: props.authentication,
        ...(props.reader.secret ? { ReaderSecretArn: props.reader.secret.secretArn } : {}),
        ...(props.writer.secret ? { WriterSecretArn: props.writer.secret.secretArn } : {}),
      },
      // Users are never dropped; the resource only disappears from the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
