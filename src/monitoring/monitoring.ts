import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { IAlarmActionStrategy } from './alarm-actions';
import { AlarmThresholds, ThresholdOptions } from './thresholds';
import { METRICS_NAMESPACE } from '../shared/metric-names';

/** A query function with what its alarms need to know. */
export interface MonitoredFunction {
  readonly label: string;
  readonly function: lambda.Function;
  readonly timeout: Duration;
  readonly reservedConcurrency?: number;
}

/** The container backend's service and the target group its tasks are registered in. */
export interface MonitoredContainerService {
  readonly service: ecs.FargateService;
  readonly targetGroup: elbv2.NetworkTargetGroup;
}

export interface MonitoringProps {
  /** An API Gateway metric of the stage; extra dimensions narrow it to one route. */
  readonly apiMetric: (metricName: string, props?: cloudwatch.MetricOptions) => cloudwatch.Metric;
  readonly routes: readonly { method: string; path: string }[];
  /** The `service` dimension of the query module's metrics: the API's name. */
  readonly serviceName: string;
  readonly functions: readonly MonitoredFunction[];
  /** The Fargate service that serves the queries (QueryBackend.fargate), when there is one. */
  readonly container?: MonitoredContainerService;
  /** undefined for an existing proxy whose name is not known. */
  readonly proxy?: rds.IDatabaseProxy;
  readonly databaseMetric: (metricName: string, props?: cloudwatch.MetricOptions) => cloudwatch.Metric;
  /** Alarm on the database: false when another API of the stack on the same database already does. */
  readonly databaseAlarms: boolean;
  readonly thresholds: AlarmThresholds;
  readonly action: IAlarmActionStrategy;
  readonly alarms: boolean;
  readonly dashboard: boolean;
  readonly dashboardName?: string;
}

/** Route widgets at most, leaving room under CloudWatch's 500 widgets per dashboard for the rest. */
const MAX_ROUTE_WIDGETS = 450;

/** AvailabilityPercentage is reported per target group and role. */
const PROXY_TARGET = { TargetGroup: 'default', TargetRole: 'READ_WRITE' };

interface AlarmSpec {
  readonly id: string;
  readonly options: ThresholdOptions | undefined;
  readonly defaultThreshold: number;
  readonly metric: cloudwatch.IMetric;
  readonly comparison: cloudwatch.ComparisonOperator;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** What a person on call reads first. */
  readonly description: string;
}

/**
 * The metric at the alarm's period. A math expression gets its metrics at that period too: CloudWatch
 * would override theirs anyway, and aws-cdk-lib warns about it (which fails `cdk synth --strict`).
 */
function atPeriod(metric: cloudwatch.IMetric, period: Duration): cloudwatch.IMetric {
  if (metric instanceof cloudwatch.MathExpression) {
    const usingMetrics = Object.fromEntries(Object.entries(metric.usingMetrics).map(([id, m]) => [id, atPeriod(m, period)]));
    return new cloudwatch.MathExpression({ expression: metric.expression, usingMetrics, label: metric.label, color: metric.color, period });
  }
  return (metric as cloudwatch.Metric).with({ period });
}

/** Alarms from threshold structs, and a dashboard with one row per query route. */
export class SecureDbApiMonitoring extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, private readonly props: MonitoringProps) {
    super(scope, id);
    if (props.alarms) this.createAlarms();
    if (props.dashboard) this.dashboard = this.createDashboard();
  }

  private apiMetric(metricName: string, statistic: string, dimensionsMap: Record<string, string> = {}): cloudwatch.Metric {
    return this.props.apiMetric(metricName, { statistic, dimensionsMap });
  }

  private proxyMetric(metricName: string, statistic: string, extra: Record<string, string> = {}): cloudwatch.Metric | undefined {
    if (!this.props.proxy) return undefined;
    return new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, statistic, dimensionsMap: { ProxyName: this.props.proxy.dbProxyName, ...extra }, period: Duration.minutes(1) });
  }

  private createAlarms(): void {
    const t = this.props.thresholds;
    const M = cloudwatch.ComparisonOperator;
    const missingOk = cloudwatch.TreatMissingData.NOT_BREACHING;
    const rate = (metricName: string, label: string) => new cloudwatch.MathExpression({
      expression: '100 * errors / MAX([errors, requests])',
      usingMetrics: { errors: this.apiMetric(metricName, 'Sum'), requests: this.apiMetric('Count', 'Sum') },
      label,
      period: Duration.minutes(5),
    });
    const specs: AlarmSpec[] = [
      {
        id: 'ApiServerErrorRate',
        options: t.apiServerErrorRatePercent,
        defaultThreshold: 1,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: missingOk,
        metric: rate('5XXError', '5XX %'),
        description: 'More than {t}% of API requests failed with 5XX. Check the query functions\' logs (audit records with outcome internal/unavailable/timeout) and the proxy and database alarms.',
      },
      {
        id: 'ApiClientErrorRate',
        options: t.apiClientErrorRatePercent,
        defaultThreshold: 10,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: missingOk,
        metric: rate('4XXError', '4XX %'),
        description: 'More than {t}% of API requests were refused with 4XX: a client sends bad requests or unsigned calls, or someone is probing. See the access log\'s caller and validation error fields.',
      },
      {
        id: 'ApiLatencyP99',
        options: t.apiLatencyP99Ms,
        defaultThreshold: 2500,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: missingOk,
        metric: this.apiMetric('Latency', 'p99'),
        description: 'API p99 latency is above {t} ms. Look at the dashboard\'s per-route query duration, proxy borrow latency and database CPU.',
      },
    ];
    for (const f of this.props.functions) {
      const timeoutMs = f.timeout.toMilliseconds();
      specs.push(
        {
          id: `${f.label}Errors`,
          options: t.functionErrors,
          defaultThreshold: 1,
          comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: missingOk,
          metric: f.function.metricErrors({ statistic: 'Sum' }),
          description: `The ${f.label.toLowerCase()} query function crashed {t}+ times (the handler answers errors itself, so this is a bug or a broken configuration file). See its log group.`,
        },
        {
          id: `${f.label}Throttles`,
          options: t.functionThrottles,
          defaultThreshold: 1,
          comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: missingOk,
          metric: f.function.metricThrottles({ statistic: 'Sum' }),
          description: `The ${f.label.toLowerCase()} query function was throttled: callers got 5XX. Raise its reserved concurrency or the account limit, or lower the stage throttling.`,
        },
        {
          id: `${f.label}DurationNearTimeout`,
          options: t.functionDurationPercentOfTimeout,
          defaultThreshold: 80,
          comparison: M.GREATER_THAN_THRESHOLD,
          treatMissingData: missingOk,
          metric: new cloudwatch.MathExpression({
            expression: `100 * duration / ${timeoutMs}`,
            usingMetrics: { duration: f.function.metricDuration({ statistic: 'Maximum' }) },
            label: 'max duration, % of timeout',
            period: Duration.minutes(5),
          }),
          description: `The ${f.label.toLowerCase()} query function ran longer than {t}% of its ${timeoutMs} ms timeout. Slow queries or slow connections; statement timeouts answer 504 before this.`,
        },
        {
          id: `${f.label}ConcurrentExecutions`,
          options: t.functionConcurrentExecutions,
          defaultThreshold: f.reservedConcurrency !== undefined ? Math.max(1, Math.floor(f.reservedConcurrency * 0.8)) : 100,
          comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: missingOk,
          metric: f.function.metric('ConcurrentExecutions', { statistic: 'Maximum' }),
          description: `The ${f.label.toLowerCase()} query function reached {t} concurrent executions: each holds a proxy connection. Throttling follows at its limit.`,
        },
      );
    }
    const container = this.props.container;
    if (container) {
      specs.push(
        {
          id: 'ContainerCpu',
          options: t.containerCpuPercent,
          defaultThreshold: 80,
          comparison: M.GREATER_THAN_THRESHOLD,
          treatMissingData: missingOk,
          metric: container.service.metricCpuUtilization({ statistic: 'Average' }),
          description: 'The query tasks use more than {t}% of their CPU on average: latency rises. Raise desiredCount or cpu, or look for expensive routes on the dashboard.',
        },
        {
          id: 'ContainerMemory',
          options: t.containerMemoryPercent,
          defaultThreshold: 80,
          comparison: M.GREATER_THAN_THRESHOLD,
          treatMissingData: missingOk,
          metric: container.service.metricMemoryUtilization({ statistic: 'Average' }),
          description: 'The query tasks use more than {t}% of their memory on average: tasks are stopped when it runs out. Raise memoryLimitMiB or lower poolSize.',
        },
        {
          id: 'ContainerHealthyTasks',
          options: t.containerHealthyTasks,
          defaultThreshold: 1,
          comparison: M.LESS_THAN_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          metric: container.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum' }),
          description: 'Fewer than {t} query tasks pass the load balancer\'s health check (missing data counts as none): calls routed to the container backend fail. '
            + 'See the service\'s events and the tasks\' log group.',
        },
        {
          id: 'ContainerUnhealthyTasks',
          options: t.containerUnhealthyTasks,
          defaultThreshold: 1,
          comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: missingOk,
          metric: container.targetGroup.metrics.unHealthyHostCount({ statistic: 'Maximum' }),
          description: '{t}+ query tasks fail the load balancer\'s health check (/healthz: the server cannot reach the database through the proxy, or is stuck). '
            + 'See the tasks\' log group.',
        },
      );
    }
    const proxy = (metricName: string, statistic: string, extra?: Record<string, string>) => this.proxyMetric(metricName, statistic, extra);
    const proxySpecs: Array<Omit<AlarmSpec, 'metric'> & { metric: cloudwatch.IMetric | undefined }> = [
      {
        id: 'ProxyAuthFailures',
        options: t.proxyAuthFailures,
        defaultThreshold: 1,
        comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missingOk,
        metric: proxy('ClientConnectionsSetupFailedAuth', 'Sum'),
        description: 'The proxy refused {t}+ client connections for failed authentication: a function role lost rds-db:connect, a DB user lost IAM auth, '
          + 'or someone tries to connect without a valid token.',
      },
      {
        id: 'ProxyBorrowLatency',
        options: t.proxyBorrowLatencyMs,
        defaultThreshold: 100,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: missingOk,
        // The proxy reports borrow latency in microseconds.
        metric: this.props.proxy && new cloudwatch.MathExpression({
          expression: 'latency / 1000', usingMetrics: { latency: proxy('DatabaseConnectionsBorrowLatency', 'Average')! }, label: 'borrow latency ms', period: Duration.minutes(5),
        }),
        description: 'Borrowing a database connection through the proxy takes over {t} ms: the pool is exhausted or the database is slow to accept connections.',
      },
      {
        id: 'ProxyPinnedConnections',
        options: t.proxyPinnedConnections,
        defaultThreshold: 1,
        comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missingOk,
        metric: proxy('DatabaseConnectionsCurrentlySessionPinned', 'Maximum'),
        description: 'Proxy sessions are pinned: some SQL changes session state (SET, temporary tables, prepared statements, locks), which defeats connection reuse. '
          + 'Find it in the proxy logs.',
      },
      {
        id: 'ProxyAvailability',
        options: t.proxyAvailabilityPercent,
        defaultThreshold: 99,
        comparison: M.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        metric: proxy('AvailabilityPercentage', 'Minimum', PROXY_TARGET),
        description: 'The proxy\'s database target was available less than {t}% of the time (missing data counts as unavailable). Check the database and the proxy target health.',
      },
    ];
    for (const spec of proxySpecs) if (spec.metric) specs.push({ ...spec, metric: spec.metric });
    const db = this.props.databaseMetric;
    if (this.props.databaseAlarms) specs.push(...this.databaseSpecs(db));
    for (const s of specs) this.alarm(s);
  }

  /** The database's own alarms (CPU, connections, memory). */
  private databaseSpecs(db: MonitoringProps['databaseMetric']): AlarmSpec[] {
    const t = this.props.thresholds;
    const M = cloudwatch.ComparisonOperator;
    return [
      {
        id: 'DatabaseCpu',
        options: t.databaseCpuPercent,
        defaultThreshold: 80,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        metric: db('CPUUtilization', { statistic: 'Average' }),
        description: 'Database CPU is above {t}%. Expensive queries (see per-route query duration) or an undersized instance.',
      },
      {
        id: 'DatabaseConnections',
        options: t.databaseConnections,
        defaultThreshold: 400,
        comparison: M.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        metric: db('DatabaseConnections', { statistic: 'Maximum' }),
        description: 'The database has more than {t} connections: clients bypass the proxy, or the proxy\'s pool is too large for the instance.',
      },
      {
        id: 'DatabaseFreeableMemory',
        options: t.databaseFreeableMemoryMiB,
        defaultThreshold: 256,
        comparison: M.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
        metric: new cloudwatch.MathExpression({
          expression: 'memory / 1048576',
          usingMetrics: { memory: db('FreeableMemory', { statistic: 'Minimum' }) },
          label: 'freeable memory MiB',
          period: Duration.minutes(5),
        }),
        description: 'The database has less than {t} MiB of freeable memory: it will swap or be killed. Scale it up or reduce connections.',
      },
    ];
  }

  private alarm(s: AlarmSpec): void {
    if (s.options?.enabled === false) return;
    const threshold = s.options?.threshold ?? s.defaultThreshold;
    const evaluationPeriods = s.options?.evaluationPeriods ?? 3;
    const datapointsToAlarm = s.options?.datapointsToAlarm ?? 2;
    if (!Number.isFinite(threshold)) throw new Error(`SecureDbApi alarm ${s.id}: threshold must be a finite number`);
    if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1) throw new Error(`SecureDbApi alarm ${s.id}: evaluationPeriods must be a whole number >= 1`);
    if (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods) {
      throw new Error(`SecureDbApi alarm ${s.id}: datapointsToAlarm must be from 1 to evaluationPeriods (${evaluationPeriods})`);
    }
    const period = s.options?.period ?? Duration.minutes(5);
    const metric = atPeriod(s.metric, period);
    const alarm = new cloudwatch.Alarm(this, s.id, {
      metric,
      threshold,
      comparisonOperator: s.comparison,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: s.treatMissingData,
      alarmDescription: s.description.replace('{t}', String(threshold)),
    });
    this.props.action.addActions(alarm);
    this.alarms.push(alarm);
  }

  private createDashboard(): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: this.props.dashboardName, defaultInterval: Duration.hours(3) });
    const w = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: `# SecureDbApi ${this.node.scope?.node.path}\nAPI, query functions, RDS Proxy and database. Alarms: ${this.alarms.length}.`, width: 24, height: 2 }),
    );
    dashboard.addWidgets(
      w('API requests and errors', [this.apiMetric('Count', 'Sum')], [this.apiMetric('4XXError', 'Sum'), this.apiMetric('5XXError', 'Sum')]),
      w('API latency (ms)', [this.apiMetric('Latency', 'p50'), this.apiMetric('Latency', 'p99'), this.apiMetric('IntegrationLatency', 'p99')]),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
    // One widget per route: a dashboard holds at most 500 widgets, and a stack fits about 200 routes.
    const shown = this.props.routes.slice(0, MAX_ROUTE_WIDGETS);
    for (const r of shown) {
      const route = `${r.method} ${r.path}`;
      const dims = { Method: r.method, Resource: r.path };
      const emf = (metricName: string, statistic: string) => new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic,
        dimensionsMap: { service: this.props.serviceName, Route: route },
        period: Duration.minutes(1),
      });
      dashboard.addWidgets(w(
        route,
        [this.apiMetric('Latency', 'p99', dims), emf('QueryDuration', 'p99')],
        [this.apiMetric('Count', 'Sum', dims), this.apiMetric('4XXError', 'Sum', dims), this.apiMetric('5XXError', 'Sum', dims)],
      ));
    }
    if (this.props.routes.length > shown.length) {
      dashboard.addWidgets(new cloudwatch.TextWidget({ markdown: `${this.props.routes.length - shown.length} more routes are not shown (dashboard widget limit).`, width: 24, height: 1 }));
    }
    for (const f of this.props.functions) {
      dashboard.addWidgets(
        w(`${f.label} function: invocations`, [f.function.metricInvocations()], [f.function.metricErrors(), f.function.metricThrottles()]),
        w(`${f.label} function: duration (ms)`, [f.function.metricDuration({ statistic: 'p50' }), f.function.metricDuration({ statistic: 'p99' })]),
        w(`${f.label} function: concurrency`, [f.function.metric('ConcurrentExecutions', { statistic: 'Maximum' })]),
      );
    }
    const container = this.props.container;
    if (container) {
      dashboard.addWidgets(
        w('Query tasks: CPU and memory (%)', [container.service.metricCpuUtilization({ statistic: 'Average' }), container.service.metricMemoryUtilization({ statistic: 'Average' })]),
        w('Query tasks: health check', [container.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum' })], [container.targetGroup.metrics.unHealthyHostCount({ statistic: 'Maximum' })]),
      );
    }
    const proxy = (name: string, stat: string, extra?: Record<string, string>) => this.proxyMetric(name, stat, extra);
    const present = (ms: Array<cloudwatch.IMetric | undefined>) => ms.filter((m): m is cloudwatch.IMetric => m !== undefined);
    if (this.props.proxy) {
      dashboard.addWidgets(
        w('Proxy connections', present([proxy('ClientConnections', 'Maximum'), proxy('DatabaseConnections', 'Maximum')]), present([proxy('DatabaseConnectionsCurrentlySessionPinned', 'Maximum')])),
        w('Proxy borrow latency (µs) and auth failures', present([proxy('DatabaseConnectionsBorrowLatency', 'Average')]), present([proxy('ClientConnectionsSetupFailedAuth', 'Sum')])),
        w('Proxy availability (%)', present([proxy('AvailabilityPercentage', 'Minimum', PROXY_TARGET)])),
      );
    }
    const db = this.props.databaseMetric;
    dashboard.addWidgets(
      w('Database CPU (%)', [db('CPUUtilization', { statistic: 'Average' })]),
      w('Database connections', [db('DatabaseConnections', { statistic: 'Maximum' })]),
      w('Database freeable memory (bytes)', [db('FreeableMemory', { statistic: 'Minimum' })]),
    );
    return dashboard;
  }
}
