/**
 * grantInvoke on the caller's side: a customer-managed policy beside the caller's role with the method's
 * exact execute-api ARN, so the caller's stack passes the four cdk-nag packs, and the one wildcard API
 * Gateway needs for a path parameter is a finding the caller can acknowledge.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { QueryParameter, SecureDbApi } from '../../src';
import { coveredRoutes } from '../../src/security/invoke-grant';
import { ENV, postgresApi } from '../helpers/stacks';

/** The unacknowledged findings of the four packs on one stack, after synthesis (cross-stack references resolved). */
function findings(app: App, stack: Stack): string[] {
  app.synth();
  const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
  return packs.flatMap((p) => p.validateScope(stack).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)));
}

/** An API in its own stack and a caller stack with one role. */
function callerOf(): { app: App; api: SecureDbApi; caller: Stack; role: iam.Role } {
  const { app, api } = postgresApi();
  const caller = new Stack(app, 'Caller', { env: ENV });
  const role = new iam.Role(caller, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
  return { app, api, caller, role };
}

/** The execute-api ARN the caller's policy names, with the API's id imported from the API's stack. */
function methodArn(resourcePath: string) {
  return { 'Fn::Join': ['', ['arn:aws:execute-api:eu-west-1:123456789012:', { 'Fn::ImportValue': Match.stringLikeRegexp('^Test:ExportsOutputRefApiRestApi') }, resourcePath]] };
}

const WILDCARD_FINDING = /^AwsSolutions-IAM5\[Resource::arn:aws:execute-api:eu-west-1:123456789012:Test:ExportsOutputRefApiRestApi[0-9A-F]+\/v1\/GET\/orders\/\*\]$/;

test('routes with and without a path parameter are granted in one managed policy with the exact method ARNs, and no inline policy', () => {
  const { api, caller, role } = callerOf();
  api.grantInvoke(role, 'GET /orders/{id}');
  api.grantInvoke(role, 'POST /orders');
  const t = Template.fromStack(caller);
  t.resourceCountIs('AWS::IAM::Policy', 0);
  t.resourceCountIs('AWS::IAM::ManagedPolicy', 1);
  t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
    Roles: [{ Ref: caller.getLogicalId(role.node.defaultChild as iam.CfnRole) }],
    PolicyDocument: {
      Statement: [
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn('/v1/GET/orders/*') },
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn('/v1/POST/orders') },
      ],
    },
  });
});

test('a route without path parameters leaves the caller\'s stack clean in all four packs', () => {
  const { app, api, caller, role } = callerOf();
  api.grantInvoke(role, 'POST /orders');
  expect(findings(app, caller)).toEqual([]);
});

test('a path parameter\'s wildcard is the only finding, and the caller can acknowledge it by its id', () => {
  const { app, api, caller, role } = callerOf();
  api.grantInvoke(role, 'GET /orders/{id}');
  const [finding, ...others] = findings(app, caller);
  expect(others).toEqual([]);
  const [id, path] = finding.split(' ');
  expect(id).toMatch(WILDCARD_FINDING);
  expect(path).toBe('Caller/Role/InvokeTestApi17E32BCB/Resource');

  // A fresh app: the same id, acknowledged on the caller's role (aws-cdk-lib refused it while it held <AWS::Partition>).
  const again = callerOf();
  again.api.grantInvoke(again.role, 'GET /orders/{id}');
  Validations.of(again.role).acknowledge({ id, reason: 'API Gateway matches the {id} path parameter of GET /orders/{id} only with a wildcard' });
  expect(findings(again.app, again.caller)).toEqual([]);
});

test('a function as the grantee: the policy is attached to its role', () => {
  const { app, api, caller } = callerOf();
  const fn = new lambda.Function(caller, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1;') });
  api.grantInvoke(fn, 'POST /orders');
  app.synth();
  Template.fromStack(caller).hasResourceProperties('AWS::IAM::ManagedPolicy', {
    Roles: [{ Ref: caller.getLogicalId(fn.role?.node.defaultChild as iam.CfnRole) }],
    PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Resource: methodArn('/v1/POST/orders') }] },
  });
});

test('every route: one wildcard ARN for the stage', () => {
  const { api, caller, role } = callerOf();
  api.grantInvoke(role);
  Template.fromStack(caller).hasResourceProperties('AWS::IAM::ManagedPolicy', {
    PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Resource: methodArn('/v1/*/*') }] },
  });
});

test('IAM\'s * also matches /: the other routes a path parameter\'s grant covers are denied beside it', () => {
  const { api, caller, role } = callerOf();
  api.addQuery('GET /orders/{id}/items', { sql: 'SELECT id FROM items WHERE order_id = :id', parameters: [QueryParameter.integer('id')] });
  api.addQuery('GET /orders/latest', { sql: 'SELECT id FROM orders ORDER BY id DESC' });
  api.grantInvoke(role, 'GET /orders/{id}');
  Template.fromStack(caller).hasResourceProperties('AWS::IAM::ManagedPolicy', {
    PolicyDocument: {
      Statement: [
        { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn('/v1/GET/orders/*') },
        // GET /orders (no parameter, not under /orders/) and POST /orders are not covered.
        { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: [methodArn('/v1/GET/orders/*/items'), methodArn('/v1/GET/orders/latest')] },
      ],
    },
  });
});

test.each([
  ['a deeper route', '/orders/{id}/items', true],
  ['a literal sibling', '/orders/latest', true],
  ['a parameterized route of the same depth (may share requests)', '/{kind}/latest', false],
  ['a shorter route', '/orders', false],
  ['an unrelated route', '/customers/{id}/orders', false],
])('coveredRoutes: %s', (_l, path, covered) => {
  expect(coveredRoutes({ method: 'GET', path: '/orders/{id}' }, [{ method: 'GET', path }, { method: 'POST', path }])).toEqual(covered ? [{ method: 'GET', path }] : []);
});

test('a route the API does not have is refused at synth', () => {
  const { app, api, role } = callerOf();
  api.grantInvoke(role, 'GET /order/{id}');
  expect(() => app.synth()).toThrow(/SecureDbApi Test\/Api: grantInvoke names GET \/order\/\{id\}, which is not a route of this API/);
});
