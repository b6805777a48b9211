import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ApiEndpoint } from './api-endpoint';
import { ApiContext, apiError } from './context';
import { DEFAULTS } from './defaults';
import { ProxyAccess } from './proxy-access';
import { MethodAccess } from '../api/rest-api';
import { QueryFunctionSpec } from '../backend/backend-binding';
import { QueryBackend } from '../backend/query-backend';
import { QueryFunction } from '../database/query-function';
import { MonitoredContainerService, MonitoredFunction } from '../monitoring/monitoring-props';
import { GraphqlConfig, QueryConfig } from '../shared/config';

/** The routes to serve, checked and authorized. */
export interface ServedRoutes {
  readonly configs: QueryConfig[];
  readonly graphql?: GraphqlConfig;
  /** How each method is authorized (unauthenticated routes override `unauthenticated`). */
  readonly access: MethodAccess;
  readonly isOpen: (q: QueryConfig) => boolean;
}

/**
 * What serves the routes: the backend (`QueryBackend`, one least-privilege function per access level by
 * default) and the GraphQL function; each integrated with its routes and listed for monitoring.
 */
export class QueryFunctions {
  /** Whether query functions run: unless a container backend serves every route (GraphQL stays on its function). */
  public static needed(props: { readonly backend?: QueryBackend; readonly graphql?: unknown }): boolean {
    return (props.backend ?? QueryBackend.lambda())._servesWithFunctions || props.graphql !== undefined;
  }

  /** The query functions: the reader, then the writer when there are write queries, then GraphQL. */
  public readonly functions: lambda.IFunction[] = [];
  public readonly monitored: MonitoredFunction[] = [];
  /** The container service of the backend, when it runs one. */
  public container?: MonitoredContainerService;

  constructor(private readonly ctx: ApiContext, private readonly access: ProxyAccess, private readonly endpoint: ApiEndpoint) {}

  /** Builds what serves `routes` and integrates it with the REST API. */
  public serve(routes: ServedRoutes): void {
    const { configs, graphql, access, isOpen } = routes;
    const restApi = this.endpoint.restApi;
    const backend = this.ctx.props.backend ?? QueryBackend.lambda();
    const bound = backend._bind(this.ctx.scope, {
      ctx: this.ctx,
      proxy: this.access.proxy,
      proxyConnections: this.access.connections,
      restApi,
      configs,
      access,
      isOpen,
      queryFunction: (id, spec) => this.queryFunction(id, spec),
    });
    this.container = bound.container;
    if (graphql) {
      const hasWrites = configs.some((q) => q.access === 'write');
      const fn = this.queryFunction('GraphQL', {
        access: 'graphql',
        dbUser: this.ctx.readerUser,
        writeDbUser: hasWrites ? this.ctx.writerUser : undefined,
        queries: configs,
        graphql,
      });
      restApi.addFunctionRoute('POST', graphql.path, 'graphql', fn, access);
    }
  }

  /** One query function, acknowledged and monitored. */
  private queryFunction(id: string, spec: QueryFunctionSpec): lambda.Function {
    const { scope, props, target } = this.ctx;
    const securityGroup: ec2.ISecurityGroup | undefined = this.access.securityGroup;
    if (!securityGroup) throw apiError(scope, `no security group for the ${id} function`);
    // Functions that serve paged queries read the cursor signing key (created with the first of them).
    const paged = spec.queries.some((q) => q.access === 'read' && q.pagination !== undefined);
    const fn = new QueryFunction(scope, id, {
      ...spec,
      cursorKey: paged ? this.ctx.cursorKey() : undefined,
      engine: target.engine,
      databaseName: target.databaseName,
      port: this.ctx.port,
      proxy: this.access.proxy,
      vpc: this.ctx.vpc,
      vpcSubnets: this.ctx.vpcSubnets,
      securityGroup,
      encryptionKey: this.ctx.encryptionKey,
      logRetention: this.ctx.logRetention,
      removalPolicy: this.ctx.removalPolicy,
      memorySize: props.functions?.memorySize ?? DEFAULTS.memorySize,
      reservedConcurrentExecutions: props.functions?.reservedConcurrency,
      rlsClaims: props.rowLevelSecurityClaims,
      serviceName: this.ctx.apiName,
    });
    this.functions.push(fn.function);
    this.monitored.push({
      label: id,
      function: fn.function,
      timeout: fn.function.timeout ?? DEFAULTS.functionTimeout,
      reservedConcurrency: props.functions?.reservedConcurrency,
    });
    return fn.function;
  }
}
