/**
 * What synthesis alone does not show but a first deployment into an account that already holds other
 * stacks does: shared physical names, ports, account-wide resources, `cdk synth --strict` warnings.
 */
import { readdirSync } from 'fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ApiAuthorization, DatabaseTarget, SecureDbApi, SecureDbApiProps } from '../src';
import { ENV, existingProxy, fargateBackend, importedMysqlStack, postgresApi, postgresStack } from './helpers/stacks';
import { AlarmProperties, resourceEntriesOf, resourcesOf, RoleProperties } from './helpers/template';

/** The stack sets API Gateway's account once, and each of its `stages` stages depends on that. */
function expectStagesWaitForOneAccount(t: Template, stages: number): void {
  t.resourceCountIs('AWS::ApiGateway::Account', 1);
  const [accountId] = Object.keys(t.findResources('AWS::ApiGateway::Account'));
  const found = resourcesOf<unknown>(t, 'AWS::ApiGateway::Stage');
  expect(found).toHaveLength(stages);
  for (const s of found) expect(s.DependsOn).toEqual(expect.arrayContaining([accountId]));
}

describe('account-wide API Gateway logging', () => {
  test('two APIs in one stack share one AWS::ApiGateway::Account, and both stages wait for it', () => {
    const { stack, vpc, cluster } = postgresApi();
    new SecureDbApi(stack, 'Second', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      databaseUsers: { reader: 'second_reader', writer: 'second_writer' },
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
    });
    expectStagesWaitForOneAccount(Template.fromStack(stack), 2);
  });

  test.each([
    ['made before it', true],
    ['made after it', false],
  ])('an API that leaves the account setting alone waits for the one another API of its stack makes (%s)', (_label, configuringFirst) => {
    const { stack, vpc, cluster } = postgresStack();
    const make = (id: string, configureAccountLogging: boolean) => new SecureDbApi(stack, id, {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      databaseUsers: { reader: `${id.toLowerCase()}_reader`, writer: `${id.toLowerCase()}_writer` },
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
      configureAccountLogging,
    });
    for (const [id, configures] of configuringFirst ? [['Configuring', true], ['Leaving', false]] as const : [['Leaving', false], ['Configuring', true]] as const) make(id, configures);
    expectStagesWaitForOneAccount(Template.fromStack(stack), 2);
  });

  test('an API that leaves the account setting alone waits for an aws-cdk-lib RestApi\'s setting in its stack, and for nothing without one', () => {
    const leaving = ({ stack, vpc, cluster }: ReturnType<typeof postgresStack>) => new SecureDbApi(stack, 'Api', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
      configureAccountLogging: false,
    });
    const alone = postgresStack();
    leaving(alone);
    const t = Template.fromStack(alone.stack);
    t.resourceCountIs('AWS::ApiGateway::Account', 0);
    expect(resourcesOf<unknown>(t, 'AWS::ApiGateway::Stage')).toHaveLength(1);

    const mixed = postgresStack();
    const plain = new apigw.RestApi(mixed.stack, 'Plain', { cloudWatchRole: true });
    plain.root.addMethod('GET', new apigw.MockIntegration());
    leaving(mixed);
    const m = Template.fromStack(mixed.stack);
    const [accountId] = Object.keys(m.findResources('AWS::ApiGateway::Account'));
    const ours = resourcesOf<unknown>(m, 'AWS::ApiGateway::Stage', { Properties: { StageName: 'v1' } });
    expect(ours.map((s) => s.DependsOn)).toEqual([expect.arrayContaining([accountId])]);
  });

  test('the role, its policy and the account setting are retained when the stack is deleted', () => {
    const t = Template.fromStack(postgresApi().stack);
    const role = resourcesOf<RoleProperties>(t, 'AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] } } });
    expect(role).toHaveLength(1);
    expect(role[0]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    t.hasResource('AWS::IAM::ManagedPolicy', {
      DeletionPolicy: 'Retain',
      Properties: { PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['logs:PutLogEvents']) })] } },
    });
  });

  test('the role writes only the execution log groups of this account and region', () => {
    Template.fromStack(postgresApi().stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^SecureDbApiAccountLoggingCloudWatchRole') }],
      PolicyDocument: { Statement: [Match.objectLike({ Resource: 'arn:*:logs:eu-west-1:123456789012:log-group:API-Gateway-Execution-Logs_*' })] },
    });
  });

  test('an environment-agnostic stack scopes the role to its own account and region', () => {
    const app = new App();
    const stack = new Stack(app, 'Agnostic');
    const { vpc, cluster } = isolatedCluster(stack, AURORA_POSTGRES);
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^SecureDbApiAccountLoggingCloudWatchRole') }],
      PolicyDocument: {
        Statement: [Match.objectLike({
          Resource: { 'Fn::Join': ['', ['arn:*:logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:API-Gateway-Execution-Logs_*']] },
        })],
      },
    });
    // The wildcard's finding is acknowledged there too, although its id holds references.
    const findings = new AwsSolutionsChecks().validateScope(stack).violations
      .filter((v) => v.violatingResources.some((r) => r.constructPath?.includes('SecureDbApiAccountLogging')));
    expect(findings.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('cdk synth --strict', () => {
  test('a default SecureDbApi synthesizes without warnings', () => {
    const { stack } = postgresApi();
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('alarm periods set in the thresholds apply to every metric of a math expression, without warnings', () => {
    const { stack } = postgresApi({
      monitoring: {
        thresholds: {
          apiServerErrorRatePercent: { period: Duration.minutes(1) },
          proxyBorrowLatencyMs: { period: Duration.minutes(1) },
          functionDurationPercentOfTimeout: { period: Duration.minutes(1) },
        },
      },
    });
    const t = Template.fromStack(stack);
    const alarms = resourceEntriesOf<AlarmProperties>(t, 'AWS::CloudWatch::Alarm');
    for (const id of ['ApiServerErrorRate', 'ProxyBorrowLatency', 'ReaderDurationNearTimeout']) {
      const matching = alarms.filter(([logicalId]) => logicalId.includes(id));
      expect(matching).toHaveLength(1);
      const periods = matching[0][1].Properties.Metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Period] : []));
      expect(periods.length).toBeGreaterThan(0);
      expect(new Set(periods)).toEqual(new Set([60]));
    }
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});

/** Every physical name a template sets, by resource type and property. */
/** A VPC of isolated subnets only (no NAT gateway, no route to the internet). */
function isolatedVpc(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
}

const AURORA_MYSQL = rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_08_0 });
const AURORA_POSTGRES = rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 });

/** An isolated VPC in `stack` and an Aurora cluster of `engine` in it, with one serverless writer. */
function isolatedCluster(stack: Stack, engine: rds.IClusterEngine, options: { port?: number } = {}): { vpc: ec2.Vpc; cluster: rds.DatabaseCluster } {
  const vpc = isolatedVpc(stack);
  const cluster = new rds.DatabaseCluster(stack, 'Db', {
    engine,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('writer'),
    ...options,
  });
  return { vpc, cluster };
}

function physicalNames(t: Template): string[] {
  const NAME_PROPERTIES: Record<string, string> = {
    'AWS::RDS::DBProxy': 'DBProxyName',
    'AWS::ApiGateway::RestApi': 'Name',
    'AWS::ApiGateway::VpcLink': 'Name',
    'AWS::ApiGateway::ApiKey': 'Name',
    'AWS::ECS::TaskDefinition': 'Family',
    'AWS::ECS::Cluster': 'ClusterName',
    'AWS::ECS::Service': 'ServiceName',
    'AWS::ElasticLoadBalancingV2::LoadBalancer': 'Name',
    'AWS::ElasticLoadBalancingV2::TargetGroup': 'Name',
    'AWS::Lambda::Function': 'FunctionName',
    'AWS::IAM::Role': 'RoleName',
    'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
    'AWS::SNS::Topic': 'TopicName',
    'AWS::CloudWatch::Alarm': 'AlarmName',
    'AWS::CloudWatch::Dashboard': 'DashboardName',
    'AWS::Logs::LogGroup': 'LogGroupName',
    'AWS::SecretsManager::Secret': 'Name',
    'AWS::KMS::Alias': 'AliasName',
    'AWS::EC2::SecurityGroup': 'GroupName',
  };
  const names: string[] = [];
  for (const [type, property] of Object.entries(NAME_PROPERTIES)) {
    for (const r of Object.values(t.findResources(type)) as Array<{ Properties?: Record<string, unknown> }>) {
      const name = r.Properties?.[property];
      if (name !== undefined) names.push(`${type} ${JSON.stringify(name)}`);
    }
  }
  return names;
}

describe('physical names', () => {
  /** A SecureDbApi with every part that has a name (proxy, Fargate backend, VPC link, API key) in a stack named `stackName`. */
  function fullApi(app: App, id: string, stackName?: string): Stack {
    const stack = new Stack(app, id, { env: ENV, stackName });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const cluster = new rds.DatabaseCluster(stack, 'Db', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      vpc,
      writer: rds.ClusterInstance.serverlessV2('writer'),
    });
    const api = new SecureDbApi(stack, 'Api', {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      authorization: ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://shop'] }),
      backend: fargateBackend(stack),
      usagePlan: {},
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
    });
    api.addApiKey('Partner');
    return stack;
  }

  test('the same app deployed twice in one account under two stack names shares no physical name', () => {
    const staging = physicalNames(Template.fromStack(fullApi(new App(), 'Shop', 'shop-staging')));
    const production = physicalNames(Template.fromStack(fullApi(new App(), 'Shop', 'shop-production')));
    expect(staging).toEqual(expect.arrayContaining([expect.stringMatching(/^AWS::RDS::DBProxy "shopstaging-Api-[A-Z0-9]{8}"$/)]));
    expect(staging.filter((n) => production.includes(n))).toEqual([]);
  });

  test('two stacks of one app with the same construct ids share no physical name', () => {
    const app = new App();
    const [stackA, stackB] = [fullApi(app, 'ShopA'), fullApi(app, 'ShopB')];
    const a = physicalNames(Template.fromStack(stackA));
    const b = physicalNames(Template.fromStack(stackB));
    expect(a.filter((n) => b.includes(n))).toEqual([]);
  });

  test('proxy names follow RDS\'s rules also for long stack names', () => {
    const { stack } = postgresApi({}, { stackId: `Shop--${'X'.repeat(100)}` });
    const [proxy] = Object.values(Template.fromStack(stack).findResources('AWS::RDS::DBProxy')) as Array<{ Properties: { DBProxyName: string } }>;
    expect(proxy.Properties.DBProxyName.length).toBeLessThanOrEqual(60);
    expect(proxy.Properties.DBProxyName).toMatch(/^[A-Za-z](?:[A-Za-z0-9]|-(?!-))*[A-Za-z0-9]$/);
  });

  test('an invalid dashboard name is refused', () => {
    expect(() => postgresApi({ monitoring: { dashboardName: 'shop orders' } })).toThrow(/dashboardName "shop orders" must be 1 to 255 letters/);
  });

  test('a stage name API Gateway would refuse is refused at synth', () => {
    expect(() => postgresApi({ stageName: 'v 1!' })).toThrow(/SecureDbApi Test\/Api: stageName "v 1!" must be 1 to 128 letters, digits, '-' or '_'/);
    expect(() => postgresApi({ stageName: 'prod_v-2' })).not.toThrow();
  });

  test('an apiName another SecureDbApi of the app has in the same account and region is refused', () => {
    const { stack, vpc, cluster } = postgresStack();
    const make = (scope: Stack, id: string, apiName: string, users: string) => new SecureDbApi(scope, id, {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }),
      apiName,
      databaseUsers: { reader: `${users}_reader`, writer: `${users}_writer` },
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
    });
    make(stack, 'Orders', 'inv', 'orders');
    expect(() => make(stack, 'Billing', 'inv', 'billing')).toThrow(/SecureDbApi Test\/Billing: apiName "inv" is already the name of SecureDbApi Test\/Orders in the same account and region/);
    // Another stack of the app in the same account and region: refused too. Another region: allowed.
    const app = stack.node.root as App;
    expect(() => make(new Stack(app, 'Same', { env: ENV }), 'Api', 'inv', 'same')).toThrow(/apiName "inv" is already the name of SecureDbApi Test\/Orders/);
    expect(() => make(new Stack(app, 'Elsewhere', { env: { ...ENV, region: 'us-west-2' } }), 'Api', 'inv', 'elsewhere')).not.toThrow();
    expect(() => make(stack, 'Reports', 'inv-reports', 'reports')).not.toThrow();
  });
});

describe('database ports', () => {
  /** The ingress rules into the database's security group from the group whose description starts with `source`. */
  function ingressFrom(t: Template, source: string): Array<Record<string, unknown>> {
    const [sourceId] = Object.keys(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp(`^${source}`) } }));
    return (Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { SourceSecurityGroupId: { 'Fn::GetAtt': [sourceId, 'GroupId'] } } })) as Array<{ Properties: Record<string, unknown> }>)
      .map((r) => r.Properties);
  }

  test('rotation and the user bootstrap are let into a PostgreSQL instance on its own port 5433', () => {
    const app = new App();
    const stack = new Stack(app, 'Port', { env: ENV });
    const vpc = isolatedVpc(stack);
    const instance = new rds.DatabaseInstance(stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      port: 5433,
    });
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromInstance(instance, { databaseName: 'shop' }), queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    const t = Template.fromStack(stack);
    const dbPort = { 'Fn::GetAtt': [stack.getLogicalId(instance.node.defaultChild as rds.CfnDBInstance), 'Endpoint.Port'] };
    for (const source of ['Secret rotation', 'Database user bootstrap']) {
      expect(ingressFrom(t, source)).toEqual([expect.objectContaining({ IpProtocol: 'tcp', FromPort: dbPort, ToPort: dbPort })]);
    }
    t.hasResourceProperties('Custom::SecureDbApiDatabaseUsers', { Port: dbPort });
  });

  test('rotation is let into an Aurora MySQL cluster on its own port 3307', () => {
    const app = new App();
    const stack = new Stack(app, 'Port', { env: ENV });
    const { vpc, cluster } = isolatedCluster(stack, AURORA_MYSQL, { port: 3307 });
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    const dbPort = { 'Fn::GetAtt': [stack.getLogicalId(cluster.node.defaultChild as rds.CfnDBCluster), 'Endpoint.Port'] };
    expect(ingressFrom(Template.fromStack(stack), 'Secret rotation')).toEqual([expect.objectContaining({ FromPort: dbPort, ToPort: dbPort })]);
  });

  test('the rules open an imported instance\'s port 3307, and a different target port is refused', () => {
    const { stack, vpc, instance } = importedMysqlStack({ port: 3307 });
    const masterSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'inventory/master');
    new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromInstance(instance, { databaseName: 'inventory' }), databaseUsers: { masterSecret }, queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    const t = Template.fromStack(stack);
    for (const source of ['Secret rotation', 'Database user bootstrap']) {
      expect(ingressFrom(t, source)).toEqual([expect.objectContaining({ FromPort: 3307, ToPort: 3307 })]);
    }
    const other = importedMysqlStack({ port: 3307 });
    expect(() => new SecureDbApi(other.stack, 'Api', { vpc: other.vpc, database: DatabaseTarget.fromInstance(other.instance, { databaseName: 'inventory', port: 3306 }), queries: [] }))
      .toThrow(/SecureDbApi Imported\/Api: Instance Imported\/Db listens on port 3307, but the target options say 3306/);
  });

  test('an imported cluster without its port stops synthesis with an error naming the construct', () => {
    const { stack, vpc } = importedMysqlStack();
    const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Cluster', {
      clusterIdentifier: 'orders',
      engine: rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_08_0 }),
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'ClusterSg', 'sg-0fedcba9876543210')],
    });
    expect(() => new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'orders' }), queries: [] }))
      .toThrow(/SecureDbApi Imported\/Api: Cluster Imported\/Cluster does not say which port it listens on: import it with its port, or set DatabaseTargetOptions.port/);
  });
});

describe('two APIs on one database', () => {
  function auroraMysql() {
    const app = new App();
    const stack = new Stack(app, 'Two', { env: ENV });
    const { vpc, cluster } = isolatedCluster(stack, AURORA_MYSQL);
    const make = (id: string, props: Partial<SecureDbApiProps> = {}) => new SecureDbApi(stack, id, {
      vpc,
      database: DatabaseTarget.fromCluster(cluster, { databaseName: id.toLowerCase() }),
      queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }],
      ...props,
    });
    return { stack, make };
  }

  test('a second API with the default users is refused at synth, naming both', () => {
    const { make } = auroraMysql();
    make('Orders');
    expect(() => make('Billing')).toThrow(/SecureDbApi Two\/Billing: database user "api_reader" is already used by SecureDbApi Two\/Orders on the same database; each API needs its own databaseUsers.reader and databaseUsers.writer/);
    expect(() => make('Invoices', { databaseUsers: { reader: 'invoices_reader' } })).toThrow(/database user "api_writer" is already used by SecureDbApi Two\/Orders/);
  });

  test('APIs with users of their own each have their secrets and rotation, the database is alarmed on once, and the stack sets account logging once', () => {
    const { stack, make } = auroraMysql();
    make('Orders');
    make('Billing', { databaseUsers: { reader: 'billing_reader', writer: 'billing_writer' } });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 4);
    for (const user of ['api_reader', 'api_writer', 'billing_reader', 'billing_writer']) {
      t.resourcePropertiesCountIs('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username: user }) }) }, 1);
    }
    for (const metricName of ['CPUUtilization', 'DatabaseConnections']) t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/RDS', MetricName: metricName }, 1);
    expect(Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => id.includes('DatabaseFreeableMemory'))).toHaveLength(1);
    t.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  test('when the first API has no alarms the second alarms on the database', () => {
    const { stack, make } = auroraMysql();
    make('Orders', { monitoring: { alarms: false } });
    make('Billing', { databaseUsers: { reader: 'billing_reader', writer: 'billing_writer' } });
    Template.fromStack(stack).resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/RDS', MetricName: 'CPUUtilization' }, 1);
  });

  test('behind an existing proxy its owner manages the users, and sharing them is allowed', () => {
    const { stack, make } = auroraMysql();
    const vpc = stack.node.findChild('Vpc') as ec2.Vpc;
    const existing = existingProxy(stack, vpc);
    make('Orders', { proxy: { existing } });
    expect(() => make('Billing', { proxy: { existing } })).not.toThrow();
  });
});

describe('timeouts under API Gateway\'s 29 s', () => {
  test('the longest statement timeout (25 s) makes the function time out at 28 s, 1 s under API Gateway\'s limit', () => {
    const { stack } = postgresApi({ queries: [{ route: 'GET /slow', sql: 'SELECT 1 AS ok', timeout: Duration.seconds(25) }] });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^SecureDbApi read queries'), Timeout: 28 });
  });

  test('a timeout in milliseconds makes the function time out at the next whole second, as Lambda counts', () => {
    const { stack } = postgresApi({ queries: [{ route: 'GET /quick', sql: 'SELECT 1 AS ok', timeout: Duration.millis(2500) }] });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Description: Match.stringLikeRegexp('^SecureDbApi read queries'), Timeout: 6 });
  });

  test('a 26 s statement timeout stops synthesis with a clear error', () => {
    expect(() => Template.fromStack(postgresApi({ queries: [{ route: 'GET /slow', sql: 'SELECT 1 AS ok', timeout: Duration.seconds(26) }] }).stack))
      .toThrow(/query "getSlow": timeout 26 seconds is too long: at most 25 seconds/);
  });
});

describe('the OpenAPI document in the cloud assembly', () => {
  test('is named <construct id>.openapi.json, as documented', () => {
    const { app } = postgresApi({ openApi: {} });
    const outdir = app.synth().directory;
    expect(readdirSync(outdir).filter((f) => f.endsWith('.openapi.json'))).toEqual(['Api.openapi.json']);
  });

  test('a second API with the same id in one assembly is refused instead of overwriting the first', () => {
    const app = new App();
    const build = (id: string) => {
      const stack = new Stack(app, id, { env: ENV });
      const { vpc, cluster } = isolatedCluster(stack, AURORA_POSTGRES);
      new SecureDbApi(stack, 'Api', { vpc, database: DatabaseTarget.fromCluster(cluster, { databaseName: 'shop' }), openApi: {}, queries: [{ route: 'GET /ping', sql: 'SELECT 1 AS ok' }] });
    };
    build('Staging');
    build('Production');
    expect(() => app.synth()).toThrow(/SecureDbApi Production\/Api: the cloud assembly already holds Api.openapi.json, the OpenAPI document of SecureDbApi Staging\/Api; give the two APIs different construct ids/);
  });
});

describe('subnets without egress', () => {
  test('in isolated subnets synthesis says which VPC endpoints the in-VPC parts need, as information (no warning for --strict)', () => {
    const { stack } = postgresApi();
    const annotations = Annotations.fromStack(stack);
    annotations.hasInfo('/Test/Api', Match.stringLikeRegexp('subnets without a route out of the VPC: it needs VPC endpoints for Secrets Manager \\(com\\.amazonaws\\.eu-west-1\\.secretsmanager\\) for secret rotation and the database user bootstrap'));
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  test('in private subnets with egress there is nothing to say about VPC endpoints', () => {
    const { stack } = postgresApi({}, { egress: true });
    expect(Annotations.fromStack(stack).findInfo('/Test/Api', Match.stringLikeRegexp('VPC endpoints'))).toEqual([]);
  });
});
