import { Duration } from 'aws-cdk-lib';

/** How one alarm judges its metric. Every field has a per-alarm default. */
export interface ThresholdOptions {
  /**
   * The threshold, in the unit the alarm's name states.
   * @default - the alarm's own default (see AlarmThresholds)
   */
  readonly threshold?: number;
  /**
   * Length of one evaluation period.
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * Periods looked at.
   * @default 3
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods among them that raise the alarm.
   * @default 2
   */
  readonly datapointsToAlarm?: number;
  /**
   * Create this alarm.
   * @default true
   */
  readonly enabled?: boolean;
}

/** The alarms SecureDbApi creates, each with its threshold. */
export interface AlarmThresholds {
  /**
   * API: share of requests answered 5XX, in percent.
   * @default 1
   */
  readonly apiServerErrorRatePercent?: ThresholdOptions;
  /**
   * API: share of requests answered 4XX, in percent (a client or an attacker misbehaving).
   * @default 10
   */
  readonly apiClientErrorRatePercent?: ThresholdOptions;
  /**
   * API: p99 end-to-end latency, in milliseconds.
   * @default 2500
   */
  readonly apiLatencyP99Ms?: ThresholdOptions;
  /**
   * Each query function: invocation errors (the handler answers errors itself, so any is a crash).
   * @default 1
   */
  readonly functionErrors?: ThresholdOptions;
  /**
   * Each query function: throttled invocations.
   * @default 1
   */
  readonly functionThrottles?: ThresholdOptions;
  /**
   * Each query function: maximum duration as a percentage of its timeout.
   * @default 80
   */
  readonly functionDurationPercentOfTimeout?: ThresholdOptions;
  /**
   * Each query function: concurrent executions.
   * @default - 80% of the reserved concurrency, or 100
   */
  readonly functionConcurrentExecutions?: ThresholdOptions;
  /**
   * Proxy: client connections refused for bad IAM authentication.
   * @default 1
   */
  readonly proxyAuthFailures?: ThresholdOptions;
  /**
   * Proxy: average time to borrow a database connection, in milliseconds.
   * @default 100
   */
  readonly proxyBorrowLatencyMs?: ThresholdOptions;
  /**
   * Proxy: database connections pinned to one client session.
   * @default 1
   */
  readonly proxyPinnedConnections?: ThresholdOptions;
  /**
   * Proxy: availability of its target, in percent (alarm below).
   * @default 99
   */
  readonly proxyAvailabilityPercent?: ThresholdOptions;
  /**
   * Container backend (`QueryBackend.fargate`): average CPU utilization of the service's tasks, in percent.
   * @default 80
   */
  readonly containerCpuPercent?: ThresholdOptions;
  /**
   * Container backend: average memory utilization of the service's tasks, in percent.
   * @default 80
   */
  readonly containerMemoryPercent?: ThresholdOptions;
  /**
   * Container backend: tasks passing the load balancer's health check (alarm below; missing data counts
   * as none).
   * @default 1
   */
  readonly containerHealthyTasks?: ThresholdOptions;
  /**
   * Container backend: tasks failing the load balancer's health check.
   * @default 1
   */
  readonly containerUnhealthyTasks?: ThresholdOptions;
  /**
   * Database: CPU utilization, in percent.
   * @default 80
   */
  readonly databaseCpuPercent?: ThresholdOptions;
  /**
   * Database: open connections.
   * @default 400
   */
  readonly databaseConnections?: ThresholdOptions;
  /**
   * Database: freeable memory, in MiB (alarm below).
   * @default 256
   */
  readonly databaseFreeableMemoryMiB?: ThresholdOptions;
}
