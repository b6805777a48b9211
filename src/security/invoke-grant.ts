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
 * Grants `actions` on `resourceArns` to `grantee` in a customer-managed policy (one per grantee and
 * `owner`) attached to the grantee's role, user or group and created beside it, in the grantee's stack;
 * aws-cdk-lib's own grants write an inline policy (HIPAA/NIST/PCI IAMNoInlinePolicy) into the caller's
 * role. Other principals (imported roles, accounts, services) are granted the aws-cdk-lib way.
 */
export function grantInManagedPolicy(
  owner: IConstruct,
  grantee: iam.IGrantable,
  actions: string[],
  resourceArns: string[],
  description: string,
): iam.Grant {
  const principal = grantee.grantPrincipal;
  const attach = attacherOf(principal);
  if (!attach) return iam.Grant.addToPrincipal({ grantee, actions, resourceArns });
  const scope = principal as unknown as IConstruct;
  const id = `Invoke${Names.nodeUniqueId(owner.node)}`;
  let policy = scope.node.tryFindChild(id) as iam.ManagedPolicy | undefined;
  if (!policy) {
    policy = new iam.ManagedPolicy(scope, id, { description });
    attach(policy);
  }
  return iam.Grant.addToPrincipal({ grantee: new ManagedPolicyPrincipal(principal, policy), actions, resourceArns });
}
