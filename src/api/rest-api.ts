import { Aspects, IAspect, Names, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { ApiAuthorizationConfig } from './authorization';
import { ApiDeployment } from './deployment';
import { bodyPropertySchema, isRequired } from './json-schema';
import { ThrottlingOptions } from './throttling';
import { answerTimeout } from '../database/query-config';
import { acknowledge } from '../security/acknowledgements';
import { inCompliancePacks } from '../security/compliance-packs';
import { encryptedLogGroup } from '../security/log-groups';
import { QueryConfig } from '../shared/config';
import { RESERVED_PAGING_NAMES } from '../shared/pagination';
import { PROBLEM_TYPE_BASE } from '../shared/problem';

/** The private container backend, reached through a VPC link. */
export interface HttpBackend {
  readonly vpcLink: apigw.IVpcLink;
  readonly domainName: string;
}

/** How one method is authorized. */
export interface MethodAccess {
  readonly authorization: ApiAuthorizationConfig;
  /** The query opted out of authentication. */
  readonly unauthenticated: boolean;
  /** Callers must send an API key of the usage plan. */
  readonly apiKeyRequired: boolean;
}

export interface QueryRestApiProps {
  readonly apiName: string;
  readonly stageName: string;
  readonly throttling: ThrottlingOptions;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Create the account-level role API Gateway needs to write execution logs. */
  readonly configureAccountLogging: boolean;
}

/** API Gateway's execution log groups are named `API-Gateway-Execution-Logs_{api-id}/{stage}`. */
const EXECUTION_LOG_GROUPS = 'API-Gateway-Execution-Logs_*';

/** The id of the stack-wide account logging setting, shared by every SecureDbApi in the stack. */
const ACCOUNT_LOGGING_ID = 'SecureDbApiAccountLogging';

/** JSON access log line with the caller's identity. */
function accessLogFormat(): apigw.AccessLogFormat {
  const F = apigw.AccessLogField;
  return apigw.AccessLogFormat.custom(JSON.stringify({
    requestId: F.contextRequestId(),
    extendedRequestId: F.contextExtendedRequestId(),
    requestTime: F.contextRequestTime(),
    httpMethod: F.contextHttpMethod(),
    resourcePath: F.contextResourcePath(),
    status: F.contextStatus(),
    responseLength: F.contextResponseLength(),
    responseLatency: F.contextResponseLatency(),
    integrationLatency: F.contextIntegrationLatency(),
    integrationStatus: F.contextIntegrationStatus(),
    errorMessage: F.contextErrorMessageString(),
    validationError: F.contextErrorValidationErrorString(),
    sourceIp: F.contextIdentitySourceIp(),
    userAgent: F.contextIdentityUserAgent(),
    caller: F.contextIdentityCaller(),
    userArn: F.contextIdentityUserArn(),
    cognitoIdentityId: F.contextIdentityCognitoIdentityId(),
    principalId: F.contextAuthorizerPrincipalId(),
    xrayTraceId: F.contextXrayTraceId(),
  }));
}

/**
 * The REST API: one resource and method per query, IAM authorization, request validation from the
 * typed parameters, JSON access logs, execution logs without request data, X-Ray, stage throttling.
 */
export class QueryRestApi extends Construct {
  public readonly api: apigw.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  private readonly validator: apigw.RequestValidator;
  private readonly integrations = new Map<lambda.IFunction, apigw.Integration>();

  constructor(scope: Construct, id: string, props: QueryRestApiProps) {
    super(scope, id);
    this.accessLogGroup = encryptedLogGroup(this, 'AccessLogs', { retention: props.logRetention, encryptionKey: props.encryptionKey, removalPolicy: props.removalPolicy });

    const account = props.configureAccountLogging ? accountLogging(Stack.of(this)) : undefined;

    const description = 'SecureDbApi: named database queries';
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: props.apiName,
      description,
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: false,
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      // The deployment and stage are made by ApiDeployment, as RestApi would make them (see there why).
      deploy: false,
    });
    const { stage } = new ApiDeployment(this.api, {
      description,
      stageOptions: {
        stageName: props.stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.INFO,
        // Request and response bodies (query results!) never go to execution logs.
        dataTraceEnabled: false,
        throttlingRateLimit: props.throttling.rateLimit ?? 100,
        throttlingBurstLimit: props.throttling.burstLimit ?? 200,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
      },
    });
    if (account) stage.node.addDependency(account);
    // Leaving the setting to someone else: if that is another API of this stack (made before or after this
    // one), the stage must still wait for it, or its first deployment in a new account fails.
    else Aspects.of(stage).add(new WaitForAccountSettings(stage));
    this.validator = this.api.addRequestValidator('Validator', { validateRequestBody: true, validateRequestParameters: true });
    this.problemResponses();
    acknowledge(
      stage,
      { id: 'AwsSolutions-APIG3', reason: 'WAF is an account-level decision; associate a web ACL with the stage (SecureDbApi.api.deploymentStage) where required.' },
      ...inCompliancePacks('APIGWAssociatedWithWAF', 'WAF is an account-level decision; associate a web ACL with the stage where required.'),
      ...inCompliancePacks('APIGWCacheEnabledAndEncrypted', 'Query results are per caller and must not be served from a shared cache.'),
      ...inCompliancePacks('APIGWSSLEnabled', 'Backend client certificates apply to HTTP integrations; the backend is a Lambda function invoked over the AWS API.'),
    );
  }

  /** Adds one query's resource and method. */
  public addQuery(query: QueryConfig, fn: lambda.IFunction, access: MethodAccess): apigw.Method {
    return this.addQueryMethod(query, this.integrationOf(fn), access);
  }

  /**
   * One Lambda proxy integration per function, shared by its routes (it renders the same for each), and
   * the function's one permission for API Gateway: limited to this API by SourceArn and to this account by
   * SourceAccount (CT.LAMBDA.PR.2). The integration and the permission are what aws-cdk-lib's
   * `LambdaIntegration` with `scopePermissionToMethod: false` makes (the same id, hence logical id), made
   * here once per function: `LambdaIntegration` looks for its permission among every construct of the API
   * for each method it is bound to, which made the cost of a route grow with the number of routes.
   */
  private integrationOf(fn: lambda.IFunction): apigw.Integration {
    let integration = this.integrations.get(fn);
    if (!integration) {
      integration = new apigw.AwsIntegration({ proxy: true, service: 'lambda', path: `2015-03-31/functions/${fn.functionArn}/invocations` });
      fn.addPermission(`ApiPermission.ApiScoped.${Names.nodeUniqueId(fn.node)}.${Names.nodeUniqueId(this.api.node)}`, {
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        scope: this.api,
        sourceArn: this.api.arnForExecuteApi(),
        sourceAccount: Stack.of(this).account,
      });
      this.integrations.set(fn, integration);
    }
    return integration;
  }

  /**
   * One query served by the private container backend: an HTTP proxy integration through the VPC link
   * to `https://<domainName><path>`, with the caller's identity set as headers (client values of those
   * headers are overwritten; the backend trusts them because only the VPC link reaches it).
   */
  public addBackendQuery(query: QueryConfig, backend: HttpBackend, access: MethodAccess, identity: Record<string, string>): apigw.Method {
    const integrationParameters: Record<string, string> = { ...identity };
    for (const p of query.parameters) {
      if (p.in === 'path') integrationParameters[`integration.request.path.${p.name}`] = `method.request.path.${p.name}`;
    }
    const integration = new apigw.Integration({
      type: apigw.IntegrationType.HTTP_PROXY,
      integrationHttpMethod: query.method,
      uri: `https://${backend.domainName}${query.path}`,
      options: {
        connectionType: apigw.ConnectionType.VPC_LINK,
        vpcLink: backend.vpcLink,
        requestParameters: integrationParameters,
        timeout: answerTimeout(query.timeoutMs),
      },
    });
    return this.addQueryMethod(query, integration, access);
  }

  /** A route served by a function as a whole (the GraphQL endpoint). */
  public addFunctionRoute(method: string, path: string, operationName: string, fn: lambda.IFunction, access: MethodAccess): apigw.Method {
    return this.addMethod(method, path, this.integrationOf(fn), access, { operationName, requestValidator: this.validator });
  }

  /**
   * A static JSON document answered by API Gateway itself (a mock integration), authorized like the
   * rest. `template` must render verbatim under Velocity (see `asMappingTemplate`).
   */
  public addStaticDocument(path: string, template: string, access: MethodAccess): apigw.Method {
    // API Gateway's limit on a mapping template.
    if (Buffer.byteLength(template) > 300 * 1024) throw new Error(`SecureDbApi: the document at ${path} is larger than API Gateway's 300 KB mapping template limit; publish the file instead`);
    const integration = new apigw.MockIntegration({
      requestTemplates: { 'application/json': '{"statusCode": 200}' },
      passthroughBehavior: apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
      integrationResponses: [{
        statusCode: '200',
        responseTemplates: { 'application/json': template },
        responseParameters: { 'method.response.header.Content-Type': "'application/json'" },
      }],
    });
    return this.addMethod('GET', path, integration, access, {
      operationName: 'openApiDocument',
      methodResponses: [{ statusCode: '200', responseParameters: { 'method.response.header.Content-Type': true } }],
    });
  }

  /** A query's method: its path and query-string parameters and body model validated by API Gateway. */
  private addQueryMethod(query: QueryConfig, integration: apigw.Integration, access: MethodAccess): apigw.Method {
    const requestParameters: Record<string, boolean> = {};
    for (const p of query.parameters) {
      if (p.in === 'path') requestParameters[`method.request.path.${p.name}`] = true;
      if (p.in === 'query') requestParameters[`method.request.querystring.${p.name}`] = p.required !== false && p.default === undefined;
    }
    // A paged query's page size and cursor: optional, checked by the query function.
    if (query.pagination) for (const name of RESERVED_PAGING_NAMES) requestParameters[`method.request.querystring.${name}`] = false;
    const requestModels = this.bodyModel(query);
    return this.addMethod(query.method, query.path, integration, access, {
      operationName: query.name,
      requestValidator: this.validator,
      requestParameters,
      requestModels,
    }, query.requiredScopes);
  }

  /** The JSON Schema model of a query's body parameters, if it has any. */
  private bodyModel(query: QueryConfig): Record<string, apigw.IModel> | undefined {
    const bodyParams = query.parameters.filter((p) => p.in === 'body');
    if (bodyParams.length > 0) {
      // API Gateway model names are alphanumeric only.
      const modelName = `${query.name.replace(/[^A-Za-z0-9]/g, '')}Body`;
      const model = this.api.addModel(modelName, {
        contentType: 'application/json',
        modelName,
        schema: {
          schema: apigw.JsonSchemaVersion.DRAFT4,
          title: `${query.name} request body`,
          type: apigw.JsonSchemaType.OBJECT,
          additionalProperties: false,
          properties: Object.fromEntries(bodyParams.map((p) => [p.name, bodyPropertySchema(p) as apigw.JsonSchema])),
          required: bodyParams.filter(isRequired).map((p) => p.name),
        },
      });
      return { 'application/json': model };
    }
    return undefined;
  }

  private addMethod(
    httpMethod: string,
    path: string,
    integration: apigw.Integration,
    access: MethodAccess,
    options: apigw.MethodOptions,
    requiredScopes?: readonly string[],
  ): apigw.Method {
    const auth = access.unauthenticated
      ? { authorizationType: apigw.AuthorizationType.NONE }
      : {
        authorizationType: access.authorization.authorizationType,
        authorizer: access.authorization.authorizer,
        ...(access.authorization.authorizationType === apigw.AuthorizationType.COGNITO && requiredScopes?.length
          ? { authorizationScopes: [...requiredScopes] }
          : {}),
      };
    const resource = this.api.root.resourceForPath(path);
    const method = resource.addMethod(httpMethod, integration, { ...options, apiKeyRequired: access.apiKeyRequired, ...auth });
    const name = options.operationName ?? `${httpMethod} ${path}`;
    if (access.unauthenticated) {
      acknowledge(
        method,
        { id: 'AwsSolutions-APIG4', reason: `Opened to unauthenticated callers on purpose: the query "${name}" sets allowUnauthenticated (read-only, no claims).` },
        { id: 'AwsSolutions-COG4', reason: `Opened to unauthenticated callers on purpose: the query "${name}" sets allowUnauthenticated.` },
      );
    } else if (access.authorization.authorizationType === apigw.AuthorizationType.IAM) {
      acknowledge(method, { id: 'AwsSolutions-COG4', reason: 'The method uses AWS IAM (SigV4) authorization.' });
    } else if (access.authorization.authorizationType === apigw.AuthorizationType.CUSTOM) {
      acknowledge(method, { id: 'AwsSolutions-COG4', reason: 'The method uses the OIDC JWT authorizer (aws-jwt-verify: signature, issuer, audience, expiry, scopes).' });
    }
    return method;
  }

  /**
   * The authorizer's invoke permission names the API's authorizers by SourceArn; SourceAccount is added
   * too (CT.LAMBDA.PR.2).
   */
  public restrictAuthorizerPermission(fn: lambda.IFunction): void {
    const permissions = fn.node.children.filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission)
      .concat(fn.node.children.flatMap((c) => c.node.children).filter((c): c is lambda.CfnPermission => c instanceof lambda.CfnPermission));
    if (permissions.length === 0) throw new Error(`SecureDbApi: expected the authorizer invoke permission of ${fn.node.path}`);
    for (const p of permissions) p.sourceAccount = Stack.of(this).account;
  }

  /**
   * Every answer API Gateway makes itself (authorization, validation, throttling, unknown routes,
   * integration failures) as RFC 9457 problem+json, like the query functions' own errors.
   */
  private problemResponses(): void {
    const T = apigw.ResponseType;
    const responses: Array<[string, apigw.ResponseType, string | undefined, string, string]> = [
      ['Unauthorized', T.UNAUTHORIZED, '401', 'unauthorized', 'Unauthorized'],
      ['AccessDenied', T.ACCESS_DENIED, '403', 'forbidden', 'Forbidden'],
      ['MissingAuthenticationToken', T.MISSING_AUTHENTICATION_TOKEN, '403', 'forbidden', 'Forbidden'],
      ['InvalidSignature', T.INVALID_SIGNATURE, '403', 'forbidden', 'Forbidden'],
      ['ExpiredToken', T.EXPIRED_TOKEN, '403', 'forbidden', 'Forbidden'],
      ['InvalidApiKey', T.INVALID_API_KEY, '403', 'forbidden', 'Forbidden'],
      ['BadRequestBody', T.BAD_REQUEST_BODY, '400', 'validation', 'Request validation failed'],
      ['BadRequestParameters', T.BAD_REQUEST_PARAMETERS, '400', 'validation', 'Request validation failed'],
      ['RequestTooLarge', T.REQUEST_TOO_LARGE, '413', 'payload-too-large', 'Request body too large'],
      ['UnsupportedMediaType', T.UNSUPPORTED_MEDIA_TYPE, '415', 'unsupported-media-type', 'Unsupported media type'],
      ['Throttled', T.THROTTLED, '429', 'throttled', 'Too many requests'],
      ['QuotaExceeded', T.QUOTA_EXCEEDED, '429', 'quota-exceeded', 'Quota exceeded'],
      // The defaults keep API Gateway's own status code.
      ['Default4XX', T.DEFAULT_4XX, undefined, 'client-error', 'Request refused'],
      ['Default5XX', T.DEFAULT_5XX, undefined, 'gateway-error', 'Gateway error'],
    ];
    for (const [id, type, statusCode, kind, title] of responses) {
      // $context.error.messageString is API Gateway's own message, already a quoted JSON string.
      const status = statusCode ? `"status":${statusCode},` : '';
      this.api.addGatewayResponse(id, {
        type,
        statusCode,
        responseHeaders: { 'Content-Type': "'application/problem+json'", 'X-Content-Type-Options': "'nosniff'" },
        templates: {
          'application/json': `{"type":"${PROBLEM_TYPE_BASE}${kind}","title":"${title}",${status}"detail":$context.error.messageString,"requestId":"$context.requestId"}`,
        },
      });
    }
  }
}

/**
 * Makes a stage wait for every `AWS::ApiGateway::Account` of its stack at synthesis, whichever construct made
 * it (another SecureDbApi, an aws-cdk-lib RestApi with its CloudWatch role): a stage with execution logging
 * fails to deploy until the account has a CloudWatch role. An aspect, so an API made later counts too.
 */
class WaitForAccountSettings implements IAspect {
  constructor(private readonly stage: apigw.Stage) {}

  public visit(node: IConstruct): void {
    if (node !== this.stage) return;
    const stack = Stack.of(node);
    for (const c of stack.node.findAll()) {
      if (c instanceof apigw.CfnAccount && Stack.of(c) === stack) node.node.addDependency(c);
    }
  }
}

/**
 * API Gateway's account-level CloudWatch role and setting, once per stack (a second AWS::ApiGateway::Account
 * in one stack would fight the first), with a customer-managed policy scoped to the execution log groups
 * of this account and region. All three are retained when they leave the stack, like aws-cdk-lib's RestApi
 * does: the setting is account-wide, and every other API in the account and region logs through the role.
 */
function accountLogging(stack: Stack): apigw.CfnAccount {
  const existing = stack.node.tryFindChild(ACCOUNT_LOGGING_ID);
  if (existing) return existing.node.findChild('Account') as apigw.CfnAccount;
  const scope = new Construct(stack, ACCOUNT_LOGGING_ID);
  const role = new iam.Role(scope, 'CloudWatchRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    description: 'Lets API Gateway write execution logs for this account and region',
  });
  // The partition is a wildcard: an identity policy reaches no other partition, and the finding id of a
  // resource with a reference in it cannot be acknowledged.
  const logGroups = `arn:*:logs:${stack.region}:${stack.account}:log-group:${EXECUTION_LOG_GROUPS}`;
  const policy = new iam.ManagedPolicy(scope, 'CloudWatchPolicy', {
    roles: [role],
    statements: [
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogGroups', 'logs:DescribeLogStreams', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:FilterLogEvents'],
        // Only API Gateway's execution log groups, in this account and region.
        resources: [logGroups],
      }),
    ],
  });
  const findingArn = Token.isUnresolved(stack.region) || Token.isUnresolved(stack.account)
    ? `arn:*:logs:<AWS::Region>:<AWS::AccountId>:log-group:${EXECUTION_LOG_GROUPS}` : logGroups;
  acknowledge(policy, {
    id: `AwsSolutions-IAM5[Resource::${findingArn}]`,
    reason: 'API Gateway names its execution log groups API-Gateway-Execution-Logs_{api-id}/{stage}; the prefix in this account and region is the narrowest scope.',
  });
  const account = new apigw.CfnAccount(scope, 'Account', { cloudWatchRoleArn: role.roleArn });
  account.node.addDependency(policy);
  for (const retained of [role, policy, account]) retained.applyRemovalPolicy(RemovalPolicy.RETAIN);
  return account;
}
