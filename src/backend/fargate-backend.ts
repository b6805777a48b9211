import * as path from 'path';
import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { FargateBackendOptions } from './query-backend';
import { DB_HOST_ENV, proxyDbUserArn } from '../database/query-function';
import type { IdempotencyTable } from '../idempotency/idempotency-table';
import type { CursorKeySecret } from '../pagination/cursor-key-secret';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';
import { encryptedLogGroup } from '../security/log-groups';
import { stageAsset } from '../security/private-function';
import type { RuntimeConfig } from '../shared/config';
import { SERVICE_NAME_ENV } from '../shared/metric-names';

/** The server bundle (built by esbuild) and the Dockerfile the package ships. */
const SERVER_BUNDLE = path.join(__dirname, '..', '..', 'assets', 'runtime', 'container', 'main', 'index.js');
const DOCKER_DIR = path.join(__dirname, '..', '..', 'container');

/** The port the server listens on inside the task. */
export const CONTAINER_PORT = 8443;

export interface FargateBackendProps extends FargateBackendOptions {
  /** The route table and both connections (hosts as `${env:…}` references). */
  readonly config: RuntimeConfig;
  readonly users: readonly string[];
  readonly proxy: rds.IDatabaseProxy;
  readonly proxyConnections: ec2.Connections;
  readonly proxyPort: number;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The API's name: the `service` of the server's audit records and metrics. */
  readonly serviceName: string;
  /** The idempotency store of the write routes: its configuration, environment and grants. */
  readonly idempotency?: IdempotencyTable;
  /** The cursor signing key of paged queries: its configuration, environment and grants. */
  readonly cursorKey?: CursorKeySecret;
}

/**
 * The query module on ECS Fargate: tasks in private subnets that reach only the proxy, behind an
 * internal Network Load Balancer whose security group admits no one but PrivateLink (API Gateway's VPC
 * link), TLS from API Gateway to the NLB (ACM certificate, TLS 1.3 policy) and from the NLB to the tasks.
 */
export class FargateBackend extends Construct {

  public readonly loadBalancer: elbv2.NetworkLoadBalancer;
  /** The tasks behind the load balancer's listener (its health metrics). */
  public readonly targetGroup: elbv2.NetworkTargetGroup;
  public readonly service: ecs.FargateService;
  public readonly taskRole: iam.Role;

  constructor(scope: Construct, id: string, props: FargateBackendProps) {
    super(scope, id);
    const idempotency = props.idempotency;
    const cursorKey = props.cursorKey;
    const config: RuntimeConfig = {
      ...props.config,
      ...(idempotency ? { idempotency: idempotency.runtimeConfig() } : {}),
      ...(cursorKey ? { cursorKey: cursorKey.runtimeConfig() } : {}),
    };
    const stage = stageAsset(SERVER_BUNDLE, { 'config.json': JSON.stringify(config) }, {
      'Dockerfile': path.join(DOCKER_DIR, 'Dockerfile'),
      'entrypoint.sh': path.join(DOCKER_DIR, 'entrypoint.sh'),
    });

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Runs queries as database users ${props.users.join(' and ')}`,
    });
    new iam.ManagedPolicy(this, 'TaskPolicy', {
      description: 'Least privilege for the query tasks',
      roles: [this.taskRole],
      statements: [new iam.PolicyStatement({
        sid: 'ConnectAsTheApiUsersThroughProxy',
        actions: ['rds-db:connect'],
        resources: props.users.map((u) => proxyDbUserArn(props.proxy, u)),
      }), ...(idempotency?.statements() ?? []), ...(cursorKey?.statements() ?? [])],
    });
    const logGroup = encryptedLogGroup(this, 'LogGroup', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Pulls the query server image and writes its logs',
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      // A family of its own in the account and region (aws-cdk-lib names it after the construct path only).
      family: Names.uniqueResourceName(this, { maxLength: 255, separator: '-' }),
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      taskRole: this.taskRole,
      executionRole,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      volumes: [{ name: 'tmp' }],
    });
    const container = taskDefinition.addContainer('Server', {
      image: ecs.ContainerImage.fromAsset(stage),
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      readonlyRootFilesystem: true,
      privileged: false,
      user: 'app',
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'query-server' }),
      environment: {
        // Deploy-time values only, nothing secret: the route table is in the image, credentials are IAM tokens.
        [DB_HOST_ENV]: props.proxy.endpoint,
        SECURE_DB_API_POOL_SIZE: String(props.poolSize ?? 10),
        [SERVICE_NAME_ENV]: props.serviceName,
        ...idempotency?.environment(),
        ...cursorKey?.environment(),
      },
      portMappings: [{ containerPort: CONTAINER_PORT, protocol: ecs.Protocol.TCP }],
      stopTimeout: Duration.seconds(30),
    });
    container.addMountPoints({ containerPath: '/tmp', sourceVolume: 'tmp', readOnly: false });
    // The execution role: the image from CDK's asset repository and the log group, in a customer-managed policy.
    new iam.ManagedPolicy(this, 'ExecutionPolicy', {
      description: 'Query server image pull and logs',
      roles: [executionRole],
      statements: [
        new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      ],
    });
    acknowledge(
      executionRole,
      ...inCompliancePacks('IAMNoInlinePolicy', 'aws-cdk-lib grants the image pull (ECR repository of the CDK bootstrap) to the execution role in its default policy.'),
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'ecr:GetAuthorizationToken supports no resource-level permissions; the pull actions are limited to the asset repository.' },
    );
    acknowledge(taskDefinition, {
      id: 'AwsSolutions-ECS2',
      reason: `The environment holds the proxy endpoint and the pool size${idempotency ? ' and the idempotency table\'s name' : ''}${cursorKey ? ' and the cursor key secret\'s ARN' : ''} only; `
        + 'no secret (credentials are IAM tokens, the route table is in the image).',
    });

    const taskSg = new ec2.SecurityGroup(this, 'TaskSecurityGroup', { vpc: props.vpc, allowAllOutbound: false, description: 'Query tasks: only the RDS Proxy and HTTPS to AWS APIs' });
    props.proxyConnections.allowFrom(taskSg, ec2.Port.tcp(props.proxyPort), 'Query tasks');
    // ECR, CloudWatch Logs and STS through NAT or interface endpoints.
    taskSg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (image pull, logs)');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: props.desiredCount ?? 2,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [taskSg],
      assignPublicIp: false,
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      enableExecuteCommand: false,
    });

    const lbSg = new ec2.SecurityGroup(this, 'LoadBalancerSecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'Query load balancer: no inbound rules; PrivateLink (API Gateway VPC link) traffic only',
    });
    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      internetFacing: false,
      securityGroups: [lbSg],
      // VPC link traffic arrives through PrivateLink, exempt from the inbound rules; nothing else gets in.
      enforceSecurityGroupInboundRulesOnPrivateLinkTraffic: false,
      crossZoneEnabled: true,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    taskSg.addIngressRule(lbSg, ec2.Port.tcp(CONTAINER_PORT), 'The query load balancer');
    lbSg.addEgressRule(taskSg, ec2.Port.tcp(CONTAINER_PORT), 'The query tasks');
    const listener = this.loadBalancer.addListener('Tls', {
      port: 443,
      protocol: elbv2.Protocol.TLS,
      certificates: [elbv2.ListenerCertificate.fromCertificateManager(props.certificate)],
      sslPolicy: elbv2.SslPolicy.TLS13_RES,
    });
    this.targetGroup = listener.addTargets('Tasks', {
      port: CONTAINER_PORT,
      protocol: elbv2.Protocol.TLS,
      targets: [this.service],
      healthCheck: { protocol: elbv2.Protocol.HTTPS, path: '/healthz', interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 2 },
      deregistrationDelay: Duration.seconds(30),
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, 'secure-db-api-nlb');
  }
}
