import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { allowAlarmPublishing } from './encryption-key';
import { Route } from './query-registry';
import { DatabaseTargetConfig } from '../database/database-target';
import { AlarmActions } from '../monitoring/alarm-actions';
import { SecureDbApiMonitoring } from '../monitoring/monitoring';
import { MonitoredContainerService, MonitoredFunction } from '../monitoring/monitoring-props';
import type { SecureDbApiProps } from '../secure-db-api-props';

/** The stacks where an API already alarms on a database (by its connections): once per stack is enough. */
const DATABASE_ALARMS = new WeakMap<ec2.Connections, Set<Stack>>();

/** What the monitoring watches, known once the routes are built. */
export interface MonitoredParts {
  readonly routes: readonly Route[];
  readonly functions: readonly MonitoredFunction[];
  readonly container?: MonitoredContainerService;
  readonly proxy: rds.IDatabaseProxy;
  readonly apiMetric: (metricName: string, props?: cloudwatch.MetricOptions) => cloudwatch.Metric;
  readonly serviceName: string;
}

/**
 * Alarms and dashboard: the settings and the alarm topic at once (the topic is encrypted with the API's
 * key), the alarms and the dashboard once every route is built.
 */
export class ApiMonitoring {
  /** The topic alarms publish to, when no other alarm action was given. */
  public readonly alarmTopic?: sns.ITopic;
  public readonly alarms: cloudwatch.IAlarm[] = [];
  public dashboard?: cloudwatch.Dashboard;
  /** Whether this API alarms on the database (another API of the stack on it may already). */
  private readonly alarmsOnDatabase: boolean;

  constructor(private readonly scope: Construct, private readonly props: SecureDbApiProps, target: DatabaseTargetConfig, key: kms.Key) {
    const monitoring = props.monitoring ?? {};
    this.alarmsOnDatabase = claimDatabaseAlarms(scope, target, monitoring.alarms ?? true);
    if ((monitoring.alarms ?? true) && !monitoring.alarmAction) {
      // CloudWatch publishes alarms to the encrypted topic with this key.
      allowAlarmPublishing(key);
      this.alarmTopic = new sns.Topic(scope, 'AlarmTopic', { displayName: 'SecureDbApi alarms', masterKey: key, enforceSSL: true });
    }
  }

  /** The alarms and the dashboard of everything built. */
  public create(parts: MonitoredParts): void {
    const options = this.props.monitoring ?? {};
    const alarms = options.alarms ?? true;
    const dashboard = options.dashboard ?? true;
    if (!alarms && !dashboard) return;
    const action = options.alarmAction ?? (this.alarmTopic ? AlarmActions.snsTopic(this.alarmTopic) : undefined);
    const monitoring = new SecureDbApiMonitoring(this.scope, 'Monitoring', {
      apiMetric: parts.apiMetric,
      serviceName: parts.serviceName,
      routes: [...parts.routes],
      functions: parts.functions,
      container: parts.container,
      // An imported proxy's name is known too (dbProxyName); its metrics work the same way.
      proxy: parts.proxy,
      databaseMetric: (name, props) => this.props.database.metric(name, props),
      databaseAlarms: this.alarmsOnDatabase,
      thresholds: options.thresholds ?? {},
      action: action ?? { addActions: () => undefined },
      alarms,
      dashboard,
      dashboardName: options.dashboardName,
    });
    this.alarms.push(...monitoring.alarms);
    this.dashboard = monitoring.dashboard;
  }
}

/** Whether this API alarms on the database: the first with alarms in its stack does. */
function claimDatabaseAlarms(scope: Construct, target: DatabaseTargetConfig, alarms: boolean): boolean {
  if (!alarms) return false;
  const stacks = DATABASE_ALARMS.get(target.connections) ?? new Set<Stack>();
  DATABASE_ALARMS.set(target.connections, stacks);
  const stack = Stack.of(scope);
  if (stacks.has(stack)) return false;
  stacks.add(stack);
  return true;
}
