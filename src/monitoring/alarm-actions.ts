import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';

/** Decides what an alarm does when it changes state. */
export interface IAlarmActionStrategy {
  /** Adds the actions to one alarm. */
  addActions(alarm: cloudwatch.Alarm): void;
}

/** Options of {@link AlarmActions.snsTopic}. */
export interface SnsAlarmActionOptions {
  /**
   * Also notify when the alarm returns to OK.
   * @default true
   */
  readonly notifyOnOk?: boolean;
}

/** Ready-made alarm action strategies. */
export class AlarmActions {
  /** Publish to an SNS topic on ALARM (and, by default, on OK). */
  public static snsTopic(topic: sns.ITopic, options: SnsAlarmActionOptions = {}): IAlarmActionStrategy {
    const action = new cw_actions.SnsAction(topic);
    return {
      addActions(alarm: cloudwatch.Alarm) {
        alarm.addAlarmAction(action);
        if (options.notifyOnOk ?? true) alarm.addOkAction(action);
      },
    };
  }

  /** Any CloudWatch alarm actions (Lambda, SSM OpsItem, EC2, Auto Scaling…), on ALARM. */
  public static fromActions(...actions: cloudwatch.IAlarmAction[]): IAlarmActionStrategy {
    if (actions.length === 0) throw new Error('AlarmActions.fromActions needs at least one action');
    return {
      addActions(alarm: cloudwatch.Alarm) {
        alarm.addAlarmAction(...actions);
      },
    };
  }

  private constructor() {}
}
