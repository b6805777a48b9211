import { ArnFormat, AspectPriority, Aspects, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { QueryRestApi } from './api/rest-api';
import { ThrottlingOptions } from './api/throttling';
import { DatabaseEngineFamily, DatabaseTarget, DatabaseTargetConfig } from './database/database-target';
import { QueryDefinition, QueryOptions } from './database/query';
import { parseRoute, toQueryConfig } from './database/query-config';
import { QueryFunction } from './database/query-function';
import { ConfigError, prepareConfig, QueryConfig, RuntimeConfig } from './runtime/config';
import { KeyPolicies } from './security/key-policies';

/** A proxy created elsewhere, for `SecureDbApiProps.existingProxy`. */
export interface ExistingProxyOptions {
  /**
   * The proxy. It must require IAM authentication and TLS, and hold the secrets of the reader and
   * writer users; the construct then creates neither the proxy nor those secrets.
   */
  readonly proxy: rds.IDatabaseProxy;
  /** The proxy's security group; the construct lets the query functions in. */
  readonly securityGroup: ec2.ISecurityGroup;
}

/** Properties of {@link SecureDbApi}. */
export interface SecureDbApiProps {
  /** The VPC of the database; the proxy and the query functions run in its private subnets. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the proxy and the functions.
   * @default - the VPC's private subnets with egress, or else its isolated subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** The database, e.g. `DatabaseTarget.fromCluster(cluster, { databaseName: 'app' })`. */
  readonly database: DatabaseTarget;
  /**
   * Queries to publish; more can be added with `addQuery`.
   * @default - none
   */
  readonly queries?: QueryDefinition[];
  /**
   * Use a proxy you already run instead of creating one (with its user secrets and their rotation).
   * @default - a new proxy, secrets and rotation
   */
  readonly existingProxy?: ExistingProxyOptions;
  /**
   * Database user for read queries.
   * @default 'api_reader'
   */
  readonly readerUser?: string;
  /**
   * Database user for write queries.
   * @default 'api_writer'
   */
  readonly writerUser?: string;
  /**
   * Stage throttling.
   * @default - 100 requests per second, bursts of 200
   */
  readonly throttling?: ThrottlingOptions;
  /**
   * API stage name.
   * @default 'v1'
   */
  readonly stageName?: string;
  /**
   * Retention of every log group the construct creates.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the KMS key, secrets and log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How often the database users' passwords rotate.
   * @default Duration.days(30)
   */
  readonly rotationSchedule?: Duration;
  /**
   * Set API Gateway's account-level CloudWatch role (needed once per account and region for execution logs).
   * @default true
   */
  readonly configureAccountLogging?: boolean;
  /**
   * Memory of each query function, in MiB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Reserved concurrency of each query function, which also caps connections to the proxy.
   * @default - unreserved
   */
  readonly reservedConcurrency?: number;
}

const USER = /^[a-z_][a-z0-9_]{0,30}$/;

/**
 * Publishes named SQL queries as an API Gateway REST API, securely: IAM-authorized routes with
 * request validation, one least-privilege function per access level connecting with short-lived IAM
 * tokens through an RDS Proxy that requires IAM auth and TLS, KMS-encrypted rotating secrets, and
 * encrypted logs.
 */
export class SecureDbApi extends Construct {
  /** The REST API. */
  public readonly api: apigw.RestApi;
  /** The RDS Proxy every query goes through. */
  public readonly proxy: rds.IDatabaseProxy;
  /**
   * The query functions: the reader, then the writer when there are write queries. They are created when
   * the app is synthesized, once every `addQuery` call is in, since each function's asset holds its routes.
   */
  public readonly functions: lambda.IFunction[] = [];
  /** The reader's and the writer's database secrets (rotated, KMS-encrypted); empty with an existing proxy. */
  public readonly secrets: secretsmanager.ISecret[];
  /** The query functions' security group: the only one the proxy accepts connections from. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The key that encrypts the secrets and the log groups. */
  public readonly encryptionKey: kms.IKey;

  private readonly target: DatabaseTargetConfig;
  private readonly restApi: QueryRestApi;
  private readonly definitions: QueryDefinition[] = [];
  private readonly props: SecureDbApiProps;
  private readonly readerUser: string;
  private readonly writerUser: string;
  private readonly vpcSubnets: ec2.SubnetSelection;
  private built = false;
  private readonly stageName: string;

  constructor(scope: Construct, id: string, props: SecureDbApiProps) {
    super(scope, id);
    this.props = props;
    this.target = props.database.bind();
    this.readerUser = props.readerUser ?? 'api_reader';
    this.writerUser = props.writerUser ?? 'api_writer';
    for (const u of [this.readerUser, this.writerUser]) {
      if (!USER.test(u)) throw new Error(`Database user "${u}" must be lower-case letters, digits and _ (at most 31), starting with a letter or _`);
    }
    if (this.readerUser === this.writerUser) throw new Error('readerUser and writerUser must be different users');
    this.vpcSubnets = this.selectSubnets(props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    const key = new kms.Key(this, 'Key', {
      description: `SecureDbApi ${this.node.path}: secrets and logs`,
      enableKeyRotation: true,
      removalPolicy,
    });
    const stack = Stack.of(this);
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CloudWatchLogsOfThisAccount',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
    }));
    KeyPolicies.restrictGrantsToAwsServices(key);
    this.encryptionKey = key;

    const port = this.target.engine === DatabaseEngineFamily.POSTGRESQL ? 5432 : 3306;
    this.securityGroup = new ec2.SecurityGroup(this, 'FunctionSecurityGroup', { vpc: props.vpc, allowAllOutbound: false, description: 'Query functions: only the RDS Proxy' });
    let proxyConnections: ec2.Connections;
    if (props.existingProxy) {
      // The proxy's owner manages its secrets, rotation and settings; the construct only connects to it.
      this.proxy = props.existingProxy.proxy;
      this.secrets = [];
      proxyConnections = new ec2.Connections({ securityGroups: [props.existingProxy.securityGroup] });
    } else {
      this.secrets = this.createUserSecrets(props, key, removalPolicy);
      const proxy = this.createProxy(props);
      this.proxy = proxy;
      proxyConnections = proxy.connections;
    }
    proxyConnections.allowFrom(this.securityGroup, ec2.Port.tcp(port), 'Query functions');

    this.stageName = props.stageName ?? 'v1';
    this.restApi = new QueryRestApi(this, 'Rest', {
      stageName: this.stageName,
      throttling: props.throttling ?? {},
      encryptionKey: key,
      logRetention,
      removalPolicy,
      configureAccountLogging: props.configureAccountLogging ?? true,
    });
    this.api = this.restApi.api;

    for (const q of props.queries ?? []) this.definitions.push(q);
    this.node.addValidation({ validate: () => (this.definitions.length === 0 ? ['SecureDbApi needs at least one query (props.queries or addQuery)'] : []) });
    // Functions and routes are built once all queries are known: addQuery may follow the constructor.
    this.buildLater(port, logRetention, removalPolicy);
  }

  /** Publishes one more query at `route` (e.g. `GET /orders/{id}`). */
  public addQuery(route: string, options: QueryOptions): void {
    if (this.built) throw new Error('addQuery must be called before the app is synthesized');
    parseRoute(route);
    this.definitions.push({ ...options, route });
    this.checkQueries();
  }

  /** Lets `grantee` call every route (IAM authorization), or only `route` when given. */
  public grantInvoke(grantee: iam.IGrantable, route?: string): iam.Grant {
    let resource = this.api.arnForExecuteApi('*', '/*', this.stageName);
    if (route) {
      const { method, path } = parseRoute(route);
      resource = this.api.arnForExecuteApi(method, path.replace(/\{[^}]+\}/g, '*'), this.stageName);
    }
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [resource] });
  }

  /** Any API Gateway metric of this API's stage. */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiName: this.api.restApiName, Stage: this.stageName },
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** 5XX responses (sum per minute). */
  public metricServerErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('5XXError', { statistic: 'Sum', ...props });
  }

  /** 4XX responses (sum per minute). */
  public metricClientErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('4XXError', { statistic: 'Sum', ...props });
  }

  /** End-to-end latency (p99 per minute). */
  public metricLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Latency', { statistic: 'p99', ...props });
  }

  private buildLater(port: number, logRetention: logs.RetentionDays, removalPolicy: RemovalPolicy): void {
    // Aspects run before validation and synthesis: late enough for addQuery, early enough for cdk-nag.
    const self = this;
    const build = () => {
      if (self.built) return;
      self.built = true;
      const configs = self.checkQueries();
      if (!configs) return;
      for (const access of ['read', 'write'] as const) {
        const queries = configs.filter((q) => q.access === access);
        if (queries.length === 0) continue;
        const fn = new QueryFunction(self, access === 'read' ? 'Reader' : 'Writer', {
          access,
          engine: self.target.engine,
          databaseName: self.target.databaseName,
          dbUser: access === 'read' ? self.readerUser : self.writerUser,
          port,
          queries,
          proxy: self.proxy,
          vpc: self.props.vpc,
          vpcSubnets: self.vpcSubnets,
          securityGroup: self.securityGroup,
          encryptionKey: self.encryptionKey,
          logRetention,
          removalPolicy,
          memorySize: self.props.memorySize ?? 512,
          reservedConcurrentExecutions: self.props.reservedConcurrency,
        });
        for (const rule of ['HIPAA.Security-LambdaDLQ', 'NIST.800.53.R5-LambdaDLQ', 'PCI.DSS.321-LambdaDLQ']) {
          Validations.of(fn.function).acknowledge({ id: rule, reason: 'Invoked synchronously by API Gateway: failures go back to the caller, there is no event to dead-letter.' });
        }
        if (self.props.reservedConcurrency === undefined) {
          for (const rule of ['HIPAA.Security-LambdaConcurrency', 'NIST.800.53.R5-LambdaConcurrency', 'PCI.DSS.321-LambdaConcurrency']) {
            Validations.of(fn.function).acknowledge({ id: rule, reason: 'Stage throttling and the proxy connection cap bound load; set SecureDbApiProps.reservedConcurrency to reserve concurrency.' });
          }
        }
        self.functions.push(fn.function);
        for (const q of queries) self.restApi.addQuery(q, fn.function);
        self.restApi.restrictInvokePermission(fn.function);
      }
    };
    // A mutating aspect runs when the app is prepared for synthesis, before any read-only checks.
    Aspects.of(this).add({ visit: () => build() }, { priority: AspectPriority.MUTATING });
  }

  private checkQueries(): QueryConfig[] | undefined {
    let configs: QueryConfig[];
    try {
      configs = this.definitions.map(toQueryConfig);
    } catch (e) {
      throw new Error(`SecureDbApi ${this.node.path}: ${(e as Error).message}`);
    }
    if (configs.length === 0) return undefined;
    const config: RuntimeConfig = {
      version: 1,
      engine: this.target.engine,
      connection: { host: 'proxy', port: 1, database: this.target.databaseName, user: this.readerUser, credentials: { type: 'iam', region: 'x' }, tls: { enabled: true } },
      queries: configs,
    };
    try {
      prepareConfig(config);
    } catch (e) {
      if (e instanceof ConfigError) throw new Error(`SecureDbApi ${this.node.path} has invalid queries:\n- ${e.problems.join('\n- ')}`);
      throw e;
    }
    return configs;
  }

  /**
   * ProxyTarget.bind opens the database's default port to the proxy with a rule whose port is a
   * CloudFormation reference (the cluster's or instance's endpoint port): the port checks cannot
   * evaluate it. Acknowledged on exactly those rules.
   */
  /** The app users' secrets: the proxy logs in with them; rotation changes them directly on the database. */
  private createUserSecrets(props: SecureDbApiProps, key: kms.IKey, removalPolicy: RemovalPolicy): secretsmanager.ISecret[] {
    const rotationSg = new ec2.SecurityGroup(this, 'RotationSecurityGroup', { vpc: props.vpc, allowAllOutbound: true, description: 'Secret rotation functions: database and Secrets Manager' });
    this.target.connections.allowFrom(rotationSg, ec2.Port.tcp(this.target.port), 'Secret rotation');
    return [this.readerUser, this.writerUser].map((username, i) => {
      const label = i === 0 ? 'Reader' : 'Writer';
      const secret = new rds.DatabaseSecret(this, `${label}Secret`, { username, encryptionKey: key, excludeCharacters: '"@/\\\'%`:;,{}[]()#?&+=<>| ' });
      secret.applyRemovalPolicy(removalPolicy);
      const attached = secret.attach(this.target.secretAttachment);
      attached.addRotationSchedule('Rotation', {
        automaticallyAfter: props.rotationSchedule ?? Duration.days(30),
        hostedRotation: this.hostedRotation({ vpc: props.vpc, vpcSubnets: this.vpcSubnets, securityGroups: [rotationSg] }),
      });
      return attached;
    });
  }

  /** The proxy: IAM authentication and TLS required, reachable only from the query functions. */
  private createProxy(props: SecureDbApiProps): rds.DatabaseProxy {
    const proxySg = new ec2.SecurityGroup(this, 'ProxySecurityGroup', { vpc: props.vpc, allowAllOutbound: false, description: 'RDS Proxy: only the query functions may connect' });
    const proxy = new rds.DatabaseProxy(this, 'Proxy', {
      proxyTarget: this.target.proxyTarget,
      secrets: this.secrets,
      vpc: props.vpc,
      vpcSubnets: this.vpcSubnets,
      securityGroups: [proxySg],
      iamAuth: true,
      requireTLS: true,
      borrowTimeout: Duration.seconds(10),
      idleClientTimeout: Duration.minutes(15),
      maxConnectionsPercent: 80,
      debugLogging: false,
    });
    // aws-cdk-lib's ProxyTarget already opened the database's port to the proxy security group.
    this.acknowledgeProxyIngress(proxySg);
    Validations.of(proxy.node.findChild('IAMRole')).acknowledge(
      ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].map((pack) => ({
        id: `${pack}-IAMNoInlinePolicy`,
        reason: 'The proxy role is created by aws-cdk-lib DatabaseProxy; its only policy reads the two API users\' secrets and decrypts them with this construct\'s key.',
      })),
    );
    return proxy;
  }

  private acknowledgeProxyIngress(proxySg: ec2.SecurityGroup): void {
    const marker = `from ${Names.nodeUniqueId(proxySg.node)}:`;
    for (const sg of this.target.connections.securityGroups) {
      for (const child of sg.node.children) {
        if (!child.node.id.startsWith(marker) || !(child instanceof ec2.CfnSecurityGroupIngress)) continue;
        Validations.of(child).acknowledge(
          ...['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'].flatMap((pack) => ['EC2RestrictedCommonPorts', 'EC2RestrictedSSH'].map((rule) => ({
            id: `${pack}-${rule}`,
            reason: 'Opened by aws-cdk-lib ProxyTarget from the proxy security group only, on the database port (a deploy-time reference the rule cannot read).',
          }))),
        );
      }
    }
  }

  private selectSubnets(props: SecureDbApiProps): ec2.SubnetSelection {
    if (props.vpcSubnets) {
      const selected = props.vpc.selectSubnets(props.vpcSubnets);
      if (selected.subnets.length === 0) throw new Error('SecureDbApi: vpcSubnets selects no subnets');
      if (selected.hasPublic) throw new Error('SecureDbApi: the proxy and the functions must run in private subnets, not public ones');
      return props.vpcSubnets;
    }
    if (props.vpc.privateSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    if (props.vpc.isolatedSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    throw new Error('SecureDbApi: the VPC has no private or isolated subnets; the proxy and functions never run in public subnets');
  }

  private hostedRotation(options: secretsmanager.SingleUserHostedRotationOptions): secretsmanager.HostedRotation {
    switch (this.target.engine) {
      case DatabaseEngineFamily.POSTGRESQL:
        return secretsmanager.HostedRotation.postgreSqlSingleUser(options);
      case DatabaseEngineFamily.MARIADB:
        return secretsmanager.HostedRotation.mariaDbSingleUser(options);
      default:
        return secretsmanager.HostedRotation.mysqlSingleUser(options);
    }
  }
}

