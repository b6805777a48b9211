/**
 * The private container backend in the template: Fargate tasks that reach only the proxy and can only
 * connect as the two users, an internal NLB that admits only the VPC link, TLS on both hops, HTTP proxy
 * integrations that set the caller's identity from the authorizer, and the image staged from the
 * package's Dockerfile with the route table.
 */
import { existsSync, readFileSync } from 'fs';
import * as path from 'path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, PCIDSS321Checks } from 'cdk-nag';
import { AccessLevel, ApiAuthorization, ColumnType, DatabaseTarget, QueryBackend, QueryParameter, SecureDbApi, SecureDbApiProps } from '../../src';
import { RuntimeConfig } from '../../src/shared/config';
import { postgresStack } from '../helpers/stacks';
import { DashboardProperties, PolicyProperties, resourcesOf, SecurityGroupProperties } from '../helpers/template';

const JWT = ApiAuthorization.jwt({ issuer: 'https://example.okta.com/oauth2/default', audiences: ['api://orders'] });
const QUERIES: SecureDbApiProps['queries'] = [
  { route: 'GET /orders/{id}', sql: 'SELECT id FROM orders WHERE id = :id AND tenant_id = :claims.tenant_id', parameters: [QueryParameter.integer('id')], single: true },
  { route: 'POST /orders', access: AccessLevel.WRITE, sql: 'INSERT INTO orders (note) VALUES (:note)', parameters: [QueryParameter.string('note')] },
  { route: 'GET /health', sql: 'SELECT 1 AS ok', allowUnauthenticated: true },
];
const CERT_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

function api(backend: (t: ReturnType<typeof postgresStack>) => QueryBackend, props: Partial<SecureDbApiProps> = {}) {
  const t = postgresStack({ egress: true });
  const construct = new SecureDbApi(t.stack, 'Api', {
    vpc: t.vpc,
    database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
    authorization: JWT,
    queries: QUERIES,
    backend: backend(t),
    ...props,
  });
  return { ...t, api: construct };
}

const fargate = (t: ReturnType<typeof postgresStack>) => QueryBackend.fargate({
  domainName: 'queries.internal.example.com',
  certificate: acm.Certificate.fromCertificateArn(t.stack, 'Cert', CERT_ARN),
  accessLogBucket: s3.Bucket.fromBucketName(t.stack, 'Logs', 'log-archive-bucket'),
  desiredCount: 3,
  poolSize: 5,
});

describe('QueryBackend.fargate', () => {
  const { stack, app, api: construct } = api(fargate);
  const t = Template.fromStack(stack);

  test('the tasks run read-only, as a non-root user, in private subnets, and reach only the proxy and HTTPS', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        ReadonlyRootFilesystem: true,
        Privileged: false,
        User: 'app',
        // The server publishes its audit records and metrics under the API's name, as the functions do.
        Environment: Match.arrayWith([{ Name: 'SECURE_DB_API_POOL_SIZE', Value: '5' }, { Name: 'POWERTOOLS_SERVICE_NAME', Value: construct.api.restApiName }]),
        PortMappings: [{ ContainerPort: 8443, Protocol: 'tcp' }],
        LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
      })],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    t.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 3,
      LaunchType: 'FARGATE',
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
    });
    const [sg] = resourcesOf<SecurityGroupProperties>(t, 'AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Query tasks') } });
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })]);
  });

  test('the task role can only connect as the reader and the writer through the proxy', () => {
    const [policy] = resourcesOf<PolicyProperties>(t, 'AWS::IAM::ManagedPolicy', { Properties: { Description: 'Least privilege for the query tasks' } });
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(policy.Properties.PolicyDocument.Statement).toHaveLength(1);
    expect(statement.Action).toBe('rds-db:connect');
    expect(JSON.stringify(statement.Resource)).toMatch(/\/api_reader".*\/api_writer"/);
  });

  test('an internal NLB that only the VPC link reaches, TLS 1.3 with the certificate, TLS to the tasks', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internal',
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
    });
    const [lbSg] = resourcesOf<SecurityGroupProperties>(t, 'AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Query load balancer') } });
    expect(lbSg.Properties.SecurityGroupIngress).toBeUndefined();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, Protocol: 'TLS', SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06', Certificates: [{ CertificateArn: CERT_ARN }] });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { Port: 8443, Protocol: 'TLS', TargetType: 'ip', HealthCheckProtocol: 'HTTPS', HealthCheckPath: '/healthz' });
    t.resourceCountIs('AWS::ApiGateway::VpcLink', 1);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      LoadBalancerAttributes: Match.arrayWith([
        { Key: 'access_logs.s3.enabled', Value: 'true' },
        { Key: 'access_logs.s3.bucket', Value: 'log-archive-bucket' },
      ]),
    });
  });

  test('each route is an HTTP proxy through the VPC link to https://<domain><path>, with identity headers from the authorizer', () => {
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'GET',
      AuthorizationType: 'CUSTOM',
      Integration: Match.objectLike({
        Type: 'HTTP_PROXY',
        ConnectionType: 'VPC_LINK',
        Uri: 'https://queries.internal.example.com/orders/{id}',
        RequestParameters: {
          'integration.request.path.id': 'method.request.path.id',
          'integration.request.header.x-secure-db-api-claims': 'context.authorizer.claims',
          'integration.request.header.x-secure-db-api-principal': 'context.authorizer.principalId',
          'integration.request.header.x-secure-db-api-request-id': 'context.requestId',
        },
      }),
    });
    // The opened route sets fixed values, so a client's own identity headers never get through.
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      OperationName: 'getHealth',
      AuthorizationType: 'NONE',
      Integration: Match.objectLike({ RequestParameters: Match.objectLike({ 'integration.request.header.x-secure-db-api-claims': "'{}'", 'integration.request.header.x-secure-db-api-principal': "'anonymous'" }) }),
    });
  });

  test('no query functions; the image is staged from the package\'s Dockerfile with the route table and both connections', () => {
    expect(Object.keys(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('(read|write) queries') } }))).toEqual([]);
    const outdir = app.synth().directory;
    const manifest = JSON.parse(readFileSync(path.join(outdir, 'Test.assets.json'), 'utf8'));
    const [image] = Object.values<{ source: { directory: string } }>(manifest.dockerImages);
    const dir = path.join(outdir, image.source.directory);
    expect(readFileSync(path.join(dir, 'Dockerfile'), 'utf8')).toContain('USER app');
    expect(existsSync(path.join(dir, 'entrypoint.sh'))).toBe(true);
    const config: RuntimeConfig = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect([config.connection.user, config.writeConnection?.user]).toEqual(['api_reader', 'api_writer']);
    expect(config.queries.map((q) => q.name)).toEqual(['getOrdersById', 'postOrders', 'getHealth']);
  });

  test('alarms watch the Fargate backend\'s task CPU, memory and health checks, and the dashboard shows them', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm');
    const byId = (id: string) => Object.entries(alarms).find(([logicalId]) => logicalId.includes(id))![1].Properties;
    const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    const service = Object.keys(t.findResources('AWS::ECS::Service'))[0];
    const targetGroup = Object.keys(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup'))[0];
    const ecsDimensions = [{ Name: 'ClusterName', Value: Match.anyValue() }, { Name: 'ServiceName', Value: { 'Fn::GetAtt': [service, 'Name'] } }];
    expect(byId('ContainerCpu')).toMatchObject({
      Namespace: 'AWS/ECS', MetricName: 'CPUUtilization', Statistic: 'Average', Period: 300, Threshold: 80, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
    });
    expect(byId('ContainerMemory')).toMatchObject({ Namespace: 'AWS/ECS', MetricName: 'MemoryUtilization', Statistic: 'Average', Threshold: 80 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', Namespace: 'AWS/ECS', Dimensions: ecsDimensions });
    // No healthy task is an outage; missing data counts as one.
    expect(byId('ContainerHealthyTasks')).toMatchObject({
      Namespace: 'AWS/NetworkELB', MetricName: 'HealthyHostCount', Statistic: 'Minimum', Period: 300, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
    });
    expect(byId('ContainerUnhealthyTasks')).toMatchObject({
      Namespace: 'AWS/NetworkELB', MetricName: 'UnHealthyHostCount', Statistic: 'Maximum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
    expect(JSON.stringify(byId('ContainerHealthyTasks').Dimensions)).toContain(targetGroup);
    for (const id of ['ContainerCpu', 'ContainerMemory', 'ContainerHealthyTasks', 'ContainerUnhealthyTasks']) {
      expect(byId(id).AlarmActions).toEqual([{ Ref: topic }]);
      expect(byId(id).AlarmDescription).not.toContain('{t}');
    }
    // There are no query functions to watch: API 3 + container 4 + proxy 4 + database 3.
    expect(Object.keys(alarms)).toHaveLength(14);
    const body = JSON.stringify(stack.resolve(resourcesOf<DashboardProperties>(t, 'AWS::CloudWatch::Dashboard')[0].Properties.DashboardBody));
    expect(body).toContain('Query tasks: CPU and memory (%)');
    expect(body).toContain('\\"AWS/NetworkELB\\",\\"HealthyHostCount\\"');
  });

  test('container thresholds apply, and one can be turned off', () => {
    const { stack: s } = api(fargate, {
      monitoring: {
        thresholds: {
          containerCpuPercent: { threshold: 65, evaluationPeriods: 5, datapointsToAlarm: 4 },
          containerUnhealthyTasks: { enabled: false },
        },
      },
    });
    const tt = Template.fromStack(s);
    tt.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'CPUUtilization', Namespace: 'AWS/ECS', Threshold: 65, EvaluationPeriods: 5, DatapointsToAlarm: 4 });
    tt.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount' }, 0);
    tt.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'HealthyHostCount' }, 1);
  });

  test('no unacknowledged cdk-nag findings on the construct', () => {
    const packs: NagPack[] = [new AwsSolutionsChecks(), new HIPAASecurityChecks(), new NIST80053R5Checks(), new PCIDSS321Checks()];
    expect(packs.flatMap((p) => p.validateScope(construct).violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(',')}`))).toEqual([]);
  });
});

describe('QueryBackend.networkLoadBalancer', () => {
  test('a VPC link to your own NLB, and no Fargate service', () => {
    const { stack } = api((t) => QueryBackend.networkLoadBalancer({
      loadBalancer: elbv2.NetworkLoadBalancer.fromNetworkLoadBalancerAttributes(t.stack, 'Nlb', {
        loadBalancerArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/queries/0123456789abcdef',
      }),
      domainName: 'queries.corp.example.com',
    }));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ApiGateway::VpcLink', { TargetArns: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/queries/0123456789abcdef'] });
    t.resourceCountIs('AWS::ECS::Service', 0);
    // Your load balancer and its targets are yours to watch: no container alarms.
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/NetworkELB' }, 0);
    t.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ECS' }, 0);
    t.hasResourceProperties('AWS::ApiGateway::Method', { Integration: Match.objectLike({ Uri: 'https://queries.corp.example.com/orders' }) });
  });
});

describe('refusals', () => {
  test('Cognito authorization cannot pass claims to the container: use the JWT authorizer for Cognito tokens', () => {
    expect(() => {
      const t = postgresStack({ egress: true });
      new SecureDbApi(t.stack, 'Api', {
        vpc: t.vpc,
        database: DatabaseTarget.fromCluster(t.cluster, { databaseName: 'shop' }),
        authorization: ApiAuthorization.cognito(new cognito.UserPool(t.stack, 'Pool')),
        queries: QUERIES,
        backend: fargate(t),
      });
      Template.fromStack(t.stack);
    }).toThrow(/only the JWT authorizer provides; verify Cognito tokens with ApiAuthorization.jwt/);
  });

  test.each([
    [{ domainName: 'not a host' }, /is not a host name/],
    [{ desiredCount: 0 }, /desiredCount must be a whole number from 1/],
    [{ poolSize: 1.5 }, /poolSize must be a whole number/],
  ])('%j is refused', (override, error) => {
    const t = postgresStack({ egress: true });
    const certificate = acm.Certificate.fromCertificateArn(t.stack, 'Cert', CERT_ARN);
    const accessLogBucket = s3.Bucket.fromBucketName(t.stack, 'Logs', 'log-archive-bucket');
    expect(() => QueryBackend.fargate({ domainName: 'q.example.com', certificate, accessLogBucket, ...override })).toThrow(error);
  });
});

describe('the query functions\' security group', () => {
  /** The security groups with the query functions' description, and the proxy's ingress rules from them. */
  function functionGroups(t: Template) {
    const groups = Object.keys(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Query functions') } }));
    const ingress = t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { Description: 'Query functions' } });
    return { groups, ingress: Object.keys(ingress) };
  }

  test('QueryBackend.fargate without GraphQL creates no function security group and no proxy ingress for it', () => {
    const { stack, api: construct } = api(fargate);
    expect(functionGroups(Template.fromStack(stack))).toEqual({ groups: [], ingress: [] });
    expect(construct.securityGroup).toBeUndefined();
  });

  test('QueryBackend.fargate with GraphQL gives the GraphQL function its group, let into the proxy', () => {
    const { stack, api: construct } = api(fargate, {
      graphql: {},
      queries: [{ route: 'GET /orders/{id}', sql: 'SELECT id FROM orders WHERE id = :id', parameters: [QueryParameter.integer('id')], columns: [{ name: 'id', type: ColumnType.INTEGER }] }],
    });
    const groups = functionGroups(Template.fromStack(stack));
    expect(groups.groups).toHaveLength(1);
    expect(groups.ingress).toHaveLength(1);
    expect(construct.securityGroup).toBeInstanceOf(ec2.SecurityGroup);
  });
});
