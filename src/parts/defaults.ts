import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';

/**
 * Every default of `SecureDbApiProps`, named in one place (the props' `@default` tags document the same
 * values for the API reference).
 */
export const DEFAULTS = {
  readerUser: 'api_reader',
  writerUser: 'api_writer',
  stageName: 'v1',
  /** Memory of each query function, in MiB. */
  memorySize: 512,
  graphqlPath: '/graphql',
  rotationSchedule: Duration.days(30),
  logRetention: logs.RetentionDays.ONE_YEAR,
  removalPolicy: RemovalPolicy.RETAIN,
  configureAccountLogging: true,
  quotaPeriod: apigw.Period.DAY,
  openApiVersion: '1.0.0',
  /** Where `openApi.serve` publishes the document. */
  openApiPath: '/openapi.json',
  /** Lambda's own default, used for the duration alarms when a function sets none. */
  functionTimeout: Duration.seconds(3),
} as const;

/** The new proxy's settings. */
export const PROXY_DEFAULTS = {
  borrowTimeout: Duration.seconds(10),
  idleClientTimeout: Duration.minutes(15),
  maxConnectionsPercent: 80,
} as const;

/** Characters the user secrets' generated passwords leave out: they break connection strings and SQL quoting. */
export const EXCLUDED_PASSWORD_CHARACTERS = '"@/\\\'%`:;,{}[]()#?&+=<>| ';
