import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { MonitoringProps } from './monitoring-props';
import { METRICS_NAMESPACE } from '../shared/metric-names';

/** AvailabilityPercentage is reported per target group and role. */
const PROXY_TARGET = { TargetGroup: 'default', TargetRole: 'READ_WRITE' };

/**
 * The metrics the alarms and the dashboard read, built in one place (cdk-monitoring-constructs' metric
 * factories): API Gateway's, the query module's per route, the proxy's and the database's.
 */
export class SecureDbApiMetricFactory {
  constructor(private readonly props: MonitoringProps) {}

  /** An API Gateway metric of the stage; `dimensionsMap` narrows it to one route. */
  public api(metricName: string, statistic: string, dimensionsMap: Record<string, string> = {}): cloudwatch.Metric {
    return this.props.apiMetric(metricName, { statistic, dimensionsMap });
  }

  /** The share of the stage's requests answered with `metricName` (4XXError, 5XXError), in percent. */
  public apiErrorRate(metricName: string, label: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: '100 * errors / MAX([errors, requests])',
      usingMetrics: { errors: this.api(metricName, 'Sum'), requests: this.api('Count', 'Sum') },
      label,
      period: Duration.minutes(5),
    });
  }

  /** A metric the query module publishes for one route (`GET /path`). */
  public route(route: string, metricName: string, statistic: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      statistic,
      dimensionsMap: { service: this.props.serviceName, Route: route },
      period: Duration.minutes(1),
    });
  }

  /** A metric of the proxy; undefined for an existing proxy whose name is not known. */
  public proxy(metricName: string, statistic: string, extra: Record<string, string> = {}): cloudwatch.Metric | undefined {
    if (!this.props.proxy) return undefined;
    return new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, statistic, dimensionsMap: { ProxyName: this.props.proxy.dbProxyName, ...extra }, period: Duration.minutes(1) });
  }

  /** The availability of the proxy's database target, in percent. */
  public proxyAvailability(): cloudwatch.Metric | undefined {
    return this.proxy('AvailabilityPercentage', 'Minimum', PROXY_TARGET);
  }

  /** A metric of the database (cluster or instance). */
  public database(metricName: string, statistic: string): cloudwatch.Metric {
    return this.props.databaseMetric(metricName, { statistic });
  }
}
