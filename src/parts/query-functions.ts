import { Names } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ApiEndpoint } from './api-endpoint';
import { ApiContext } from './context';
import { DEFAULTS } from './defaults';
import { ProxyAccess } from './proxy-access';
import { HttpBackend, MethodAccess } from '../api/rest-api';
import { FargateBackend } from '../backend/fargate-backend';
import { QueryBackend, QueryBackendKind } from '../backend/query-backend';
import { proxyRuntimeConfig, QueryFunction, QueryFunctionProps } from '../database/query-function';
import { MonitoredFunction } from '../monitoring/monitoring';
import { GraphqlConfig, QueryConfig } from '../runtime/config';
import { IDENTITY_HEADERS } from '../runtime/container/identity-headers';

/** The routes to serve, checked and authorized. */
export interface ServedRoutes {
  readonly configs: QueryConfig[];
  readonly graphql?: GraphqlConfig;
  /** How each method is authorized (unauthenticated routes override `unauthenticated`). */
  readonly access: MethodAccess;
  readonly isOpen: (q: QueryConfig) => boolean;
}

/**
 * What serves the routes: one least-privilege function per access level, or the container backend behind
 * a VPC link, and the GraphQL function; each integrated with its routes and listed for monitoring.
 */
export class QueryFunctions {
  /** Whether query functions run: unless a container backend serves every route (GraphQL stays on its function). */
  public static needed(props: { readonly backend?: QueryBackend; readonly graphql?: unknown }): boolean {
    return (props.backend ?? QueryBackend.lambda()).kind === QueryBackendKind.LAMBDA || props.graphql !== undefined;
  }

  /** The query functions: the reader, then the writer when there are write queries, then GraphQL. */
  public readonly functions: lambda.IFunction[] = [];
  public readonly monitored: MonitoredFunction[] = [];
  /** The Fargate service of QueryBackend.fargate, once built. */
  public containerBackend?: FargateBackend;

  constructor(private readonly ctx: ApiContext, private readonly access: ProxyAccess, private readonly endpoint: ApiEndpoint) {}

  /** Builds what serves `routes` and integrates it with the REST API. */
  public serve(routes: ServedRoutes): void {
    const { configs, graphql, access, isOpen } = routes;
    const { readerUser, writerUser } = this.ctx;
    const restApi = this.endpoint.restApi;
    const backend = this.ctx.props.backend ?? QueryBackend.lambda();
    const authorization = access.authorization;
    if (backend.kind !== QueryBackendKind.LAMBDA) {
      if (authorization.authorizationType === apigw.AuthorizationType.COGNITO) {
        throw new Error(`SecureDbApi ${this.ctx.scope.node.path}: the container backend receives the caller's claims as one JSON header, which only the JWT authorizer provides; `
          + 'verify Cognito tokens with ApiAuthorization.jwt({ issuer: userPool issuer URL, audiences: [app client id] })');
      }
      const http = this.httpBackend(backend, configs);
      const identity = identityParameters(authorization.authorizationType);
      for (const q of configs) {
        const unauthenticated = isOpen(q);
        restApi.addBackendQuery(q, http, { ...access, unauthenticated }, unauthenticated ? identityParameters(undefined) : identity);
      }
    }
    for (const level of ['read', 'write'] as const) {
      const queries = configs.filter((q) => q.access === level);
      if (queries.length === 0 || backend.kind !== QueryBackendKind.LAMBDA) continue;
      const fn = this.queryFunction(level === 'read' ? 'Reader' : 'Writer', {
        access: level,
        dbUser: level === 'read' ? readerUser : writerUser,
        queries,
      });
      for (const q of queries) restApi.addQuery(q, fn, { ...access, unauthenticated: isOpen(q) });
      restApi.restrictInvokePermission(fn);
    }
    if (graphql) {
      const hasWrites = configs.some((q) => q.access === 'write');
      const fn = this.queryFunction('GraphQL', {
        access: 'graphql',
        dbUser: readerUser,
        writeDbUser: hasWrites ? writerUser : undefined,
        queries: configs,
        graphql,
      });
      restApi.addFunctionRoute('POST', graphql.path, 'graphql', fn, access);
      restApi.restrictInvokePermission(fn);
    }
  }

  /** One query function, acknowledged and monitored. */
  private queryFunction(id: string, spec: Pick<QueryFunctionProps, 'access' | 'dbUser' | 'writeDbUser' | 'queries' | 'graphql'>): lambda.Function {
    const { scope, props, target } = this.ctx;
    const securityGroup: ec2.ISecurityGroup | undefined = this.access.securityGroup;
    if (!securityGroup) throw new Error(`SecureDbApi ${scope.node.path}: no security group for the ${id} function`);
    const fn = new QueryFunction(scope, id, {
      ...spec,
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
      memorySize: props.memorySize ?? DEFAULTS.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrency,
      rlsClaims: props.rowLevelSecurityClaims,
      serviceName: this.ctx.apiName,
    });
    this.functions.push(fn.function);
    this.monitored.push({
      label: id,
      function: fn.function,
      timeout: fn.function.timeout ?? DEFAULTS.functionTimeout,
      reservedConcurrency: props.reservedConcurrency,
    });
    return fn.function;
  }

  /** The VPC link to the container backend (creating the Fargate service when asked). */
  private httpBackend(backend: QueryBackend, configs: QueryConfig[]): HttpBackend {
    const { scope, props, target, readerUser, writerUser } = this.ctx;
    let loadBalancer: elbv2.INetworkLoadBalancer;
    let domainName: string;
    if (backend.kind === QueryBackendKind.FARGATE) {
      const options = backend.fargateOptions!;
      const hasWrites = configs.some((q) => q.access === 'write');
      const fargate = new FargateBackend(scope, 'Backend', {
        ...options,
        config: proxyRuntimeConfig({
          engine: target.engine,
          port: this.ctx.port,
          databaseName: target.databaseName,
          user: readerUser,
          writeUser: hasWrites ? writerUser : undefined,
          queries: configs,
          rlsClaims: props.rowLevelSecurityClaims,
        }),
        users: hasWrites ? [readerUser, writerUser] : [readerUser],
        proxy: this.access.proxy,
        proxyConnections: this.access.connections,
        proxyPort: this.ctx.port,
        vpc: this.ctx.vpc,
        vpcSubnets: this.ctx.vpcSubnets,
        encryptionKey: this.ctx.encryptionKey,
        logRetention: this.ctx.logRetention,
        removalPolicy: this.ctx.removalPolicy,
        serviceName: this.ctx.apiName,
      });
      this.containerBackend = fargate;
      loadBalancer = fargate.loadBalancer;
      domainName = options.domainName;
    } else {
      loadBalancer = backend.loadBalancerOptions!.loadBalancer;
      domainName = backend.loadBalancerOptions!.domainName;
    }
    const vpcLink = new apigw.VpcLink(scope, 'VpcLink', {
      vpcLinkName: Names.uniqueResourceName(scope, { maxLength: 128, separator: '-' }),
      targets: [loadBalancer],
      description: 'SecureDbApi: the private query backend',
    });
    return { vpcLink, domainName };
  }
}

/**
 * The identity headers API Gateway sets on requests to the container backend, from the authorizer's
 * verified context; static values where there is no identity, so a client's own headers never pass.
 */
function identityParameters(type: apigw.AuthorizationType | undefined): Record<string, string> {
  const h = (name: string) => `integration.request.header.${name}`;
  return {
    [h(IDENTITY_HEADERS.requestId)]: 'context.requestId',
    [h(IDENTITY_HEADERS.claims)]: type === apigw.AuthorizationType.CUSTOM ? 'context.authorizer.claims' : "'{}'",
    [h(IDENTITY_HEADERS.principal)]: type === apigw.AuthorizationType.IAM ? 'context.identity.userArn'
      : type === apigw.AuthorizationType.CUSTOM ? 'context.authorizer.principalId' : "'anonymous'",
  };
}
