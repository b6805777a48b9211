import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AccessLevel, ApiAuthorization, DatabaseEngineFamily, DatabaseTarget, QueryParameter, SecureDbApi } from '../src';
import { ENV, existingProxy, postgresApi, postgresStack } from './helpers/stacks';
import {
  AlarmProperties, FunctionProperties, MethodProperties, PolicyProperties, PolicyStatement, resourceEntriesOf, resourcesOf,
  RoleProperties, SecurityGroupProperties, SecurityGroupRuleProperties, StageProperties,
} from './helpers/template';
import * as runtimeConfig from '../src/shared/config';
import { sealedQueries } from '../src/shared/sealed-config';

/** The reader and writer functions (not the user bootstrap). */
const QUERY_FUNCTIONS = { Properties: { Description: Match.stringLikeRegexp('^SecureDbApi (read|write) queries') } };

function template(stack: Stack): Template {
  return Template.fromStack(stack);
}

/** Every policy document in the template: role inline policies, AWS::IAM::Policy and ManagedPolicy. */
function policyStatements(t: Template): { resource: string; statement: PolicyStatement }[] {
  const out: { resource: string; statement: PolicyStatement }[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, r] of resourceEntriesOf<PolicyProperties>(t, type)) {
      for (const s of r.Properties.PolicyDocument.Statement) out.push({ resource: id, statement: s });
    }
  }
  return out;
}

describe('SecureDbApi on Aurora PostgreSQL', () => {
  const { stack, api } = postgresApi();
  const t = template(stack);

  test('the proxy requires IAM authentication and TLS for every user', () => {
    t.hasResourceProperties('AWS::RDS::DBProxy', {
      EngineFamily: 'POSTGRESQL',
      RequireTLS: true,
      DebugLogging: false,
      Auth: [
        Match.objectLike({ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED' }),
        Match.objectLike({ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED' }),
      ],
    });
    t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
      ConnectionPoolConfigurationInfo: { ConnectionBorrowTimeout: 10, MaxConnectionsPercent: 80 },
    });
  });

  test.each([['Reader', 'api_reader'], ['Writer', 'api_writer']])('the %s role may rds-db:connect only as %s through the proxy', (label, user) => {
    const proxyId = Object.keys(t.findResources('AWS::RDS::DBProxy'))[0];
    const policies = resourcesOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Description: Match.stringLikeRegexp(label === 'Reader' ? 'read query' : 'write query') } });
    expect(policies).toHaveLength(1);
    const statements = policies[0].Properties.PolicyDocument.Statement;
    const connect = statements.filter((s) => [s.Action].flat().includes('rds-db:connect'));
    expect(connect).toEqual([
      {
        Sid: 'ConnectAsOwnDbUserThroughProxy',
        Effect: 'Allow',
        Action: 'rds-db:connect',
        Resource: {
          'Fn::Join': ['', [
            'arn:', { Ref: 'AWS::Partition' }, ':rds-db:eu-west-1:123456789012:dbuser:',
            { 'Fn::Select': [6, { 'Fn::Split': [':', { 'Fn::GetAtt': [proxyId, 'DBProxyArn'] }] }] },
            `/${user}`,
          ]],
        },
      },
    ]);
  });

  test('no wildcard actions, no AWS managed policies, and rds-db:connect only in the query policies', () => {
    for (const { statement } of policyStatements(t)) {
      for (const action of [statement.Action].flat()) expect(action).not.toMatch(/^\*$|:\*$/);
    }
    for (const r of resourcesOf<RoleProperties>(t, 'AWS::IAM::Role')) {
      expect(JSON.stringify(r.Properties.ManagedPolicyArns ?? [])).not.toMatch(/iam::aws:policy/);
    }
    const connects = policyStatements(t).filter(({ statement }) => [statement.Action].flat().includes('rds-db:connect'));
    expect(connects).toHaveLength(2);
  });

  test('only the query functions reach the proxy, and they reach nothing else', () => {
    const groups = resourceEntriesOf<SecurityGroupProperties>(t, 'AWS::EC2::SecurityGroup');
    const groupId = (description: string) => groups.filter(([, r]) => r.Properties.GroupDescription.startsWith(description)).map(([id]) => id);
    const [fnSg] = groupId('Query functions');
    const [proxySg] = groupId('RDS Proxy');
    expect([fnSg, proxySg]).toEqual([expect.any(String), expect.any(String)]);
    const ingress = resourcesOf<SecurityGroupRuleProperties>(t, 'AWS::EC2::SecurityGroupIngress').filter((r) => JSON.stringify(r.Properties.GroupId).includes(proxySg));
    expect(ingress.map((r) => r.Properties)).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: { 'Fn::GetAtt': [fnSg, 'GroupId'] } }),
    ]);
    const fnEgress = resourcesOf<SecurityGroupRuleProperties>(t, 'AWS::EC2::SecurityGroupEgress').filter((r) => JSON.stringify(r.Properties.GroupId).includes(fnSg));
    expect(fnEgress.map((r) => r.Properties)).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, DestinationSecurityGroupId: { 'Fn::GetAtt': [proxySg, 'GroupId'] } }),
    ]);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Query functions'),
      SecurityGroupEgress: Match.absent(),
    });
  });

  test('the app users\' secrets are KMS-encrypted and rotate every 30 days with single-user hosted rotation', () => {
    const keyId = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    t.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } }, 2);
    t.resourcePropertiesCountIs('AWS::SecretsManager::RotationSchedule', {
      HostedRotationLambda: Match.objectLike({ RotationType: 'PostgreSQLSingleUser', VpcSecurityGroupIds: Match.anyValue(), VpcSubnetIds: Match.anyValue() }),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    }, 2);
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"api_reader"}' }) });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: '{"username":"api_writer"}' }) });
  });

  test('the key rotates and allows grants only for AWS services', () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'kms:CreateGrant', Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } } })]) },
    });
  });

  test('every log group is KMS-encrypted and kept one year', () => {
    const groups = resourcesOf<{ KmsKeyId: unknown; RetentionInDays: number }>(t, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(5); // access logs, reader, writer, user bootstrap and its provider
    for (const g of groups) {
      expect(g.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.any(String), 'Arn'] });
      expect(g.Properties.RetentionInDays).toBe(365);
    }
  });

  test('the stage logs JSON access records, never request data, traces with X-Ray and throttles', () => {
    const [{ Properties: stage }] = resourcesOf<StageProperties>(t, 'AWS::ApiGateway::Stage');
    expect(stage).toMatchObject({
      StageName: 'v1',
      TracingEnabled: true,
      MethodSettings: [{ DataTraceEnabled: false, LoggingLevel: 'INFO', MetricsEnabled: true, HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }],
    });
    const format = JSON.parse(stage.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', userArn: '$context.identity.userArn', status: '$context.status' });
    t.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: Match.anyValue() });
  });

  test('every method uses IAM authorization and validates its request', () => {
    const methods = resourcesOf<MethodProperties>(t, 'AWS::ApiGateway::Method');
    expect(methods).toHaveLength(3);
    for (const m of methods) {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
      expect(m.Properties.RequestValidatorId).toBeDefined();
      expect(m.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
    }
    t.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true, ValidateRequestParameters: true });
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', RequestParameters: { 'method.request.path.id': true } });
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'GET', RequestParameters: { 'method.request.querystring.status': false } });
    t.hasResourceProperties('AWS::ApiGateway::Model', {
      Schema: {
        $schema: 'http://json-schema.org/draft-04/schema#',
        type: 'object',
        additionalProperties: false,
        required: ['note'],
        properties: { note: { type: 'string', maxLength: 200, pattern: '^(?:[a-z ]+)$' } },
        title: 'postOrders request body',
      },
    });
  });

  test('API Gateway may invoke the functions only from this API, in this account', () => {
    const permissions = resourcesOf<{ SourceArn: unknown }>(t, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(2);
    for (const p of permissions) {
      expect(p.Properties).toMatchObject({ Principal: 'apigateway.amazonaws.com', SourceAccount: '123456789012', Action: 'lambda:InvokeFunction' });
      expect(JSON.stringify(p.Properties.SourceArn)).toContain('execute-api');
    }
  });

  test('the functions run Node.js 24 in private subnets with tracing, and get only the proxy endpoint, the API\'s name and their config.json\'s digest from the environment', () => {
    const fns = resourcesOf<FunctionProperties>(t, 'AWS::Lambda::Function', QUERY_FUNCTIONS);
    expect(fns).toHaveLength(2);
    for (const f of fns) {
      expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.handler', TracingConfig: { Mode: 'Active' }, LoggingConfig: { LogFormat: 'JSON' } });
      expect(Object.keys(f.Properties.Environment.Variables)).toEqual(['SECURE_DB_API_DB_HOST', 'POWERTOOLS_SERVICE_NAME', 'SECURE_DB_API_CONFIG_SHA256']);
      expect(f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe(api.api.restApiName);
      expect(f.Properties.VpcConfig?.SubnetIds).toHaveLength(2);
    }
  });

  test('each function\'s asset holds its route table as config.json, and only its own access level', () => {
    const assembly = stack.node.root as App;
    const outdir = assembly.synth().directory;
    const fns = resourcesOf<FunctionProperties>(t, 'AWS::Lambda::Function', QUERY_FUNCTIONS);
    const configs: runtimeConfig.RuntimeConfig[] = fns.map((f) => JSON.parse(readFileSync(path.join(outdir, f.Metadata['aws:asset:path'], 'config.json'), 'utf8')));
    const reader = configs.find((c) => c.connection.user === 'api_reader');
    const writer = configs.find((c) => c.connection.user === 'api_writer');
    expect(reader?.queries.map((q) => `${q.method} ${q.path}`)).toEqual(['GET /orders/{id}', 'GET /orders']);
    expect(writer?.queries.map((q) => `${q.method} ${q.path}`)).toEqual(['POST /orders']);
    expect(reader?.connection).toEqual({
      host: '${env:SECURE_DB_API_DB_HOST}',
      port: 5432,
      database: 'shop',
      user: 'api_reader',
      credentials: { type: 'iam', region: '${env:AWS_REGION}' },
      tls: { enabled: true },
    });
    expect(readFileSync(path.join(outdir, fns[0].Metadata['aws:asset:path'], 'index.js'), 'utf8')).not.toContain('mysql_native_password');
  });

  test('each function\'s config.json is sealed: the queries compiled at synthesis, the file\'s SHA-256 in the function\'s environment', () => {
    const outdir = (stack.node.root as App).synth().directory;
    const fns = resourcesOf<FunctionProperties>(t, 'AWS::Lambda::Function', QUERY_FUNCTIONS);
    for (const f of fns) {
      const text = readFileSync(path.join(outdir, f.Metadata['aws:asset:path'], 'config.json'), 'utf8');
      expect(f.Properties.Environment.Variables.SECURE_DB_API_CONFIG_SHA256).toBe(createHash('sha256').update(text).digest('hex'));
      // What the function takes from the file is what checking and compiling the file's queries gives.
      const config = JSON.parse(text) as runtimeConfig.RuntimeConfig;
      expect(config.compiled).toHaveLength(config.queries.length);
      expect(sealedQueries(config)).toEqual(runtimeConfig.prepareConfig(config));
    }
  });

  test('grantInvoke allows execute-api:Invoke on one route, in a managed policy of the caller\'s role', () => {
    const { stack: s, api: a } = postgresApi();
    const role = new iam.Role(s, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    a.grantInvoke(role, 'GET /orders/{id}');
    Template.fromStack(s).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: s.getLogicalId(role.node.defaultChild as iam.CfnRole) }],
      PolicyDocument: {
        Statement: [{
          Action: 'execute-api:Invoke',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', ['arn:aws:execute-api:eu-west-1:123456789012:', { Ref: Match.stringLikeRegexp('^ApiRestApi') }, '/v1/GET/orders/*']] },
        }],
      },
    });
  });

  test('metric helpers name the API and stage', () => {
    expect(api.metricServerErrors().metricName).toBe('5XXError');
    expect(api.metricLatency().statistic).toBe('p99');
    expect(api.metricClientErrors().dimensions).toMatchObject({ Stage: 'v1' });
    // Extra dimensions narrow the metric to one route and keep the API and stage.
    expect(api.metric('Latency', { dimensionsMap: { Method: 'GET', Resource: '/orders' } }).dimensions).toMatchObject({ Stage: 'v1', Method: 'GET', Resource: '/orders' });
    expect(stack.resolve(api.metricClientErrors().dimensions?.ApiName)).toEqual(api.api.restApiName);
  });
});

describe('API name', () => {
  /** The REST API's name, the query functions' service name and the API alarms' ApiName dimension, of one stack. */
  function names(stack: Stack) {
    const t = template(stack);
    const [restApi] = resourcesOf<{ Name: string }>(t, 'AWS::ApiGateway::RestApi');
    const services = resourcesOf<FunctionProperties>(t, 'AWS::Lambda::Function', QUERY_FUNCTIONS).map((f) => f.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME);
    const alarms = resourceEntriesOf<AlarmProperties>(t, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes('ApiServerErrorRate'));
    expect(alarms).toHaveLength(1);
    const apiNames = alarms[0][1].Properties.Metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat?.Metric.Dimensions.find((d) => d.Name === 'ApiName')?.Value);
    return { name: restApi.Properties.Name, services, apiNames };
  }

  test('a staging and a production stack with the same construct id give their APIs, metrics and alarms names of their own', () => {
    const staging = names(postgresApi({}, { stackId: 'ShopStaging' }).stack);
    const production = names(postgresApi({}, { stackId: 'ShopProduction' }).stack);
    expect(staging.name).toMatch(/^ShopStaging-Api-[A-Z0-9]{8}$/);
    expect(production.name).toMatch(/^ShopProduction-Api-[A-Z0-9]{8}$/);
    for (const n of [staging, production]) {
      // The query functions publish their metrics under the API's name; the alarms watch the API by it.
      expect(n.services).toEqual([n.name, n.name]);
      expect(n.apiNames).toEqual([n.name, n.name]);
    }
  });

  test('apiName names the API, and its functions and alarms use it', () => {
    const n = names(postgresApi({ apiName: 'shop orders.v2_prod-1' }).stack);
    expect(n).toEqual({ name: 'shop orders.v2_prod-1', services: ['shop orders.v2_prod-1', 'shop orders.v2_prod-1'], apiNames: ['shop orders.v2_prod-1', 'shop orders.v2_prod-1'] });
  });

  test.each([[''], ['orders/v2'], ['x'.repeat(129)], ['naïve']])('apiName %j is refused', (apiName) => {
    expect(() => postgresApi({ apiName })).toThrow(/apiName .* must be 1 to 128 letters, digits, spaces/);
  });

  test('a long stack name and path still give a name of at most 128 characters', () => {
    const { stack } = postgresApi({}, { stackId: `Shop${'X'.repeat(140)}` });
    const n = names(stack);
    expect(n.name.length).toBeLessThanOrEqual(128);
    expect(n.services).toEqual([n.name, n.name]);
  });
});

describe('SecureDbApi shape', () => {
  test('without write queries there is only a reader function', () => {
    const { stack } = postgresApi({ queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::Lambda::Function', QUERY_FUNCTIONS.Properties, 1);
  });

  test('addQuery after construction is published', () => {
    const { stack, api } = postgresApi({ queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    api.addQuery('DELETE /orders/{id}', { access: AccessLevel.WRITE, sql: 'DELETE FROM orders WHERE id = :id', parameters: [QueryParameter.uuid('id')] });
    const t = Template.fromStack(stack);
    t.resourcePropertiesCountIs('AWS::Lambda::Function', QUERY_FUNCTIONS.Properties, 2);
    t.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'DELETE', RequestParameters: { 'method.request.path.id': true } });
  });

  test('an existing proxy is used as it is: no proxy, secrets or rotation are created, and the functions get in', () => {
    const t = postgresStack();
    const { proxy, securityGroup: proxySg } = existingProxy(t.stack, t.vpc);
    new SecureDbApi(t.stack, 'Api', {
      vpc: t.vpc,
      database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
      proxy: { existing: { proxy, securityGroup: proxySg } },
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
    });
    const tpl = Template.fromStack(t.stack);
    tpl.resourceCountIs('AWS::RDS::DBProxy', 0);
    tpl.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    tpl.resourceCountIs('AWS::SecretsManager::Secret', 1); // the cluster's own master secret only
    tpl.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [t.stack.getLogicalId(proxySg.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] },
      FromPort: 5432,
    });
    tpl.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: 'rds-db:connect',
          Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rds-db:eu-west-1:123456789012:dbuser:prx-0123456789abcdef0/api_reader']] },
        })]),
      },
    });
    tpl.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { SECURE_DB_API_DB_HOST: 'shared-proxy.proxy-abc.eu-west-1.rds.amazonaws.com' } } });
  });

  test('model names are alphanumeric even when query names are not', () => {
    const { stack } = postgresApi({ queries: [{ route: 'POST /notes', name: 'add_note', access: AccessLevel.WRITE, sql: 'INSERT INTO notes (t) VALUES (:t)', parameters: [QueryParameter.string('t')] }] });
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::Model', { Name: 'addnoteBody' });
  });

  test('MySQL instances get MySQL rotation and port 3306', () => {
    const app = new App();
    const stack = new Stack(app, 'My', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const instance = new rds.DatabaseInstance(stack, 'Db', { engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_39 }), vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } });
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromInstance(instance, { databaseName: 'app' }), queries: [{ route: 'GET /items', sql: 'SELECT sku FROM items' }] });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::RDS::DBProxy', { EngineFamily: 'MYSQL', RequireTLS: true });
    t.resourcePropertiesCountIs('AWS::SecretsManager::RotationSchedule', { HostedRotationLambda: Match.objectLike({ RotationType: 'MySQLSingleUser' }) }, 2);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { FromPort: 3306, ToPort: 3306 });
  });
});

describe('SecureDbApi validation', () => {
  const build = (props: Record<string, unknown>, mutate?: (api: SecureDbApi) => void) => () => {
    const t = postgresStack();
    const api = new SecureDbApi(t.stack, 'Api', { vpc: t.vpc, database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }), ...props });
    mutate?.(api);
    t.app.synth();
  };

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['duplicate routes', { queries: [{ route: 'GET /a/{x}', sql: 'SELECT :x', parameters: [QueryParameter.integer('x')] }, { route: 'GET /a/{y}', sql: 'SELECT :y', parameters: [QueryParameter.integer('y')] }] }, /route GET \/a\/\{y\} is already used/],
    ['SQL parameter without definition', { queries: [{ route: 'GET /a', sql: 'SELECT :missing' }] }, /SQL uses :missing but no parameter "missing" is defined/],
    ['definition never used', { queries: [{ route: 'GET /a', sql: 'SELECT 1', parameters: [QueryParameter.string('x')] }] }, /parameter "x" is defined but the SQL never uses :x/],
    ['write statement on a read query', { queries: [{ route: 'GET /a', sql: 'UPDATE t SET a = 1' }] }, /read query contains UPDATE/],
    ['malformed route', { queries: [{ route: 'FETCH /a', sql: 'SELECT 1' }] }, /must be "METHOD \/path"/],
    ['no queries', { queries: [] }, /needs at least one query/],
    ['claims under IAM authorization', { queries: [{ route: 'GET /mine', sql: 'SELECT * FROM t WHERE tenant = :claims.tenant_id' }] }, /binds :claims.…, but the API authorizes with AWS IAM/],
    ['a typo beside claims is still reported', { queries: [{ route: 'GET /mine', sql: "SELECT ':claims.x', :nope" }] }, /SQL uses :nope/],
    ['same reader and writer', { databaseUsers: { reader: 'app', writer: 'app' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /must be different users/],
    ['invalid user name', { databaseUsers: { reader: 'Robert\'); DROP' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /must be lower-case letters/],
    ['timeout beyond API Gateway', { queries: [{ route: 'GET /a', sql: 'SELECT 1', timeout: Duration.seconds(40) }] }, /query "getA": timeout 40 seconds is too long: at most 25 seconds/],
    ['a zero timeout', { queries: [{ route: 'GET /a', sql: 'SELECT 1', timeout: Duration.seconds(0) }] }, /SecureDbApi Test\/Api: query "getA": timeout must be a whole number of milliseconds, at least 1 \(got 0 seconds\)/],
    ['a timeout in fractions of a millisecond', { queries: [{ route: 'GET /a', sql: 'SELECT 1', timeout: Duration.millis(2500.5) }] }, /query "getA": timeout must be a whole number of milliseconds, at least 1 \(got 2 seconds 500.5 millis\)/],
    ['timeout without headroom under API Gateway', { queries: [{ route: 'GET /a', sql: 'SELECT 1', timeout: Duration.seconds(26) }] }, /SecureDbApi Test\/Api: query "getA": timeout 26 seconds is too long: at most 25 seconds, so that the answer \(3 s to connect and respond\) reaches API Gateway 1 s before its 29-second integration limit/],
    ['routes whose derived names collide', { queries: [{ route: 'GET /Orders/{id}', sql: 'SELECT :id', parameters: [QueryParameter.integer('id')] }, { route: 'GET /orders/{id}', sql: 'SELECT :id', parameters: [QueryParameter.integer('id')] }] }, /query "getOrdersById": duplicate query name: GET \/Orders\/\{id\} has it too .*give one of them a name of its own/],
    ['a query at the route the OpenAPI document is served at', { openApi: { serve: true }, queries: [{ route: 'GET /openapi.json', sql: 'SELECT 1' }] }, /SecureDbApi Test\/Api: query "getOpenapiJson": GET \/openapi.json is where the OpenAPI document is served \(openApi.serve\); give the query another route/],
    // What JavaScript callers can pass where a type checker would have refused.
    ['a number for a timeout', { queries: [{ route: 'GET /a', sql: 'SELECT 1', timeout: 5 }] }, /SecureDbApi Test\/Api: query "getA": timeout must be a Duration \(e.g. Duration.seconds\(5\)\), got 5/],
    ['a plain object for a parameter', { queries: [{ route: 'GET /a/{id}', sql: 'SELECT :id', parameters: [{ name: 'id', type: 'integer' }] }] }, /SecureDbApi Test\/Api: query "getAById": parameter 1 must be made by QueryParameter \(e.g. QueryParameter.integer\('id'\)\), got \{"name":"id","type":"integer"\}/],
    ['a string for a parameter', { queries: [{ route: 'GET /a', sql: 'SELECT :id', parameters: ['id'] }] }, /parameter 1 must be made by QueryParameter .*got "id"/],
    ['a cyclic object for a parameter', { queries: [{ route: 'GET /a', sql: 'SELECT :id', parameters: [(() => { const o: Record<string, unknown> = {}; o.self = o; return o; })()] }] }, /parameter 1 must be made by QueryParameter .*got \[object Object\]/],
    ['a plain object for pagination', { queries: [{ route: 'GET /a', sql: 'SELECT id FROM t', pagination: { orderBy: ['id'] } }] }, /query "getA": pagination must be made by Pagination.keyset\(...\)/],
    ['the master user as the writer', { databaseUsers: { writer: 'postgres' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /SecureDbApi Test\/Api: database user "postgres" is a built-in or default master user name/],
    ['an RDS role as the reader', { databaseUsers: { reader: 'rds_superuser' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /database user "rds_superuser" is a built-in/],
    ['a PostgreSQL pg_ role as the reader', { databaseUsers: { reader: 'pg_read_all_data' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /database user "pg_read_all_data" is a built-in/],
    ['a rotation schedule of 0 days, which would turn rotation off', { databaseUsers: { rotationSchedule: Duration.days(0) }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /SecureDbApi Test\/Api: databaseUsers.rotationSchedule must be from 4 hours to 1000 days \(Secrets Manager's limits\), got 0 days/],
    ['a rotation schedule beyond 1000 days', { databaseUsers: { rotationSchedule: Duration.days(2000) }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /databaseUsers.rotationSchedule must be from 4 hours to 1000 days/],
    ['the deprecated flat rotation schedule out of range', { rotationSchedule: Duration.hours(1), queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /databaseUsers.rotationSchedule must be from 4 hours/],
    ['a rate limit that is not a number', { throttling: { rateLimit: NaN }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /SecureDbApi Test\/Api: throttling.rateLimit must be a finite number of requests per second, at least 0, got NaN/],
    ['an infinite burst', { throttling: { burstLimit: Infinity }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /throttling.burstLimit must be a whole number of requests, at least 0, got Infinity/],
    ['a burst in fractions', { throttling: { burstLimit: 2.5 }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /throttling.burstLimit must be a whole number/],
    ['a negative usage plan rate', { usagePlan: { throttling: { rateLimit: -1 } }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /usagePlan.throttling.rateLimit must be a finite number/],
    ['64 MiB of memory', { functions: { memorySize: 64 }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /SecureDbApi Test\/Api: functions.memorySize must be a whole number of MiB from 128 to 10240 \(Lambda's limits\), got 64/],
    ['a reserved concurrency of 0', { functions: { reservedConcurrency: 0 }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, /functions.reservedConcurrency must be a whole number, at least 1 \(0 would refuse every call\), got 0/],
  ])('%s is refused at synth time', (_what, props, message) => {
    expect(build(props)).toThrow(message);
  });

  test.each<[string, Record<string, unknown>, ((api: SecureDbApi) => void) | undefined]>([
    ['same reader and writer', { databaseUsers: { reader: 'app', writer: 'app' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['invalid user name', { databaseUsers: { reader: 'Robert\'); DROP' }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['invalid API name', { apiName: 'orders/api', queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['a usage plan quota of 0', { usagePlan: { quota: 0 }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['schemas that are not identifiers', { databaseUsers: { schemas: ['a b'] }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['an API key without a usage plan', { queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, (api) => api.addApiKey('Key')],
    ['invalid queries', { queries: [{ route: 'GET /a', sql: 'SELECT :missing' }] }, undefined],
    ['claims under IAM authorization', { queries: [{ route: 'GET /mine', sql: 'SELECT * FROM t WHERE tenant = :claims.tenant_id' }] }, undefined],
    // Errors of the parts and of aws-cdk-lib, in the constructor and at synthesis, in the same form.
    ['a rotation schedule Secrets Manager refuses', { databaseUsers: { rotationSchedule: Duration.hours(1) }, queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
    ['a malformed route given to addQuery', { queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, (api) => api.addQuery('GETT /x', { sql: 'SELECT 1' })],
    ['a JWT authorizer in isolated subnets', { authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://shop'] }), queries: [{ route: 'GET /a', sql: 'SELECT 1' }] }, undefined],
  ])('the error for %s names the construct path first', (_what, props, mutate) => {
    expect(build(props, mutate)).toThrow(/^SecureDbApi Test\/Api: /);
  });

  test('`:claims.x` inside a literal or comment is not a claim reference', () => {
    expect(build({ queries: [{ route: 'GET /a', sql: "SELECT ':claims.tenant_id' AS label -- :claims.sub" }] })).not.toThrow();
  });

  describe('addQuery', () => {
    const api = () => {
      const t = postgresStack();
      return { t, api: new SecureDbApi(t.stack, 'Api', { vpc: t.vpc, database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }), queries: [{ route: 'GET /a/{x}', sql: 'SELECT :x', parameters: [QueryParameter.integer('x')] }] }) };
    };

    test('checks the new query at the call, before synthesis', () => {
      const { api: a } = api();
      expect(() => a.addQuery('GET /b', { sql: 'SELECT :nope' })).toThrow(/SQL uses :nope/);
      expect(() => a.addQuery('GET /mine', { sql: 'SELECT * FROM t WHERE tenant = :claims.tenant_id' })).toThrow(/but the API authorizes with AWS IAM/);
      expect(() => a.addQuery('GET /hits', { sql: 'UPDATE t SET hits = hits + 1', access: AccessLevel.WRITE }))
        .toThrow(/^SecureDbApi \S+\/Api: invalid queries:\n- query "getHits": a write query cannot be served at GET/);
    });

    test('refuses a route or a name already taken, by the props or by an earlier call, and keeps nothing of it', () => {
      const { t, api: a } = api();
      expect(() => a.addQuery('GET /a/{y}', { sql: 'SELECT :y', parameters: [QueryParameter.integer('y')] })).toThrow(/route GET \/a\/\{y\} is already used by query "getAByX"/);
      a.addQuery('GET /b', { sql: 'SELECT 1', name: 'listB' });
      expect(() => a.addQuery('GET /b', { sql: 'SELECT 2', name: 'other' })).toThrow(/route GET \/b is already used by query "listB"/);
      expect(() => a.addQuery('POST /c', { sql: 'SELECT 3', name: 'listB' })).toThrow(/the query name "listB" is already used by query "listB"/);
      // The same route again with the name it generates: the route is what the message names.
      a.addQuery('GET /d', { sql: 'SELECT 4' });
      expect(() => a.addQuery('GET /d', { sql: 'SELECT 5' })).toThrow(/route GET \/d is already used by query "getD"/);
      // THEN the refused calls left nothing behind: the app synthesizes with the two accepted routes.
      Template.fromStack(t.stack).resourceCountIs('AWS::ApiGateway::Method', 3);
    });

    test('refuses two path variables at one position under the same path, whichever methods they serve', () => {
      const { t, api: a } = api();
      a.addQuery('DELETE /a/{y}', { sql: 'SELECT :y', parameters: [QueryParameter.integer('y')] });
      a.addQuery('PUT /a/{x}/items/{item}', { sql: 'SELECT :x, :item', parameters: [QueryParameter.integer('x'), QueryParameter.integer('item')] });
      a.addQuery('GET /a/{x}/items/{id}', { sql: 'SELECT :x, :id', parameters: [QueryParameter.integer('x'), QueryParameter.integer('id')] });
      expect(() => Template.fromStack(t.stack)).toThrow(new RegExp([
        'SecureDbApi Test/Api: invalid queries:[^]*',
        'query "deleteAByY": path /a/\\{y\\} has \\{y\\} where query "getAByX" has \\{x\\} under /a: API Gateway allows one path variable per position',
        '[^]*query "getAByXItemsById": path /a/\\{x\\}/items/\\{id\\} has \\{id\\} where query "putAByXItemsByItem" has \\{item\\} under /a/\\{x\\}/items',
      ].join('')));
    });

    test('checks each query once, however many follow (building an API call by call stays linear)', () => {
      const { api: a } = api();
      const prepare = jest.spyOn(runtimeConfig, 'prepareConfig');
      try {
        for (let i = 0; i < 50; i++) a.addQuery(`GET /t${i}`, { sql: `SELECT * FROM t${i}` });
        const prepared = prepare.mock.calls.reduce((n, [config]) => n + config.queries.length, 0);
        // one per new query, plus the first call's look at the props query; quadratic would be 1,325
        expect(prepared).toBeLessThanOrEqual(51);
      } finally {
        prepare.mockRestore();
      }
    });
  });

  test('an engine mismatch is refused', () => {
    const t = postgresStack();
    expect(() => new SecureDbApi(t.stack, 'Api', { vpc: t.vpc, database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop', engine: DatabaseEngineFamily.MYSQL }), queries: [] }))
      .toThrow(/runs postgres, but the target options say mysql/);
  });

  test('an imported database without engine is refused', () => {
    const t = postgresStack();
    const imported = rds.DatabaseInstance.fromDatabaseInstanceAttributes(t.stack, 'Imp', { instanceIdentifier: 'x', instanceEndpointAddress: 'x.example.com', port: 5432, securityGroups: [] });
    expect(() => new SecureDbApi(t.stack, 'Api', { vpc: t.vpc, database: DatabaseTarget.fromInstance(imported, { databaseName: 'shop' }), queries: [] }))
      .toThrow(/does not say which engine it runs: set DatabaseTargetOptions.engine/);
  });

  test('a VPC without private subnets is refused', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'pub', subnetType: ec2.SubnetType.PUBLIC }] });
    const cluster = new rds.DatabaseCluster(stack, 'Db', { engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }), vpc, vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC }, writer: rds.ClusterInstance.serverlessV2('w') });
    expect(() => new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), queries: [] }))
      .toThrow(/no private or isolated subnets/);
  });
});
