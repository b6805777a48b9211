import { AspectPriority, Aspects, Names } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { QueryBackend } from './backend/query-backend';
import { ENGINES } from './database/engines';
import { QueryOptions } from './database/query';
import { IdempotencyTable } from './idempotency/idempotency-table';
import { CursorKeySecret } from './pagination/cursor-key-secret';
import { ApiEndpoint } from './parts/api-endpoint';
import { ApiMonitoring } from './parts/api-monitoring';
import { ApiContext, namingConstruct } from './parts/context';
import { claimUsers, DatabaseUsersPart, usersWillExist } from './parts/database-users';
import { DEFAULTS } from './parts/defaults';
import { createEncryptionKey } from './parts/encryption-key';
import { noteVpcEndpoints, selectSubnets } from './parts/network';
import { OpenApiPublishing } from './parts/openapi-publishing';
import { ProxyAccess } from './parts/proxy-access';
import { QueryFunctions } from './parts/query-functions';
import { QueryRegistry, Route } from './parts/query-registry';
import { claimApiName, validateProps } from './parts/validate-props';
import { SecureDbApiKeyOptions, SecureDbApiProps } from './secure-db-api-props';
import { routeKeyOf } from './shared/config';

export * from './secure-db-api-props';

/**
 * Publishes named SQL queries as an API Gateway REST API, securely: IAM-authorized routes with
 * request validation, one least-privilege function per access level connecting with short-lived IAM
 * tokens through an RDS Proxy that requires IAM auth and TLS, KMS-encrypted rotating secrets, and
 * encrypted logs.
 */
// Composed of parts (src/parts/), each owning one concern and its acknowledgements; all of them create
// their resources in this construct's scope, so construct paths and logical ids do not depend on them.
export class SecureDbApi extends Construct {
  /**
   * The REST API. Its stage is `api.deploymentStage`. The construct makes the deployment itself (so
   * `api.latestDeployment` is undefined) and replaces it whenever anything it holds changes, including
   * methods, gateway responses and authorizers added through this property and escape-hatch overrides.
   */
  public readonly api: apigw.RestApi;
  /** The RDS Proxy every query goes through. */
  public readonly proxy: rds.IDatabaseProxy;
  /**
   * The query functions: the reader, then the writer when there are write queries. They are created when
   * the app is synthesized, once every `addQuery` call is in, since each function's asset holds its routes.
   */
  public readonly functions: lambda.IFunction[];
  /**
   * The reader's and the writer's database secrets (KMS-encrypted, rotated once their users exist: see
   * `DatabaseUsersOptions.create`); empty with an existing proxy.
   */
  public readonly secrets: secretsmanager.ISecret[];
  /**
   * The query functions' security group, which the proxy accepts connections from (the Fargate tasks have
   * a group of their own).
   * @default - undefined when no query function runs: a container backend without GraphQL
   */
  public readonly securityGroup?: ec2.ISecurityGroup;
  /** The key that encrypts the secrets, the log groups and the alarm topic. */
  public readonly encryptionKey: kms.IKey;
  /** The topic alarms publish to, when no other alarm action was given. Subscribe your on-call here. */
  public readonly alarmTopic?: sns.ITopic;
  /** The alarms (created when the app is synthesized, with the functions). */
  public readonly alarms: cloudwatch.IAlarm[];
  /**
   * The idempotency store of the write routes (`SecureDbApiProps.idempotency`).
   * @default - undefined when idempotency is off
   */
  public readonly idempotencyTable?: dynamodb.ITable;

  private readonly endpoint: ApiEndpoint;
  private readonly queries: QueryRegistry;
  private readonly monitoring: ApiMonitoring;
  private readonly openApi: OpenApiPublishing;
  private built = false;
  private readonly noteCursorKeyEndpoint: (paged: boolean) => void;

  constructor(scope: Construct, id: string, givenProps: SecureDbApiProps) {
    super(scope, id);
    // Every error names this construct, also those of the parts and of aws-cdk-lib it calls.
    try {
      const target = givenProps.database.bind();
      const props = validateProps(this, givenProps, target);
      if (props.apiName !== undefined) claimApiName(this, props.apiName);
      const users = claimUsers(this, props, target);
      const vpcSubnets = selectSubnets(this, props);
      const endToEndIam = ProxyAccess.endToEndIam(this, props, target);
      const removalPolicy = props.removalPolicy ?? DEFAULTS.removalPolicy;
      const key = createEncryptionKey(this, removalPolicy);
      this.encryptionKey = key;
      const idempotency = props.idempotency
        ? new IdempotencyTable(this, 'Idempotency', { ...props.idempotency, encryptionKey: key, removalPolicy })
        : undefined;
      this.idempotencyTable = idempotency?.table;
      let cursorKey: CursorKeySecret | undefined;
      this.monitoring = new ApiMonitoring(this, props, target, key);
      this.alarmTopic = this.monitoring.alarmTopic;
      this.alarms = this.monitoring.alarms;

      const ctx: ApiContext = {
        scope: this,
        props,
        target,
        port: ENGINES[target.engine].port,
        ...users,
        vpc: props.vpc,
        vpcSubnets,
        apiName: props.apiName ?? Names.uniqueResourceName(this, { maxLength: 128, separator: '-' }),
        stageName: props.stageName ?? DEFAULTS.stageName,
        logRetention: props.logRetention ?? DEFAULTS.logRetention,
        removalPolicy,
        encryptionKey: key,
        endToEndIam,
        idempotency,
        cursorKey: () => (cursorKey ??= new CursorKeySecret(this, 'CursorKey', { encryptionKey: key, removalPolicy })),
      };
      const access = new ProxyAccess(ctx, { functions: QueryFunctions.needed(props), rotate: usersWillExist(props, target) });
      this.proxy = access.proxy;
      this.secrets = access.secrets;
      this.securityGroup = access.securityGroup;
      const databaseUsers = new DatabaseUsersPart(ctx, access);
      // Paged queries read the cursor key from Secrets Manager; those added later by addQuery get a note of their own.
      const pagedAtFirst = (props.queries ?? []).some((q) => q.pagination !== undefined);
      noteVpcEndpoints(this, props.vpc, vpcSubnets, {
        secretRotation: access.rotationSchedules.length > 0,
        userBootstrap: databaseUsers.bootstraps,
        containerTasks: (props.backend ?? QueryBackend.lambda())._runsTasks,
        idempotencyStore: idempotency !== undefined,
        cursorKey: pagedAtFirst,
      });
      this.noteCursorKeyEndpoint = (paged) => {
        if (paged && !pagedAtFirst) {
          const none = { secretRotation: false, userBootstrap: false, containerTasks: false, idempotencyStore: false };
          noteVpcEndpoints(this, props.vpc, vpcSubnets, { ...none, cursorKey: true });
        }
      };

      this.endpoint = new ApiEndpoint(ctx);
      this.api = this.endpoint.api;
      this.queries = new QueryRegistry({ scope: this, props, target, readerUser: ctx.readerUser, authorization: this.endpoint.authorization });
      this.openApi = new OpenApiPublishing(ctx, this.endpoint, this.queries);
      const serving = new QueryFunctions(ctx, access, this.endpoint);
      this.functions = serving.functions;

      // Functions and routes are built once all queries are known: addQuery may follow the constructor.
      // Aspects run before validation and synthesis: late enough for addQuery, early enough for cdk-nag;
      // a mutating aspect runs when the app is prepared for synthesis, before any read-only checks.
      Aspects.of(this).add({ visit: () => this.buildNamingErrors(ctx, serving) }, { priority: AspectPriority.MUTATING });
    } catch (e) {
      throw namingConstruct(this, e);
    }
  }

  /** `build`, its errors naming this construct (it runs in an aspect, at synthesis). */
  private buildNamingErrors(ctx: ApiContext, serving: QueryFunctions): void {
    this.named(() => this.build(ctx, serving));
  }

  /** Builds the routes, what serves them, the monitoring and the OpenAPI document, once. */
  private build(ctx: ApiContext, serving: QueryFunctions): void {
    if (this.built) return;
    this.built = true;
    this.queries.sealed = true;
    const configs = this.queries.checkAgainstSchema();
    this.noteCursorKeyEndpoint(configs?.some((q) => q.pagination !== undefined) ?? false);
    if (!configs) return;
    const open = this.queries.unauthenticatedRoutes();
    const isOpen = (q: { method: string; path: string }) => open.has(routeKeyOf(q.method, q.path));
    const graphql = this.queries.graphqlConfig(configs);
    const extraRoutes = this.queries.extraRoutes();
    const authorization = this.endpoint.authorization.bind(this, {
      routes: [...extraRoutes, ...configs.filter((q) => !isOpen(q)).map((q) => ({
        method: q.method,
        path: q.path,
        requiredScopes: q.requiredScopes ? [...q.requiredScopes] : undefined,
        requiredGroups: q.requiredGroups ? [...q.requiredGroups] : undefined,
      }))],
      encryptionKey: ctx.encryptionKey,
      logRetention: ctx.logRetention,
      removalPolicy: ctx.removalPolicy,
      vpc: ctx.vpc,
      vpcSubnets: ctx.vpcSubnets,
    });
    const access = { authorization, unauthenticated: false, apiKeyRequired: this.endpoint.usagePlan !== undefined };
    serving.serve({ configs, graphql, access, isOpen });
    if (authorization.authorizerFunction) this.endpoint.restApi.restrictAuthorizerPermission(authorization.authorizerFunction);
    this.endpoint.denyCoveredRoutes(this.routes());
    this.monitoring.create({
      routes: [...configs.map((q) => ({ method: q.method, path: q.path })), ...(graphql ? [{ method: 'POST', path: graphql.path }] : [])],
      functions: serving.monitored,
      container: serving.container,
      proxy: this.proxy,
      apiMetric: (name, metricProps) => this.metric(name, metricProps),
      serviceName: ctx.apiName,
    });
    this.openApi.publish(configs, access);
  }

  /** Every route of the API: the queries', GraphQL's and the served document's. */
  private routes(): Route[] {
    return [...(this.queries.check() ?? []).map((q) => ({ method: q.method, path: q.path })), ...this.queries.extraRoutes()];
  }

  /** The dashboard (created when the app is synthesized, with the functions). */
  public get dashboard(): cloudwatch.Dashboard | undefined {
    return this.monitoring.dashboard;
  }

  /** Publishes one more query at `route` (e.g. `GET /orders/{id}`). */
  public addQuery(route: string, options: QueryOptions): void {
    this.named(() => this.queries.add(route, options));
  }

  /**
   * A new API key of the usage plan (`SecureDbApiProps.usagePlan`). API Gateway generates its value;
   * hand it to the caller out of band.
   */
  public addApiKey(id: string, options: SecureDbApiKeyOptions = {}): apigw.IApiKey {
    return this.named(() => this.endpoint.addApiKey(id, options));
  }

  /**
   * Lets `grantee` call every route (IAM authorization), or only `route` when given.
   *
   * A role, user or group gets a customer-managed policy (one per API), created beside it in its own stack,
   * with the method's exact `execute-api` ARN. API Gateway matches a path parameter only with a wildcard
   * (`GET /orders/{id}` is `.../v1/GET/orders/*`), which cdk-nag's AwsSolutions-IAM5 reports on the
   * caller's side; with a concrete account and region the finding id is plain text that the caller's
   * stack can acknowledge. IAM's `*` also matches `/`: the other routes of the API it would cover
   * (`GET /orders/{id}/items`, `GET /orders/latest`) are denied in the same policy. Other principals are
   * granted as aws-cdk-lib grants.
   */
  public grantInvoke(grantee: iam.IGrantable, route?: string): iam.Grant {
    return this.named(() => this.endpoint.grantInvoke(grantee, route, this.built, () => this.routes()));
  }

  /**
   * Any API Gateway metric of this API's stage. Extra dimensions (e.g. `Method` and `Resource` for one
   * route) are added to ApiName and Stage.
   */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.endpoint.metric(metricName, props);
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

  /**
   * The OpenAPI 3.1 document of the API as it is now: every query's route, parameters, body, result
   * (typed by its declared columns), authorization with scopes, API key, and problem+json errors.
   */
  public openApiDocument(): string {
    return this.named(() => JSON.stringify(this.openApi.document(this.queries.checkAgainstSchema() ?? []), undefined, 2));
  }

  /** `fn`, its errors naming this construct (see namingConstruct). */
  private named<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw namingConstruct(this, e);
    }
  }
}
