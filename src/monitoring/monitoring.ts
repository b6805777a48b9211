import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { createAlarms } from './alarms';
import { createDashboard } from './dashboard';
import { SecureDbApiMetricFactory } from './metric-factory';
import { MonitoringProps } from './monitoring-props';

/**
 * Alarms from threshold structs, and a dashboard with one graph per query route. One idea per file, as in
 * cdk-monitoring-constructs: the metrics (metric-factory.ts), the alarms (alarms.ts), the dashboard
 * (dashboard.ts); the alarms and the dashboard are created in this construct's scope.
 */
export class SecureDbApiMonitoring extends Construct {
  public readonly alarms: cloudwatch.Alarm[] = [];
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const metrics = new SecureDbApiMetricFactory(props);
    if (props.alarms) this.alarms.push(...createAlarms(this, props, metrics));
    if (props.dashboard) this.dashboard = createDashboard(this, props, metrics, this.alarms);
  }
}
