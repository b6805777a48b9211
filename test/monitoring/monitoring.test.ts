import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AlarmActions } from '../../src';
import { postgresApi } from '../helpers/stacks';
import { DashboardProperties, resourcesOf } from '../helpers/template';

function alarms(t: Template): Record<string, any> {
  return t.findResources('AWS::CloudWatch::Alarm');
}

/** The dashboard body with CloudFormation references flattened to text. */
function dashboardBody(stack: Stack, t: Template): string {
  const body = resourcesOf<DashboardProperties>(t, 'AWS::CloudWatch::Dashboard')[0].Properties.DashboardBody;
  return JSON.stringify(stack.resolve(body));
}

describe('default monitoring', () => {
  const { stack, api } = postgresApi();
  const t = Template.fromStack(stack);
  const all = alarms(t);
  const byId = (id: string) => Object.entries(all).find(([logicalId]) => logicalId.includes(id))![1].Properties;

  test('every alarm exists, notifies the topic on ALARM and OK, and says what to do', () => {
    // 3 API + 4 per function (reader, writer) + 4 proxy + 3 database
    expect(Object.keys(all)).toHaveLength(18);
    const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
    for (const a of Object.values(all)) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.Properties.OKActions).toEqual([{ Ref: topic }]);
      expect(a.Properties.TreatMissingData).toMatch(/^(notBreaching|breaching|ignore)$/);
      expect(a.Properties.AlarmDescription.length).toBeGreaterThan(60);
      expect(a.Properties.AlarmDescription).not.toContain('{t}');
    }
  });

  test('API 5XX rate is a percentage of requests over 5 minutes', () => {
    const a = byId('ApiServerErrorRate');
    expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
    expect(a.Metrics[0].Expression).toBe('100 * errors / MAX([errors, requests])');
    expect(a.Metrics.find((m: { Id: string }) => m.Id === 'errors').MetricStat).toMatchObject({ Metric: { MetricName: '5XXError', Namespace: 'AWS/ApiGateway' }, Period: 300, Stat: 'Sum' });
  });

  test('proxy availability alarms below 99% and counts missing data as unavailable', () => {
    expect(byId('ProxyAvailability')).toMatchObject({ Threshold: 99, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching', MetricName: 'AvailabilityPercentage', Namespace: 'AWS/RDS' });
  });

  test('proxy, function and database alarms watch the named metrics', () => {
    expect(byId('ProxyAuthFailures')).toMatchObject({ MetricName: 'ClientConnectionsSetupFailedAuth', Threshold: 1 });
    expect(byId('ProxyPinnedConnections')).toMatchObject({ MetricName: 'DatabaseConnectionsCurrentlySessionPinned' });
    expect(byId('ProxyBorrowLatency').Metrics[0].Expression).toBe('latency / 1000');
    expect(byId('ReaderDurationNearTimeout').Metrics[0].Expression).toBe('100 * duration / 8000');
    expect(byId('WriterThrottles')).toMatchObject({ MetricName: 'Throttles', Namespace: 'AWS/Lambda' });
    expect(byId('ReaderConcurrentExecutions')).toMatchObject({ MetricName: 'ConcurrentExecutions', Threshold: 100 });
    expect(byId('DatabaseCpu')).toMatchObject({ MetricName: 'CPUUtilization', Namespace: 'AWS/RDS', Threshold: 80, TreatMissingData: 'ignore' });
    expect(byId('DatabaseFreeableMemory')).toMatchObject({ Threshold: 256, ComparisonOperator: 'LessThanThreshold' });
  });

  test('the alarm topic is encrypted with the construct key and accepts only TLS', () => {
    const key = Object.keys(t.findResources('AWS::KMS::Key'))[0];
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
    });
  });

  test('the dashboard has a graph per route with API and query metrics, and the proxy and database', () => {
    const body = dashboardBody(stack, t);
    for (const route of ['GET /orders/{id}', 'GET /orders', 'POST /orders']) {
      expect(body).toContain(`\\"title\\":\\"${route}\\"`);
      expect(body).toContain(`\\"Route\\",\\"${route}\\"`);
    }
    // The query duration of this API's functions only: they publish under the API's name, not a name every API shares.
    expect(api.api.restApiName).toMatch(/^Test-Api-/);
    expect(body.match(/\\"service\\",\\"([^\\]+)\\"/g)).toEqual(Array(3).fill(`\\"service\\",\\"${api.api.restApiName}\\"`));
    expect(body).toContain('SecureDbApi');
    expect(body).toContain('DatabaseConnectionsBorrowLatency');
    expect(body).toContain('FreeableMemory');
  });
});

interface Widget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { title?: string; alarms?: unknown[] };
}

/** The dashboard's widgets, its references written as placeholders. */
function widgetsOf(stack: Stack): Widget[] {
  const joined: { 'Fn::Join': [string, unknown[]] } = stack.resolve(resourcesOf<DashboardProperties>(Template.fromStack(stack), 'AWS::CloudWatch::Dashboard')[0].Properties.DashboardBody);
  return JSON.parse(joined['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'X')).join('')).widgets;
}

test('a large API stays under the 500 widgets a dashboard holds, its route graphs three to a row, none overlapping', () => {
  const queries = Array.from({ length: 200 }, (_, i) => ({ route: `GET /r${i}`, sql: 'SELECT 1 AS one' }));
  const { stack } = postgresApi({ queries });
  const widgets = widgetsOf(stack);
  expect(widgets.length).toBeLessThanOrEqual(500);
  const routes = widgets.filter((wd) => /^GET \/r\d+$/.test(wd.properties.title ?? ''));
  expect(routes.map((wd) => wd.properties.title)).toEqual(queries.map((q) => q.route));
  expect(new Set(routes.map((wd) => wd.y)).size).toBe(Math.ceil(200 / 3));
  expect(routes.slice(0, 4).map((wd) => [wd.x, wd.y - routes[0].y])).toEqual([[0, 0], [8, 0], [16, 0], [0, 6]]);
  expect(widgets.filter((wd) => wd.x + wd.width > 24)).toEqual([]);
  const overlapping = widgets.flatMap((a, i) => widgets.slice(i + 1)
    .filter((b) => !(a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y))
    .map((b) => [a.properties.title, b.properties.title]));
  expect(overlapping).toEqual([]);
});

test('without alarms the dashboard has no alarm status widget, which CloudWatch refuses without alarms', () => {
  for (const monitoring of [{ alarms: false }, { thresholds: {} }]) {
    const { stack } = postgresApi({ monitoring });
    const statuses = widgetsOf(stack).filter((wd) => wd.type === 'alarm');
    if (monitoring.alarms === false) expect(statuses).toEqual([]);
    else expect(statuses.map((wd) => wd.properties.alarms?.length)).toEqual([18]);
  }
});

describe('monitoring options', () => {
  test('thresholds override defaults and an alarm can be turned off', () => {
    const { stack } = postgresApi({
      monitoring: {
        thresholds: {
          apiLatencyP99Ms: { threshold: 900, period: Duration.minutes(1), evaluationPeriods: 5, datapointsToAlarm: 5 },
          databaseConnections: { enabled: false },
        },
      },
    });
    const all = alarms(Template.fromStack(stack));
    const latency = Object.entries(all).find(([id]) => id.includes('ApiLatencyP99'))![1].Properties;
    expect(latency).toMatchObject({ Threshold: 900, Period: 60, EvaluationPeriods: 5, DatapointsToAlarm: 5, ExtendedStatistic: 'p99' });
    expect(Object.keys(all).some((id) => id.includes('DatabaseConnections'))).toBe(false);
  });

  test('a custom action strategy replaces the topic', () => {
    const { stack } = postgresApi({
      monitoring: { alarmAction: AlarmActions.fromActions({ bind: () => ({ alarmActionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:pager' }) } as cloudwatch.IAlarmAction) },
    });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    for (const a of Object.values(alarms(t))) expect(a.Properties.AlarmActions).toEqual(['arn:aws:lambda:eu-west-1:123456789012:function:pager']);
  });

  test('alarms and dashboard can both be turned off', () => {
    const { stack, api } = postgresApi({ monitoring: { alarms: false, dashboard: false } });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    t.resourceCountIs('AWS::SNS::Topic', 0);
    expect(api.alarmTopic).toBeUndefined();
  });

  test('the public members expose what was created', () => {
    const { stack, api } = postgresApi();
    Template.fromStack(stack);
    expect(api.alarms).toHaveLength(18);
    expect(api.dashboard).toBeInstanceOf(cloudwatch.Dashboard);
  });

  test('impossible alarm settings are refused', () => {
    const { app } = postgresApi({ monitoring: { thresholds: { functionErrors: { evaluationPeriods: 2, datapointsToAlarm: 3 } } } });
    expect(() => app.synth()).toThrow(/ReaderErrors: datapointsToAlarm must be from 1 to evaluationPeriods \(2\)/);
  });
});
