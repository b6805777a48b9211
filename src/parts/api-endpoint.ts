import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ApiContext, apiError } from './context';
import { DEFAULTS } from './defaults';
import { Route } from './query-registry';
import { ApiAuthorization } from '../api/authorization';
import { QueryRestApi } from '../api/rest-api';
import { parseRoute } from '../database/query-config';
import type { SecureDbApiKeyOptions, UsagePlanOptions } from '../secure-db-api-props';
import { ArnRoute, arnPath, coveredRoutes, denyInManagedPolicy, executeApiArn, grantInManagedPolicy } from '../security/invoke-grant';

const INVOKE = ['execute-api:Invoke'];

/**
 * The REST API and its stage, with what callers deal with: the authorization, the usage plan and its
 * keys, the invoke grants, and the stage's metrics.
 */
export class ApiEndpoint {
  public readonly restApi: QueryRestApi;
  public readonly api: apigw.RestApi;
  public readonly authorization: ApiAuthorization;
  public readonly usagePlan?: apigw.UsagePlan;
  /** Route grants whose covered routes are denied once every route is known. */
  private readonly routeGrants: Array<{ grantee: iam.IGrantable; route: ArnRoute }> = [];

  constructor(private readonly ctx: ApiContext) {
    const { scope, props } = ctx;
    this.restApi = new QueryRestApi(scope, 'Rest', {
      apiName: ctx.apiName,
      stageName: ctx.stageName,
      throttling: props.throttling ?? {},
      encryptionKey: ctx.encryptionKey,
      logRetention: ctx.logRetention,
      removalPolicy: ctx.removalPolicy,
      configureAccountLogging: props.configureAccountLogging ?? DEFAULTS.configureAccountLogging,
    });
    this.api = this.restApi.api;
    this.authorization = props.authorization ?? ApiAuthorization.iam();
    if (props.usagePlan) this.usagePlan = this.createUsagePlan(props.usagePlan);
  }

  private createUsagePlan(options: UsagePlanOptions): apigw.UsagePlan {
    return this.api.addUsagePlan('UsagePlan', {
      description: 'SecureDbApi callers with API keys',
      throttle: options.throttling ? { rateLimit: options.throttling.rateLimit, burstLimit: options.throttling.burstLimit } : undefined,
      quota: options.quota !== undefined ? { limit: options.quota, period: options.quotaPeriod ?? DEFAULTS.quotaPeriod } : undefined,
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
  }

  /** A new API key of the usage plan. */
  public addApiKey(id: string, options: SecureDbApiKeyOptions): apigw.IApiKey {
    if (!this.usagePlan) throw apiError(this.ctx.scope, 'addApiKey needs SecureDbApiProps.usagePlan');
    const key = new apigw.ApiKey(this.ctx.scope, id, { apiKeyName: options.apiKeyName, description: options.description ?? 'SecureDbApi caller' });
    this.usagePlan.addApiKey(key);
    return key;
  }

  /**
   * Lets `grantee` call every route, or only `route`; `routes` gives every route of the API once they are
   * all known (`built`), when the routes a grant covers are denied at once.
   */
  public grantInvoke(grantee: iam.IGrantable, route: string | undefined, built: boolean, routes: () => Route[]): iam.Grant {
    if (this.authorization.carriesClaims) {
      throw apiError(this.ctx.scope, 'grantInvoke applies to ApiAuthorization.iam(); with Cognito or JWT authorization callers are authorized by their tokens');
    }
    const { scope, stageName } = this.ctx;
    if (!route) return grantInManagedPolicy(scope, grantee, INVOKE, [executeApiArn(this.api, stageName, '*', '/*')], this.invokePolicyDescription());
    const parsed = parseRoute(route);
    const arn = executeApiArn(this.api, stageName, parsed.method, arnPath(parsed.path));
    const grant = grantInManagedPolicy(scope, grantee, INVOKE, [arn], this.invokePolicyDescription());
    this.routeGrants.push({ grantee, route: parsed });
    if (built) this.denyCoveredRoutes(routes());
    return grant;
  }

  private invokePolicyDescription(): string {
    return `Invoke routes of SecureDbApi ${this.ctx.scope.node.path}`;
  }

  /**
   * A route's grant names its path parameters with `*`, which also matches `/`: the other routes it
   * covers that can be denied exactly (coveredRoutes) are denied beside it, once every route is known.
   */
  public denyCoveredRoutes(routes: readonly Route[]): void {
    if (this.routeGrants.length === 0) return;
    const { scope, stageName } = this.ctx;
    for (const { grantee, route } of this.routeGrants.splice(0)) {
      if (!routes.some((r) => r.method === route.method && arnPath(r.path) === arnPath(route.path))) {
        throw apiError(scope, `grantInvoke names ${route.method} ${route.path}, which is not a route of this API`);
      }
      const covered = coveredRoutes(route, routes);
      if (covered.length === 0) continue;
      const arns = covered.map((q) => executeApiArn(this.api, stageName, q.method, arnPath(q.path)));
      denyInManagedPolicy(scope, grantee, INVOKE, arns, this.invokePolicyDescription());
    }
  }

  /** Any API Gateway metric of the stage; extra dimensions are added to ApiName and Stage. */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      period: Duration.minutes(1),
      ...props,
      dimensionsMap: { ApiName: this.api.restApiName, Stage: this.ctx.stageName, ...props?.dimensionsMap },
    });
  }
}
