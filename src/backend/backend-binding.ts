import { Names } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { FargateBackend } from './fargate-backend';
import type { FargateBackendOptions, NetworkLoadBalancerBackendOptions } from './query-backend';
import type { HttpBackend, MethodAccess, QueryRestApi } from '../api/rest-api';
import { proxyRuntimeConfig, QueryFunctionProps } from '../database/query-function';
import type { MonitoredContainerService } from '../monitoring/monitoring-props';
import { ApiContext, apiError } from '../parts/context';
import type { QueryConfig } from '../shared/config';
import { IDENTITY_HEADERS } from '../shared/identity-headers';

/** What a query function is asked to serve (the rest comes from the API's context). */
export type QueryFunctionSpec = Pick<QueryFunctionProps, 'access' | 'dbUser' | 'writeDbUser' | 'queries' | 'graphql' | 'idempotency'>;

/** What `QueryBackend._bind` gets: the REST routes to serve and what serving them needs. */
export interface QueryBackendBindOptions {
  readonly ctx: ApiContext;
  readonly proxy: rds.IDatabaseProxy;
  readonly proxyConnections: ec2.Connections;
  readonly restApi: QueryRestApi;
  /** The REST routes' queries, checked. */
  readonly configs: QueryConfig[];
  /** How each method is authorized (unauthenticated routes override `unauthenticated`). */
  readonly access: MethodAccess;
  readonly isOpen: (q: QueryConfig) => boolean;
  /** Creates one query function, acknowledged and monitored. */
  readonly queryFunction: (id: string, spec: QueryFunctionSpec) => lambda.Function;
}

/** What a bound backend serves with, to monitor. */
export interface QueryBackendConfig {
  /** The Fargate service, when the backend runs one. */
  readonly container?: MonitoredContainerService;
}

/** How one kind of backend integrates the REST routes. */
export interface BackendBinding {
  /** Whether the REST routes are served by query functions (which then need their security group). */
  readonly servesWithFunctions: boolean;
  /** Whether the backend runs tasks in the API's subnets (which need ECR, S3 and Logs there). */
  readonly runsTasks: boolean;
  bind(scope: Construct, options: QueryBackendBindOptions): QueryBackendConfig;
}

/** One function per access level: the reader, and the writer when there are write queries. */
export class LambdaBinding implements BackendBinding {
  public readonly servesWithFunctions = true;
  public readonly runsTasks = false;

  public bind(_scope: Construct, options: QueryBackendBindOptions): QueryBackendConfig {
    const { ctx, configs, access, isOpen, restApi } = options;
    for (const level of ['read', 'write'] as const) {
      const queries = configs.filter((q) => q.access === level);
      if (queries.length === 0) continue;
      const fn = options.queryFunction(level === 'read' ? 'Reader' : 'Writer', {
        access: level,
        dbUser: level === 'read' ? ctx.readerUser : ctx.writerUser,
        queries,
        idempotency: level === 'write' ? ctx.idempotency : undefined,
      });
      for (const q of queries) restApi.addQuery(q, fn, { ...access, unauthenticated: isOpen(q) });
    }
    return {};
  }
}

/** The load balancer a container backend is reached at, and what to monitor. */
interface LoadBalancerTarget {
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  readonly domainName: string;
  readonly container?: MonitoredContainerService;
}

/**
 * A private container backend behind a VPC link: API Gateway passes the caller's verified identity in
 * headers it sets itself.
 */
abstract class VpcLinkBinding implements BackendBinding {
  public readonly servesWithFunctions = false;
  public abstract readonly runsTasks: boolean;

  public bind(scope: Construct, options: QueryBackendBindOptions): QueryBackendConfig {
    const { configs, access, isOpen, restApi } = options;
    const authorizationType = access.authorization.authorizationType;
    if (authorizationType === apigw.AuthorizationType.COGNITO) {
      throw apiError(scope, 'the container backend receives the caller\'s claims as one JSON header, which only the JWT authorizer provides; '
        + 'verify Cognito tokens with ApiAuthorization.jwt({ issuer: userPool issuer URL, audiences: [app client id] })');
    }
    const target = this.loadBalancer(scope, options);
    const vpcLink = new apigw.VpcLink(scope, 'VpcLink', {
      vpcLinkName: Names.uniqueResourceName(scope, { maxLength: 128, separator: '-' }),
      targets: [target.loadBalancer],
      description: 'SecureDbApi: the private query backend',
    });
    const http: HttpBackend = { vpcLink, domainName: target.domainName };
    const identity = identityParameters(authorizationType);
    for (const q of configs) {
      const unauthenticated = isOpen(q);
      restApi.addBackendQuery(q, http, { ...access, unauthenticated }, unauthenticated ? identityParameters(undefined) : identity);
    }
    return { container: target.container };
  }

  protected abstract loadBalancer(scope: Construct, options: QueryBackendBindOptions): LoadBalancerTarget;
}

/** The query module's container on ECS Fargate, behind an internal NLB. */
export class FargateBinding extends VpcLinkBinding {
  public readonly runsTasks = true;

  constructor(private readonly options: FargateBackendOptions) {
    super();
    checkDomainName(options.domainName);
    for (const [name, value, min, max] of [
      ['cpu', options.cpu, 256, 16384],
      ['memoryLimitMiB', options.memoryLimitMiB, 512, 122880],
      ['desiredCount', options.desiredCount, 1, 1000],
      ['poolSize', options.poolSize, 1, 1000],
    ] as const) {
      if (value !== undefined && !(Number.isSafeInteger(value) && value >= min && value <= max)) {
        throw new Error(`QueryBackend.fargate: ${name} must be a whole number from ${min} to ${max}`);
      }
    }
  }

  protected loadBalancer(scope: Construct, bind: QueryBackendBindOptions): LoadBalancerTarget {
    const { ctx, configs } = bind;
    const hasWrites = configs.some((q) => q.access === 'write');
    const fargate = new FargateBackend(scope, 'Backend', {
      ...this.options,
      config: proxyRuntimeConfig({
        engine: ctx.target.engine,
        port: ctx.port,
        databaseName: ctx.target.databaseName,
        user: ctx.readerUser,
        writeUser: hasWrites ? ctx.writerUser : undefined,
        queries: configs,
        rlsClaims: ctx.props.rowLevelSecurityClaims,
      }),
      users: hasWrites ? [ctx.readerUser, ctx.writerUser] : [ctx.readerUser],
      proxy: bind.proxy,
      proxyConnections: bind.proxyConnections,
      proxyPort: ctx.port,
      vpc: ctx.vpc,
      vpcSubnets: ctx.vpcSubnets,
      encryptionKey: ctx.encryptionKey,
      logRetention: ctx.logRetention,
      removalPolicy: ctx.removalPolicy,
      serviceName: ctx.apiName,
      idempotency: hasWrites ? ctx.idempotency : undefined,
      cursorKey: configs.some((q) => q.pagination !== undefined) ? ctx.cursorKey() : undefined,
    });
    return { loadBalancer: fargate.loadBalancer, domainName: this.options.domainName, container: fargate };
  }
}

/** Your own internal NLB. */
export class NetworkLoadBalancerBinding extends VpcLinkBinding {
  public readonly runsTasks = false;

  constructor(private readonly options: NetworkLoadBalancerBackendOptions) {
    super();
    checkDomainName(options.domainName);
  }

  protected loadBalancer(): LoadBalancerTarget {
    return { loadBalancer: this.options.loadBalancer, domainName: this.options.domainName };
  }
}

/** API Gateway calls the load balancer by this name and verifies its certificate against it. */
function checkDomainName(domain: string | undefined): void {
  if (domain !== undefined && !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i.test(domain)) {
    throw new Error(`QueryBackend: domainName "${domain}" is not a host name`);
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
