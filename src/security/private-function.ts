import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledgements';
import { inCompliancePacks } from './compliance-packs';
import { encryptedLogGroup } from './log-groups';
import { VPC_ACCESS_WILDCARDS, vpcAccessStatements } from './vpc-access';

export interface PrivateFunctionProps {
  readonly description: string;
  readonly roleDescription: string;
  readonly policyDescription: string;
  /** What the function may do besides writing its logs (and traces) and managing its network interfaces. */
  readonly statements?: iam.PolicyStatement[];
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The bundled `index.js`. */
  readonly bundle: string;
  /** More files for the asset (name → content). */
  readonly files?: Record<string, string>;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets: ec2.SubnetSelection;
  readonly securityGroup: ec2.ISecurityGroup;
  /** More security groups of this function only (e.g. egress to an AWS API only it calls). Default none. */
  readonly extraSecurityGroups?: ec2.ISecurityGroup[];
  readonly timeout: Duration;
  /** Default 256 MiB. */
  readonly memorySize?: number;
  readonly environment?: Record<string, string>;
  /** Active X-Ray tracing, and the permission to send traces. Default off. */
  readonly tracing?: boolean;
  readonly reservedConcurrentExecutions?: number;
  /** Why a dead-letter queue does not apply to this function. */
  readonly noDlqReason: string;
  /** Why the function reserves no concurrency; needed when `reservedConcurrentExecutions` is not set. */
  readonly noReservedConcurrencyReason?: string;
}

export interface PrivateFunction {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * A fresh directory for an asset (a function's code, a container image): the bundle as `index.js` with the
 * other `.js` files of its folder, the chunks it requires by relative name (the query functions'
 * `idempotency.js`, `config-check.js` and `paging.js`, scripts/bundle-runtime.js), the `files` written (name
 * to content) and the `copies` copied (name to source file, its mode kept).
 */
export function stageAsset(bundle: string, files: Record<string, string> = {}, copies: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'secure-db-api-'));
  copyFileSync(bundle, path.join(dir, 'index.js'));
  for (const chunk of bundleChunks(bundle)) copyFileSync(path.join(path.dirname(bundle), chunk), path.join(dir, chunk));
  for (const [name, source] of Object.entries(copies)) copyFileSync(source, path.join(dir, name));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

/** The chunks beside a bundle: the other `.js` files of its folder (source maps and legal notices stay behind). */
export function bundleChunks(bundle: string): string[] {
  return readdirSync(path.dirname(bundle)).filter((f) => f.endsWith('.js') && f !== path.basename(bundle)).sort();
}

/**
 * A function of the construct (query functions, the JWT authorizer, the user bootstrap): Node.js 24 on ARM
 * in the API's private subnets, JSON logs to its encrypted log group (`LogGroup`), its own role (`Role`)
 * with one customer-managed policy (`Policy`: no AWS managed policies, no inline policies), all beside it
 * in `scope`.
 */
export function privateFunction(scope: Construct, id: string, props: PrivateFunctionProps): PrivateFunction {
  const logGroup = encryptedLogGroup(scope, 'LogGroup', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });
  const role = new iam.Role(scope, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: props.roleDescription });
  const policy = new iam.ManagedPolicy(scope, 'Policy', {
    description: props.policyDescription,
    roles: [role],
    statements: [
      ...(props.statements ?? []),
      new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      ...(props.tracing ? [new iam.PolicyStatement({ sid: 'XRayTraces', actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] })] : []),
      ...vpcAccessStatements(props.vpc),
    ],
  });
  const wildcards = props.tracing ? `X-Ray supports no resource-level permissions. ${VPC_ACCESS_WILDCARDS}` : VPC_ACCESS_WILDCARDS;
  acknowledge(policy, { id: 'AwsSolutions-IAM5[Resource::*]', reason: wildcards });
  const stage = stageAsset(props.bundle, props.files);
  const fn = new lambda.Function(scope, id, {
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(stage),
    environment: props.environment,
    role: role.withoutPolicyUpdates(),
    vpc: props.vpc,
    vpcSubnets: props.vpcSubnets,
    securityGroups: [props.securityGroup, ...(props.extraSecurityGroups ?? [])],
    allowPublicSubnet: false,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout,
    ...(props.tracing ? { tracing: lambda.Tracing.ACTIVE } : {}),
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
  });
  fn.node.addDependency(policy);
  acknowledge(fn, ...inCompliancePacks('LambdaDLQ', props.noDlqReason));
  if (props.reservedConcurrentExecutions === undefined) {
    if (!props.noReservedConcurrencyReason) throw new Error(`SecureDbApi: function ${fn.node.path} reserves no concurrency and says not why`);
    acknowledge(fn, ...inCompliancePacks('LambdaConcurrency', props.noReservedConcurrencyReason));
  }
  return { function: fn, role, logGroup };
}
