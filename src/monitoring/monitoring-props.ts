import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { IAlarmActionStrategy } from './alarm-actions';
import { AlarmThresholds } from './thresholds';

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

/** What the monitoring watches, and how. */
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
