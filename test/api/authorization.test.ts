/**
 * Authorization modes in the template: IAM (default), Cognito with gateway scopes, the JWT Lambda
 * authorizer (its bundled config, role, permission), explicit unauthenticated routes, API keys with a
 * usage plan, problem+json gateway responses; and the synth-time refusals.
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { AccessLevel, ApiAuthorization, DatabaseTarget, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { postgresApi, postgresStack, READ_AND_WRITE } from '../helpers/stacks';
import { FunctionProperties, onlyResourceOf, resourcesOf, SecurityGroupProperties, TemplateResource } from '../helpers/template';

const OKTA = { issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] };

const TENANT_QUERIES: SecureDbApiProps['queries'] = [
  { route: 'GET /notes', sql: 'SELECT id, body FROM notes WHERE tenant_id = :claims.tenant_id', requiredScopes: ['notes/read'] },
  {
    route: 'POST /notes',
    access: AccessLevel.WRITE,
    sql: 'INSERT INTO notes (tenant_id, owner, body) VALUES (:claims.tenant_id, :claims.sub, :body) RETURNING id',
    parameters: [QueryParameter.string('body', { maxLength: 500 })],
    requiredScopes: ['notes/read', 'notes/write'],
    requiredGroups: ['editors'],
  },
  { route: 'GET /health', sql: 'SELECT 1 AS ok', allowUnauthenticated: true },
];

function synth(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** A function's staged asset directory (asset metadata is on in the test app). */
function assetDir(stack: Stack, template: Template, description: RegExp): string {
  const fn = onlyResourceOf<FunctionProperties>(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp(description.source) } });
  return path.join(stack.node.root instanceof App ? stack.node.root.synth().directory : '', fn.Metadata['aws:asset:path']);
}

function nagFindings(scope: SecureDbApi): string[] {
  const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
  return packs.flatMap((pack) => pack.validateScope(scope).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`)));
}

describe('IAM authorization (default)', () => {
  test('every method is AWS_IAM and gateway errors are problem+json', () => {
    const { stack } = postgresApi();
    const t = synth(stack);
    t.allResourcesProperties('AWS::ApiGateway::Method', { AuthorizationType: 'AWS_IAM' });
    t.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
    for (const type of ['UNAUTHORIZED', 'ACCESS_DENIED', 'MISSING_AUTHENTICATION_TOKEN', 'BAD_REQUEST_BODY', 'THROTTLED', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: Match.objectLike({ 'gatewayresponse.header.Content-Type': "'application/problem+json'" }),
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('^\\{"type":"tag:cdk-secure-db-api,2026:problem:[a-z-]+","title":"[^"]+",.*"detail":\\$context\\.error\\.messageString') },
      });
    }
    t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'UNAUTHORIZED', StatusCode: '401' });
  });

  test('every gateway response renders as a valid problem document (API Gateway\'s variables filled in as it does)', () => {
    const { stack } = postgresApi();
    const responses = resourcesOf<{ ResponseTemplates: Record<string, string>; StatusCode?: string }>(synth(stack), 'AWS::ApiGateway::GatewayResponse');
    expect(responses.length).toBeGreaterThanOrEqual(14);
    for (const r of responses) {
      // messageString is a quoted JSON string; a message with a quote in it must stay valid JSON.
      const rendered = (r.Properties.ResponseTemplates['application/json'] as string)
        .replace('$context.error.messageString', JSON.stringify('Invalid "key" \\ here'))
        .replace('$context.requestId', 'c0ffee-1');
      const problem = JSON.parse(rendered);
      expect(problem).toEqual({
        type: expect.stringMatching(/^tag:cdk-secure-db-api,2026:problem:[a-z-]+$/),
        title: expect.any(String),
        ...(r.Properties.StatusCode ? { status: Number(r.Properties.StatusCode) } : {}),
        detail: 'Invalid "key" \\ here',
        requestId: 'c0ffee-1',
      });
    }
  });
});

describe('JWT authorization (any OIDC provider)', () => {
  function jwtApi(extra: Partial<SecureDbApiProps> = {}) {
    return postgresApi({ authorization: ApiAuthorization.jwt(OKTA), queries: TENANT_QUERIES, ...extra }, { egress: true });
  }

  test('authenticated methods use one TOKEN authorizer on the Authorization header; the opted-in route has none', () => {
    const { stack } = jwtApi();
    const t = synth(stack);
    t.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
    t.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: '^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
      AuthorizerResultTtlInSeconds: 300,
    });
    t.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'CUSTOM', AuthorizerId: Match.anyValue() }, 2);
    t.resourcePropertiesCountIs('AWS::ApiGateway::Method', { AuthorizationType: 'NONE', HttpMethod: 'GET', OperationName: 'getHealth' }, 1);
  });

  test('the authorizer asset holds the issuer, audiences and each route\'s scopes and groups, but no unauthenticated route', () => {
    const { stack } = jwtApi();
    const t = synth(stack);
    const config = JSON.parse(readFileSync(path.join(assetDir(stack, t, /JWT authorizer/), 'authorizer.json'), 'utf8'));
    expect(config).toEqual({
      version: 1,
      issuer: OKTA.issuer,
      audiences: OKTA.audiences,
      routes: [
        { method: 'GET', path: '/notes', requiredScopes: ['notes/read'] },
        { method: 'POST', path: '/notes', requiredScopes: ['notes/read', 'notes/write'], requiredGroups: ['editors'] },
      ],
    });
    // The query functions check the same scopes and groups again.
    const writer = JSON.parse(readFileSync(path.join(assetDir(stack, t, /write queries/), 'config.json'), 'utf8'));
    expect(writer.queries[0]).toMatchObject({ requiredScopes: ['notes/read', 'notes/write'], requiredGroups: ['editors'] });
  });

  test('the authorizer runs in the private subnets with HTTPS egress only, a role for its own logs, invocable only by this API and account', () => {
    const { stack } = jwtApi();
    const t = synth(stack);
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('JWT authorizer') } });
    const [[fnId, fn]] = Object.entries(fns) as Array<[string, TemplateResource<FunctionProperties>]>;
    expect(fn.Properties.VpcConfig?.SubnetIds).toEqual([{ Ref: expect.stringMatching(/^VpcappSubnet1/) }, { Ref: expect.stringMatching(/^VpcappSubnet2/) }]);
    const sg = onlyResourceOf<SecurityGroupProperties>(t, 'AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('JWT authorizer') } });
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]);
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Description: Match.stringLikeRegexp('^JWT authorizer'),
      PolicyDocument: {
        Statement: [
          { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
          Match.objectLike({ Sid: 'DescribeForVpcAccess' }),
          Match.objectLike({ Sid: 'ManageEnisInThisVpcOnly' }),
        ],
      },
    });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceAccount: '123456789012',
      SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('/authorizers/')])]) }),
    });
  });

  test('rowLevelSecurityClaims reaches the PostgreSQL functions', () => {
    const { stack } = jwtApi({ rowLevelSecurityClaims: true });
    const t = synth(stack);
    expect(JSON.parse(readFileSync(path.join(assetDir(stack, t, /read queries/), 'config.json'), 'utf8')).rlsClaims).toBe(true);
  });

  test('the construct itself has no unacknowledged cdk-nag findings in four packs', () => {
    const { api, app } = jwtApi();
    app.synth();
    expect(nagFindings(api)).toEqual([]);
  });

  test('isolated subnets are refused: the authorizer could never fetch the keys', () => {
    expect(() => synth(postgresApi({ authorization: ApiAuthorization.jwt(OKTA), queries: TENANT_QUERIES }).stack)).toThrow(/selected subnets are isolated; set JwtAuthorizationOptions.vpcSubnets/);
  });

  test('grantInvoke is refused: token callers are not authorized by IAM', () => {
    const { api } = jwtApi();
    expect(() => api.grantInvoke(new iam.AccountRootPrincipal())).toThrow(/grantInvoke applies to ApiAuthorization.iam\(\)/);
  });

  test('bad issuers, audiences and cache times are refused where they are written', () => {
    expect(() => ApiAuthorization.jwt({ issuer: 'http://idp.example.com', audiences: ['a'] })).toThrow(/^ApiAuthorization\.jwt: issuer must be an https:\/\/ URL$/);
    expect(() => ApiAuthorization.jwt({ issuer: OKTA.issuer, audiences: [] })).toThrow(/audiences must be a non-empty list/);
    expect(() => ApiAuthorization.jwt({ ...OKTA, jwksUri: 'ftp://x' })).toThrow(/^ApiAuthorization\.jwt: jwksUri must be an https:\/\/ URL$/);
    expect(() => ApiAuthorization.jwt({ ...OKTA, resultsCacheTtl: Duration.hours(2) })).toThrow(/at most one hour/);
  });
});

describe('Cognito authorization', () => {
  test('methods use the user pool authorizer, with each route\'s scopes as authorization scopes', () => {
    const t = postgresStack();
    const pool = new cognito.UserPool(t.stack, 'Pool');
    const api = new SecureDbApi(t.stack, 'Api', {
      vpc: t.vpc,
      database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
      authorization: ApiAuthorization.cognito(pool),
      queries: TENANT_QUERIES,
    });
    const tpl = synth(t.stack);
    tpl.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'COGNITO_USER_POOLS', ProviderARNs: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Pool'), 'Arn'] }] });
    tpl.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', AuthorizationType: 'COGNITO_USER_POOLS', AuthorizationScopes: ['notes/read'] });
    tpl.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'POST', AuthorizationType: 'COGNITO_USER_POOLS', AuthorizationScopes: ['notes/read', 'notes/write'] });
    // No authorizer function: API Gateway verifies Cognito tokens itself.
    expect(Object.keys(tpl.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('authorizer') } }))).toEqual([]);
    t.app.synth();
    expect(nagFindings(api)).toEqual([]);
  });
});

describe('API keys and usage plans', () => {
  test('every method needs a key of the plan, which has the given throttling and quota', () => {
    const usagePlan = { throttling: { rateLimit: 10, burstLimit: 20 }, quota: 10_000, quotaPeriod: apigw.Period.MONTH };
    const { stack, api } = postgresApi({ usagePlan });
    const key = api.addApiKey('PartnerKey', { apiKeyName: 'partner' });
    const t = synth(stack);
    t.allResourcesProperties('AWS::ApiGateway::Method', { ApiKeyRequired: true });
    t.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 10, BurstLimit: 20 },
      Quota: { Limit: 10000, Period: 'MONTH' },
      ApiStages: [Match.objectLike({ Stage: Match.anyValue() })],
    });
    t.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: 'partner', Enabled: true });
    t.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    expect(key.keyId).toMatch(/^\$\{Token/);
  });

  test('without a usage plan no method needs a key, and addApiKey says what is missing', () => {
    const { stack, api } = postgresApi();
    synth(stack).allResourcesProperties('AWS::ApiGateway::Method', { ApiKeyRequired: Match.not(true) });
    expect(() => api.addApiKey('Key')).toThrow(/addApiKey needs SecureDbApiProps.usagePlan/);
    expect(() => postgresApi({ usagePlan: { quota: 0 } })).toThrow(/quota must be a positive whole number/);
  });
});

describe('identity refusals at synth time', () => {
  const build = (props: Partial<SecureDbApiProps>) => () => synth(postgresApi(props, { egress: true }).stack);

  test.each([
    ['claims under IAM', {}, [{ route: 'GET /mine', sql: 'SELECT * FROM t WHERE tenant = :claims.tenant_id' }], /binds :claims.…, but the API authorizes with AWS IAM/],
    ['scopes under IAM', {}, [{ route: 'GET /a', sql: 'SELECT 1', requiredScopes: ['x/read'] }], /"getA" needs scopes, but the API authorizes with AWS IAM/],
    ['groups under IAM', {}, [{ route: 'GET /a', sql: 'SELECT 1', requiredGroups: ['admins'] }], /needs groups, but the API authorizes with AWS IAM/],
    ['an unauthenticated write', { authorization: ApiAuthorization.jwt(OKTA) }, [{ route: 'POST /a', access: AccessLevel.WRITE, sql: 'DELETE FROM t', allowUnauthenticated: true }], /only read queries can allow unauthenticated callers/],
    ['an unauthenticated route with claims', { authorization: ApiAuthorization.jwt(OKTA) }, [{ route: 'GET /a', sql: 'SELECT :claims.sub AS me', allowUnauthenticated: true }], /allows unauthenticated callers but binds :claims/],
    ['an unauthenticated route with scopes', { authorization: ApiAuthorization.jwt(OKTA) }, [{ route: 'GET /a', sql: 'SELECT 1', allowUnauthenticated: true, requiredScopes: ['a'] }], /allows unauthenticated callers but needs scopes/],
    ['RLS claims under IAM', { rowLevelSecurityClaims: true }, READ_AND_WRITE, /rowLevelSecurityClaims needs token claims/],
    ['an empty scope', { authorization: ApiAuthorization.jwt(OKTA) }, [{ route: 'GET /a', sql: 'SELECT 1', requiredScopes: [''] }], /requiredScopes/],
  ])('%s', (_label, props, queries, error) => {
    expect(build({ ...props, queries: queries as SecureDbApiProps['queries'] })).toThrow(error);
  });

  test('a scope with a space is refused (it would split into two)', () => {
    expect(build({ authorization: ApiAuthorization.jwt(OKTA), queries: [{ route: 'GET /a', sql: 'SELECT 1', requiredScopes: ['read write'] }] })).toThrow(/scope/i);
  });
});
