import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BackendBinding, FargateBinding, LambdaBinding, NetworkLoadBalancerBinding, QueryBackendBindOptions, QueryBackendConfig } from './backend-binding';

/** Options of `QueryBackend.fargate`. */
export interface FargateBackendOptions {
  /**
   * The host name API Gateway calls the load balancer by. API Gateway verifies the load balancer's
   * certificate against it, so `certificate` must cover it; it need not resolve publicly.
   */
  readonly domainName: string;
  /** The load balancer's TLS certificate (ACM), for `domainName`. */
  readonly certificate: acm.ICertificate;
  /**
   * CPU units of each task.
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Memory of each task, in MiB.
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
  /**
   * Tasks to run (spread over the subnets' zones).
   * @default 2
   */
  readonly desiredCount?: number;
  /**
   * Database connections each task keeps per access level (reader, writer); requests beyond them wait
   * in a bounded queue, then get 503.
   * @default 10
   */
  readonly poolSize?: number;
  /**
   * Where the load balancer writes its access logs: your log archive bucket (HIPAA, NIST 800-53, PCI DSS
   * and Control Tower all require NLB access logs). For a bucket of this app the construct adds the
   * log delivery permission; an imported bucket's policy must allow `delivery.logs.amazonaws.com`.
   */
  readonly accessLogBucket: s3.IBucket;
}

/** Options of `QueryBackend.networkLoadBalancer`. */
export interface NetworkLoadBalancerBackendOptions {
  /**
   * Your internal Network Load Balancer, with a TLS listener on 443 in front of servers that run the
   * query module's container image (or an equivalent that trusts the identity headers only from it).
   */
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  /** The host name its certificate covers; API Gateway calls `https://<domainName>/<path>`. */
  readonly domainName: string;
}

/** Kinds of backends. */
export enum QueryBackendKind {
  /** One Lambda function per access level. */
  LAMBDA = 'LAMBDA',
  /** An ECS Fargate service behind an internal NLB, reached through a VPC link. */
  FARGATE = 'FARGATE',
  /** Your own internal NLB, reached through a VPC link. */
  NETWORK_LOAD_BALANCER = 'NETWORK_LOAD_BALANCER',
}

/** What serves the REST routes: Lambda functions (default) or a private container backend. */
// Like DatabaseTarget, each kind binds itself to the API (`_bind`, backend-binding.ts): nothing outside
// switches on `kind`, which stays for callers that read it.
export class QueryBackend {
  /** One function per access level (the default). */
  public static lambda(): QueryBackend {
    return new QueryBackend(QueryBackendKind.LAMBDA, new LambdaBinding());
  }

  /**
   * The query module as a container on ECS Fargate in the API's private subnets, behind an internal
   * Network Load Balancer (TLS listener) that only API Gateway's VPC link can reach. Its task role can
   * only `rds-db:connect` as the reader and the writer, like the functions.
   */
  public static fargate(options: FargateBackendOptions): QueryBackend {
    return new QueryBackend(QueryBackendKind.FARGATE, new FargateBinding(options), options);
  }

  /** Your own internal Network Load Balancer, reached through a VPC link. */
  public static networkLoadBalancer(options: NetworkLoadBalancerBackendOptions): QueryBackend {
    return new QueryBackend(QueryBackendKind.NETWORK_LOAD_BALANCER, new NetworkLoadBalancerBinding(options), undefined, options);
  }

  private constructor(
    /** Which backend. */
    public readonly kind: QueryBackendKind,
    private readonly binding: BackendBinding,
    /** Fargate options. */
    public readonly fargateOptions?: FargateBackendOptions,
    /** Load balancer options. */
    public readonly loadBalancerOptions?: NetworkLoadBalancerBackendOptions,
  ) {}

  /**
   * Whether query functions serve the REST routes (they then get their security group).
   * @internal
   */
  public get _servesWithFunctions(): boolean {
    return this.binding.servesWithFunctions;
  }

  /**
   * Whether the backend runs tasks in the API's subnets (they need ECR, S3 and CloudWatch Logs there).
   * @internal
   */
  public get _runsTasks(): boolean {
    return this.binding.runsTasks;
  }

  /**
   * Serves the REST routes: creates what runs the queries, integrates each route, and returns what to monitor.
   * @internal
   */
  public _bind(scope: Construct, options: QueryBackendBindOptions): QueryBackendConfig {
    return this.binding.bind(scope, options);
  }
}
