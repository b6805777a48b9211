import * as path from 'path';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { DatabaseTargetConfig } from './database-target';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';
import { encryptedLogGroup } from '../security/log-groups';
import { privateFunction } from '../security/private-function';

/** The bootstrap bundle, built by esbuild at build time. */
const BOOTSTRAP_BUNDLE = path.join(__dirname, '..', '..', 'assets', 'runtime', 'bootstrap', 'bootstrap.lambda', 'index.js');

/**
 * How long the bootstrap may run. It also bounds the whole operation: the provider framework invokes it
 * synchronously and answers CloudFormation FAILED when it times out (say, without a route to Secrets Manager).
 */
const BOOTSTRAP_TIMEOUT = Duration.minutes(2);

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
    const keys = [...new Set([...secrets.map((s) => s.encryptionKey), props.masterSecretEncryptionKey]
      .filter((k): k is kms.IKey => k !== undefined))];
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
      timeout: BOOTSTRAP_TIMEOUT,
      noDlqReason: 'Invoked synchronously by the custom resource provider framework, which answers CloudFormation, also on failure.',
      noReservedConcurrencyReason: 'Runs only during deployments, once per stack operation.',
    }).function;

    const provider = this.provider(props);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
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

  /**
   * aws-cdk-lib's provider framework, outside the VPC: it invokes the in-VPC bootstrap and answers
   * CloudFormation's pre-signed S3 URL itself, so isolated subnets without an S3 endpoint or NAT never leave
   * the stack waiting for an answer. Its role (customer-managed policy) may only invoke the bootstrap and
   * write its own encrypted logs.
   */
  private provider(props: DatabaseUsersProps): cr.Provider {
    const logGroup = encryptedLogGroup(this, 'ProviderLogGroup', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
    const role = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Custom resource provider of the database user bootstrap: invokes it and answers CloudFormation',
    });
    const policy = new iam.ManagedPolicy(this, 'ProviderPolicy', {
      description: 'Database user bootstrap provider: invoke the bootstrap, write own logs',
      roles: [role],
      statements: [
        new iam.PolicyStatement({ sid: 'InvokeTheBootstrap', actions: ['lambda:InvokeFunction', 'lambda:GetFunction'], resources: [this.function.functionArn] }),
        new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      ],
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.function,
      frameworkOnEventRole: role.withoutPolicyUpdates(),
      logGroup,
    });
    const framework = provider.node.findChild('framework-onEvent') as lambda.Function;
    framework.node.addDependency(policy);
    const outside = 'The provider framework answers CloudFormation\'s pre-signed S3 URL, which the VPC may not reach (isolated subnets); it only invokes the in-VPC bootstrap.';
    acknowledge(
      framework,
      ...inCompliancePacks('LambdaInsideVPC', outside),
      // Control Tower's CT.LAMBDA.PR.3, on this function only (aws-cdk-lib would read `cfn-guard::rule` app-wide).
      { id: 'cfn-guard:lambda_inside_vpc_check', reason: outside },
      ...inCompliancePacks('LambdaDLQ', 'Invoked synchronously by CloudFormation during deployments; it answers CloudFormation, also on failure.'),
      ...inCompliancePacks('LambdaConcurrency', 'Runs only during deployments, once per stack operation.'),
      { id: 'AwsSolutions-L1', reason: 'The provider framework\'s runtime is chosen by aws-cdk-lib (the latest it supports for the framework).' },
    );
    return provider;
  }
}
