import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { SecureDbApiProps } from '../secure-db-api-props';
import { apiError } from './context';

/** The private subnets the proxy and everything the construct runs use: never public ones. */
export function selectSubnets(scope: Construct, props: SecureDbApiProps): ec2.SubnetSelection {
  if (props.vpcSubnets) {
    const selected = props.vpc.selectSubnets(props.vpcSubnets);
    if (selected.subnets.length === 0) throw apiError(scope, 'vpcSubnets selects no subnets');
    if (selected.hasPublic) throw apiError(scope, 'the proxy and the functions must run in private subnets, not public ones');
    return props.vpcSubnets;
  }
  if (props.vpc.privateSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  if (props.vpc.isolatedSubnets.length > 0) return { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
  throw apiError(scope, 'the VPC has no private or isolated subnets; the proxy and functions never run in public subnets');
}

/** What reaches AWS services from the API's subnets. */
export interface VpcEndpointUsers {
  readonly secretRotation: boolean;
  readonly userBootstrap: boolean;
  readonly containerTasks: boolean;
  readonly idempotencyStore: boolean;
  /** Some query pages: its functions or tasks read the cursor signing key. */
  readonly cursorKey: boolean;
}

/**
 * In subnets without a route out of the VPC (isolated), what runs there reaches AWS services only
 * through VPC endpoints: says which at synth time, as information (the app may well have them; a
 * warning would fail `cdk synth --strict` for a correct app). The query functions need none.
 */
export function noteVpcEndpoints(scope: Construct, vpc: ec2.IVpc, vpcSubnets: ec2.SubnetSelection, uses: VpcEndpointUsers): void {
  const isolated = new Set(vpc.isolatedSubnets.map((s) => s.subnetId));
  const selected = vpc.selectSubnets(vpcSubnets).subnets;
  if (selected.length === 0 || !selected.every((s) => isolated.has(s.subnetId))) return;
  const users = [
    ...(uses.secretRotation ? ['secret rotation'] : []),
    ...(uses.userBootstrap ? ['the database user bootstrap'] : []),
    ...(uses.cursorKey ? ['the paged queries\' cursor signing key'] : []),
  ];
  const needs = [
    ...(users.length > 0 ? [`Secrets Manager (com.amazonaws.${Token.isUnresolved(Stack.of(scope).region) ? '<region>' : Stack.of(scope).region}.secretsmanager) for ${users.join(' and ')}`] : []),
    ...(uses.containerTasks ? ['ECR (ecr.api, ecr.dkr) and S3 (gateway) for the query tasks\' image, CloudWatch Logs (logs) for their logs'] : []),
    ...(uses.idempotencyStore ? ['DynamoDB (gateway) for the idempotency store'] : []),
  ];
  if (needs.length === 0) return;
  Annotations.of(scope).addInfo(`SecureDbApi ${scope.node.path} runs in subnets without a route out of the VPC: it needs VPC endpoints for ${needs.join('; ')}. `
    + 'Without them those parts time out (the user bootstrap fails its deployment after 2 minutes).');
}
