import { ArnFormat, Names, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { IConstruct } from 'constructs';

/**
 * The `execute-api` ARN of a method (`*` for any method, a path with `*` for path parameters), with the
 * partition spelled out when the API's region is known. cdk-nag names a wildcard finding after the ARN as
 * written in the template, and aws-cdk-lib's `Validations.acknowledge` refuses ids with a second `::`, as
 * `<AWS::Partition>` would give it: with a concrete account and region the id is plain text a caller can
 * acknowledge.
 */
export function executeApiArn(api: apigw.IRestApi, stage: string, method: string, path: string): string {
  const stack = Stack.of(api);
  const partition = Token.isUnresolved(stack.region) ? undefined : RegionInfo.get(stack.region).partition;
  return stack.formatArn({
    ...(partition ? { partition } : {}),
    service: 'execute-api',
    resource: api.restApiId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    resourceName: `${stage}/${method}${path}`,
  });
}

/** Attaches a policy to the identity, when the identity is one a customer-managed policy can attach to. */
type Attach = (policy: iam.ManagedPolicy) => void;

function attacherOf(principal: iam.IPrincipal): Attach | undefined {
  if (iam.Role.isRole(principal)) return (policy) => policy.attachToRole(principal);
  if (principal instanceof iam.User) return (policy) => policy.attachToUser(principal);
  if (principal instanceof iam.Group) return (policy) => policy.attachToGroup(principal);
  return undefined;
}

/** A principal whose grants go into one customer-managed policy attached to it. */
class ManagedPolicyPrincipal implements iam.IPrincipal {
  public readonly grantPrincipal: iam.IPrincipal = this;
  public readonly assumeRoleAction: string;
  public readonly policyFragment: iam.PrincipalPolicyFragment;
  public readonly principalAccount: string | undefined;

  constructor(principal: iam.IPrincipal, private readonly policy: iam.ManagedPolicy) {
    this.assumeRoleAction = principal.assumeRoleAction;
    this.policyFragment = principal.policyFragment;
    this.principalAccount = principal.principalAccount;
  }

  public addToPolicy(statement: iam.PolicyStatement): boolean {
    return this.addToPrincipalPolicy(statement).statementAdded;
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}

/**
 * Where `owner`'s grants to `grantee` go: a customer-managed policy (one per grantee and `owner`) attached
 * to the grantee's role, user or group and created beside it, in the grantee's stack; aws-cdk-lib's own
 * grants write an inline policy (HIPAA/NIST/PCI IAMNoInlinePolicy) into the caller's role. Other
 * principals (imported roles, accounts, services) are the grantee itself, granted the aws-cdk-lib way.
 */
function policyGrantee(owner: IConstruct, grantee: iam.IGrantable, description: string): iam.IGrantable {
  const principal = grantee.grantPrincipal;
  const attach = attacherOf(principal);
  if (!attach) return grantee;
  const scope = principal as unknown as IConstruct;
  const id = `Invoke${Names.nodeUniqueId(owner.node)}`;
  let policy = scope.node.tryFindChild(id) as iam.ManagedPolicy | undefined;
  if (!policy) {
    policy = new iam.ManagedPolicy(scope, id, { description });
    attach(policy);
  }
  return new ManagedPolicyPrincipal(principal, policy);
}

/** Grants `actions` on `resourceArns` to `grantee`, in the policy `policyGrantee` picks. */
export function grantInManagedPolicy(
  owner: IConstruct,
  grantee: iam.IGrantable,
  actions: string[],
  resourceArns: string[],
  description: string,
): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee: policyGrantee(owner, grantee, description), actions, resourceArns });
}

/** Denies `actions` on `resourceArns` to `grantee`, beside its grants (see grantInManagedPolicy). */
export function denyInManagedPolicy(
  owner: IConstruct,
  grantee: iam.IGrantable,
  actions: string[],
  resourceArns: string[],
  description: string,
): void {
  const statement = new iam.PolicyStatement({ effect: iam.Effect.DENY, actions, resources: resourceArns });
  policyGrantee(owner, grantee, description).grantPrincipal.addToPrincipalPolicy(statement);
}

/** A route as API Gateway's execute-api ARNs name it. */
export interface ArnRoute {
  readonly method: string;
  readonly path: string;
}

const PARAMETER = /\{[^}]+\}/g;
const HAS_PARAMETER = /\{[^}]+\}/;

/** The route's path in an execute-api ARN: a path parameter is `*`. */
export function arnPath(path: string): string {
  return path.replace(PARAMETER, '*');
}

/**
 * The other routes a grant on `granted` also covers, which can be denied without taking anything from
 * `granted`. IAM's `*` matches `/` too, so `GET/orders/*` (for `GET /orders/{id}`) also matches the paths
 * of `GET /orders/{id}/items` and `GET /orders/latest`. A route with more segments is never one of
 * `granted`'s requests (a path parameter holds one segment), and a route without parameters takes its
 * exact path from any parameterized route (API Gateway prefers literal segments), so denying either is
 * exact. A route with parameters and as many segments (`GET /{kind}/latest`) may share requests with
 * `granted` and is left alone.
 */
export function coveredRoutes(granted: ArnRoute, others: readonly ArnRoute[]): ArnRoute[] {
  const pattern = new RegExp(`^${arnPath(granted.path).split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const segments = (path: string) => path.split('/').filter(Boolean).length;
  return others.filter((q) => {
    if (q.method !== granted.method || q.path === granted.path) return false;
    if (!pattern.test(q.path.replace(PARAMETER, 'x'))) return false;
    return segments(q.path) > segments(granted.path) || !HAS_PARAMETER.test(q.path);
  });
}
