import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { SecureDbApiMetricFactory } from './metric-factory';
import { MonitoringProps } from './monitoring-props';
import { RenderedOnceWidget } from './rendered-once-widget';
import { addRouteGraphs } from './route-graphs';

/** Route widgets at most, leaving room under CloudWatch's 500 widgets per dashboard for the rest. */
const MAX_ROUTE_WIDGETS = 450;

/**
 * The dashboard, in `scope`: the API, one graph per query route, three to a row (up to the widget limit),
 * the query functions or tasks, the proxy and the database, and the alarms' states.
 */
export function createDashboard(
  scope: Construct, props: MonitoringProps, metrics: SecureDbApiMetricFactory, alarms: cloudwatch.IAlarm[],
): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
  // Graphs rendered once per synthesis, not at each of the body's three resolutions (see RenderedOnceWidget).
  const w = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
    new RenderedOnceWidget(new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 }));
  dashboard.addWidgets(
    new cloudwatch.TextWidget({ markdown: `# SecureDbApi ${scope.node.scope?.node.path}\nAPI, query functions, RDS Proxy and database. Alarms: ${alarms.length}.`, width: 24, height: 2 }),
  );
  dashboard.addWidgets(
    w('API requests and errors', [metrics.api('Count', 'Sum')], [metrics.api('4XXError', 'Sum'), metrics.api('5XXError', 'Sum')]),
    w('API latency (ms)', [metrics.api('Latency', 'p50'), metrics.api('Latency', 'p99'), metrics.api('IntegrationLatency', 'p99')]),
    // CloudWatch refuses an alarm status widget without alarms (alarms off, or every threshold disabled).
    ...(alarms.length > 0 ? [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 8, height: 6 })] : []),
  );
  // One graph per route, three to a row: a dashboard holds at most 500 widgets, and a stack fits about 200
  // routes.
  const shown = props.routes.slice(0, MAX_ROUTE_WIDGETS);
  if (shown.length > 0) {
    addRouteGraphs(dashboard, shown, (r) => {
      const dims = { Method: r.method, Resource: r.path };
      return new cloudwatch.GraphWidget({
        title: r.name,
        left: [metrics.api('Latency', 'p99', dims), metrics.route(r.name, 'QueryDuration', 'p99')],
        right: [metrics.api('Count', 'Sum', dims), metrics.api('4XXError', 'Sum', dims), metrics.api('5XXError', 'Sum', dims)],
        width: 8,
        height: 6,
      });
    });
  }
  if (props.routes.length > shown.length) {
    dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `${props.routes.length - shown.length} more routes are not shown (dashboard widget limit).`, width: 24, height: 1 }));
  }
  for (const f of props.functions) {
    dashboard.addWidgets(
      w(`${f.label} function: invocations`, [f.function.metricInvocations()], [f.function.metricErrors(), f.function.metricThrottles()]),
      w(`${f.label} function: duration (ms)`, [f.function.metricDuration({ statistic: 'p50' }), f.function.metricDuration({ statistic: 'p99' })]),
      w(`${f.label} function: concurrency`, [f.function.metric('ConcurrentExecutions', { statistic: 'Maximum' })]),
    );
  }
  const container = props.container;
  if (container) {
    dashboard.addWidgets(
      w('Query tasks: CPU and memory (%)', [container.service.metricCpuUtilization({ statistic: 'Average' }), container.service.metricMemoryUtilization({ statistic: 'Average' })]),
      w('Query tasks: health check', [container.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum' })], [container.targetGroup.metrics.unHealthyHostCount({ statistic: 'Maximum' })]),
    );
  }
  const proxy = (name: string, stat: string) => metrics.proxy(name, stat);
  const present = (ms: Array<cloudwatch.IMetric | undefined>) => ms.filter((m): m is cloudwatch.IMetric => m !== undefined);
  if (props.proxy) {
    dashboard.addWidgets(
      w('Proxy connections', present([proxy('ClientConnections', 'Maximum'), proxy('DatabaseConnections', 'Maximum')]), present([proxy('DatabaseConnectionsCurrentlySessionPinned', 'Maximum')])),
      w('Proxy borrow latency (µs) and auth failures', present([proxy('DatabaseConnectionsBorrowLatency', 'Average')]), present([proxy('ClientConnectionsSetupFailedAuth', 'Sum')])),
      w('Proxy availability (%)', present([metrics.proxyAvailability()])),
    );
  }
  dashboard.addWidgets(
    w('Database CPU (%)', [metrics.database('CPUUtilization', 'Average')]),
    w('Database connections', [metrics.database('DatabaseConnections', 'Maximum')]),
    w('Database freeable memory (bytes)', [metrics.database('FreeableMemory', 'Minimum')]),
  );
  return dashboard;
}
