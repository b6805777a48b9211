import { Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { familyOfEngineType } from './engines';

/** Database engines the construct serves. */
export enum DatabaseEngineFamily {
  /** PostgreSQL and Aurora PostgreSQL (driver: pg). */
  POSTGRESQL = 'postgres',
  /** MySQL and Aurora MySQL (driver: mysql2). */
  MYSQL = 'mysql',
  /** MariaDB (driver: mysql2). */
  MARIADB = 'mariadb',
  /** RDS for SQL Server (driver: tedious). */
  SQL_SERVER = 'sqlserver',
}

/** Options for a database target. */
export interface DatabaseTargetOptions {
  /** The database (schema) the queries run in. */
  readonly databaseName: string;
  /**
   * The engine. Required for imported databases whose engine the construct cannot read; when given
   * for a database that knows its engine, the two must agree.
   * @default - read from the instance or cluster
   */
  readonly engine?: DatabaseEngineFamily;
  /**
   * The port the database listens on, for an imported cluster that does not know it (the proxy itself
   * always listens on the engine's default port). A database defined in the app, or imported with its
   * port, tells its own (`Endpoint.Port`), and a different value here is refused.
   * @default - the instance's or cluster's own port; required for an imported cluster without one
   */
  readonly port?: number;
}

/** What a target tells the construct. */
export interface DatabaseTargetConfig {
  readonly engine: DatabaseEngineFamily;
  readonly databaseName: string;
  /**
   * The database's own port (the security group rules of rotation and the user bootstrap open it); a
   * token for a database defined in the app (`Endpoint.Port`).
   */
  readonly port: number;
  readonly proxyTarget: rds.ProxyTarget;
  /** The database's security groups, opened to the proxy and the rotation functions. */
  readonly connections: ec2.Connections;
  /** Where the app users' secrets are attached, so they carry host, port and engine. */
  readonly secretAttachment: secretsmanager.ISecretAttachmentTarget;
  /**
   * The database's own endpoint (the user bootstrap connects here, not through the proxy).
   * @default - unknown (an imported cluster without its endpoint address and port)
   */
  readonly endpoint?: rds.Endpoint;
  /**
   * The master user's secret, when the cluster or instance was created with one in this app.
   * @default - unknown (imported databases)
   */
  readonly masterSecret?: secretsmanager.ISecret;
  /**
   * The cluster's resource identifier (`cluster-…`) or the instance's DbiResourceId (`db-…`), which
   * IAM database authentication names in `rds-db:connect` ARNs.
   * @default - unknown (an imported database without it)
   */
  readonly resourceId?: string;
  /**
   * Whether IAM database authentication is enabled, when the database is defined in this app.
   * @default - unknown (imported)
   */
  readonly iamAuthentication?: boolean;
}

function resolveEngine(what: string, engineType: string | undefined, options: DatabaseTargetOptions): DatabaseEngineFamily {
  const detected = familyOfEngineType(engineType);
  if (engineType !== undefined && detected === undefined) {
    throw new Error(`${what} runs engine "${engineType}", which SecureDbApi does not support (PostgreSQL, MySQL, MariaDB, SQL Server)`);
  }
  if (detected && options.engine && detected !== options.engine) {
    throw new Error(`${what} runs ${detected}, but the target options say ${options.engine}`);
  }
  const engine = options.engine ?? detected;
  if (!engine) throw new Error(`${what} does not say which engine it runs: set DatabaseTargetOptions.engine`);
  if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(options.databaseName)) {
    throw new Error(`databaseName "${options.databaseName}" is not a valid database name`);
  }
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new Error(`port ${options.port} is not a TCP port`);
  }
  return engine;
}

/**
 * The port the database listens on: its own (a token for one defined in the app), else `options.port`.
 * Never the engine's default: a database moved off it (cdk-nag's RDS11) would be unreachable.
 */
function databasePort(what: string, connections: ec2.Connections, options: DatabaseTargetOptions): number {
  const own = connections.defaultPort;
  if (own) {
    const port = own.toRuleJson().fromPort as number;
    if (options.port !== undefined && !Token.isUnresolved(port) && port !== options.port) {
      throw new Error(`${what} listens on port ${port}, but the target options say ${options.port}`);
    }
    return port;
  }
  if (options.port === undefined) {
    throw new Error(`${what} does not say which port it listens on: import it with its port, or set DatabaseTargetOptions.port`);
  }
  return options.port;
}

/** The database behind the API, reached through an RDS Proxy. */
export abstract class DatabaseTarget {
  /** An RDS DB instance (created here or imported with its engine). */
  public static fromInstance(instance: rds.IDatabaseInstance, options: DatabaseTargetOptions): DatabaseTarget {
    return new RdsTarget('Instance', instance, instance.engine?.engineType, () => rds.ProxyTarget.fromInstance(instance), instance, options,
      () => instance.instanceEndpoint, 'secret' in instance ? (instance.secret as secretsmanager.ISecret | undefined) : undefined,
      () => instance.instanceResourceId);
  }

  /** An Aurora DB cluster, including Aurora Serverless v2. */
  public static fromCluster(cluster: rds.IDatabaseCluster, options: DatabaseTargetOptions): DatabaseTarget {
    return new RdsTarget('Cluster', cluster, cluster.engine?.engineType, () => rds.ProxyTarget.fromCluster(cluster), cluster, options,
      () => cluster.clusterEndpoint, 'secret' in cluster ? (cluster.secret as secretsmanager.ISecret | undefined) : undefined,
      () => cluster.clusterResourceIdentifier);
  }

  /** Resolves the target. Called once by the construct. */
  public abstract bind(): DatabaseTargetConfig;

  /** A metric of the database (namespace AWS/RDS), for alarms and the dashboard. */
  public abstract metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** The parts of an instance or a cluster a target needs; both L2 interfaces provide them. */
interface RdsDatabase {
  readonly node: { readonly path: string };
  readonly connections: ec2.Connections;
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

class RdsTarget extends DatabaseTarget {
  constructor(
    private readonly what: string,
    private readonly db: RdsDatabase,
    private readonly engineType: string | undefined,
    private readonly proxyTarget: () => rds.ProxyTarget,
    private readonly secretAttachment: secretsmanager.ISecretAttachmentTarget,
    private readonly options: DatabaseTargetOptions,
    private readonly endpoint: () => rds.Endpoint,
    private readonly masterSecret: secretsmanager.ISecret | undefined,
    private readonly resourceId: () => string | undefined,
  ) {
    super();
  }

  public bind(): DatabaseTargetConfig {
    const what = `${this.what} ${this.db.node.path}`;
    const engine = resolveEngine(what, this.engineType, this.options);
    return {
      engine,
      databaseName: this.options.databaseName,
      port: databasePort(what, this.db.connections, this.options),
      proxyTarget: this.proxyTarget(),
      connections: this.db.connections,
      secretAttachment: this.secretAttachment,
      endpoint: this.tryEndpoint(),
      masterSecret: this.masterSecret,
      resourceId: this.tryResourceId(),
      iamAuthentication: this.iamAuthentication(),
    };
  }

  /** An imported cluster throws when asked for an endpoint it was not given. */
  private tryEndpoint(): rds.Endpoint | undefined {
    try {
      return this.endpoint();
    } catch {
      return undefined;
    }
  }

  /** Imported databases throw when asked for an identifier they were not given. */
  private tryResourceId(): string | undefined {
    try {
      return this.resourceId();
    } catch {
      return undefined;
    }
  }

  private iamAuthentication(): boolean | undefined {
    const resource = (this.db as unknown as Construct).node?.defaultChild;
    if (resource instanceof rds.CfnDBCluster || resource instanceof rds.CfnDBInstance) return resource.enableIamDatabaseAuthentication === true;
    return undefined;
  }

  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.db.metric(metricName, props);
  }
}
