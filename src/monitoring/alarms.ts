import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { IAlarmActionStrategy } from './alarm-actions';
import { SecureDbApiMetricFactory } from './metric-factory';
import { MonitoringProps } from './monitoring-props';
import { ThresholdOptions } from './thresholds';

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

/** Every alarm's spec, in the order the alarms are created. */
function alarmSpecs(props: MonitoringProps, metrics: SecureDbApiMetricFactory): AlarmSpec[] {
  const t = props.thresholds;
  const M = cloudwatch.ComparisonOperator;
  const missingOk = cloudwatch.TreatMissingData.NOT_BREACHING;
  const specs: AlarmSpec[] = [
    {
      id: 'ApiServerErrorRate',
      options: t.apiServerErrorRatePercent,
      defaultThreshold: 1,
      comparison: M.GREATER_THAN_THRESHOLD,
      treatMissingData: missingOk,
      metric: metrics.apiErrorRate('5XXError', '5XX %'),
      description: 'More than {t}% of API requests failed with 5XX. Check the query functions\' logs (audit records with outcome internal/unavailable/timeout) and the proxy and database alarms.',
    },
    {
      id: 'ApiClientErrorRate',
      options: t.apiClientErrorRatePercent,
      defaultThreshold: 10,
      comparison: M.GREATER_THAN_THRESHOLD,
      treatMissingData: missingOk,
      metric: metrics.apiErrorRate('4XXError', '4XX %'),
      description: 'More than {t}% of API requests were refused with 4XX: a client sends bad requests or unsigned calls, or someone is probing. See the access log\'s caller and validation error fields.',
    },
    {
      id: 'ApiLatencyP99',
      options: t.apiLatencyP99Ms,
      defaultThreshold: 2500,
      comparison: M.GREATER_THAN_THRESHOLD,
      treatMissingData: missingOk,
      metric: metrics.api('Latency', 'p99'),
      description: 'API p99 latency is above {t} ms. Look at the dashboard\'s per-route query duration, proxy borrow latency and database CPU.',
    },
  ];
  for (const f of props.functions) {
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
  const container = props.container;
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
  const borrowLatency = metrics.proxy('DatabaseConnectionsBorrowLatency', 'Average');
  const proxySpecs: Array<Omit<AlarmSpec, 'metric'> & { metric: cloudwatch.IMetric | undefined }> = [
    {
      id: 'ProxyAuthFailures',
      options: t.proxyAuthFailures,
      defaultThreshold: 1,
      comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: missingOk,
      metric: metrics.proxy('ClientConnectionsSetupFailedAuth', 'Sum'),
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
      metric: borrowLatency && new cloudwatch.MathExpression({
        expression: 'latency / 1000', usingMetrics: { latency: borrowLatency }, label: 'borrow latency ms', period: Duration.minutes(5),
      }),
      description: 'Borrowing a database connection through the proxy takes over {t} ms: the pool is exhausted or the database is slow to accept connections.',
    },
    {
      id: 'ProxyPinnedConnections',
      options: t.proxyPinnedConnections,
      defaultThreshold: 1,
      comparison: M.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: missingOk,
      metric: metrics.proxy('DatabaseConnectionsCurrentlySessionPinned', 'Maximum'),
      description: 'Proxy sessions are pinned: some SQL changes session state (SET, temporary tables, prepared statements, locks), which defeats connection reuse. '
        + 'Find it in the proxy logs.',
    },
    {
      id: 'ProxyAvailability',
      options: t.proxyAvailabilityPercent,
      defaultThreshold: 99,
      comparison: M.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      metric: metrics.proxyAvailability(),
      description: 'The proxy\'s database target was available less than {t}% of the time (missing data counts as unavailable). Check the database and the proxy target health.',
    },
  ];
  for (const spec of proxySpecs) if (spec.metric) specs.push({ ...spec, metric: spec.metric });
  if (props.databaseAlarms) specs.push(...databaseSpecs(props, metrics));
  return specs;
}

/** The database's own alarms (CPU, connections, memory). */
function databaseSpecs(props: MonitoringProps, metrics: SecureDbApiMetricFactory): AlarmSpec[] {
  const t = props.thresholds;
  const M = cloudwatch.ComparisonOperator;
  return [
    {
      id: 'DatabaseCpu',
      options: t.databaseCpuPercent,
      defaultThreshold: 80,
      comparison: M.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      metric: metrics.database('CPUUtilization', 'Average'),
      description: 'Database CPU is above {t}%. Expensive queries (see per-route query duration) or an undersized instance.',
    },
    {
      id: 'DatabaseConnections',
      options: t.databaseConnections,
      defaultThreshold: 400,
      comparison: M.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      metric: metrics.database('DatabaseConnections', 'Maximum'),
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
        usingMetrics: { memory: metrics.database('FreeableMemory', 'Minimum') },
        label: 'freeable memory MiB',
        period: Duration.minutes(5),
      }),
      description: 'The database has less than {t} MiB of freeable memory: it will swap or be killed. Scale it up or reduce connections.',
    },
  ];
}

/** The alarm of one spec, in `scope`; undefined when the spec's thresholds disable it. */
function createAlarm(scope: Construct, s: AlarmSpec, action: IAlarmActionStrategy): cloudwatch.Alarm | undefined {
  if (s.options?.enabled === false) return undefined;
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
  const alarm = new cloudwatch.Alarm(scope, s.id, {
    metric,
    threshold,
    comparisonOperator: s.comparison,
    evaluationPeriods,
    datapointsToAlarm,
    treatMissingData: s.treatMissingData,
    alarmDescription: s.description.replace('{t}', String(threshold)),
  });
  action.addActions(alarm);
  return alarm;
}

/**
 * The alarms from the threshold structs, created in `scope` in a fixed order, each with the alarm action;
 * a disabled threshold leaves its alarm out.
 */
export function createAlarms(scope: Construct, props: MonitoringProps, metrics: SecureDbApiMetricFactory): cloudwatch.Alarm[] {
  return alarmSpecs(props, metrics).flatMap((spec) => createAlarm(scope, spec, props.action) ?? []);
}
