import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { privateFunction } from '../security/private-function';
import { AUTHORIZER_CONFIG_VERSION, AuthorizerConfig, authorizerConfigProblems } from '../shared/authorizer-config';

/** A route and what its caller needs, as the authorization sees it. */
export interface AuthorizedRoute {
  /** HTTP method, e.g. `GET`. */
  readonly method: string;
  /** Path template, e.g. `/orders/{id}`. */
  readonly path: string;
  /**
   * OAuth scopes the token must all carry.
   * @default - none
   */
  readonly requiredScopes?: string[];
  /**
   * Groups of which the caller must be in at least one.
   * @default - none
   */
  readonly requiredGroups?: string[];
}

/** What `ApiAuthorization.bind` gets. */
export interface ApiAuthorizationBindOptions {
  /** The authenticated routes. */
  readonly routes: AuthorizedRoute[];
  /** Key for the log groups the authorization creates. */
  readonly encryptionKey: kms.IKey;
  /** Retention of those log groups. */
  readonly logRetention: logs.RetentionDays;
  /** Removal policy of those log groups. */
  readonly removalPolicy: RemovalPolicy;
  /** The API's VPC, where functions the authorization runs are placed. */
  readonly vpc: ec2.IVpc;
  /** The API's subnets. */
  readonly vpcSubnets: ec2.SubnetSelection;
}

/** How the methods are authorized, from `ApiAuthorization.bind`. */
export interface ApiAuthorizationConfig {
  /** The methods' authorization type. */
  readonly authorizationType: apigw.AuthorizationType;
  /**
   * The methods' authorizer.
   * @default - none (AWS IAM)
   */
  readonly authorizer?: apigw.IAuthorizer;
  /**
   * The function behind the authorizer, when the authorization runs one.
   * @default - none
   */
  readonly authorizerFunction?: lambda.IFunction;
}

/**
 * An OpenAPI security scheme (internal).
 * @internal
 */
export interface OpenApiSecurityScheme {
  readonly name: string;
  readonly scheme: Record<string, unknown>;
}

/** Options of `ApiAuthorization.cognito`. */
export interface CognitoAuthorizationOptions {
  /**
   * More user pools whose tokens are accepted.
   * @default - only the given pool
   */
  readonly additionalUserPools?: cognito.IUserPool[];
  /**
   * How long API Gateway caches a token's verification.
   * @default Duration.minutes(5)
   */
  readonly resultsCacheTtl?: Duration;
}

/** Options of `ApiAuthorization.jwt`. */
export interface JwtAuthorizationOptions {
  /** The token issuer (`iss`), an https URL, e.g. `https://example.okta.com/oauth2/default` or `https://tenant.eu.auth0.com/`. */
  readonly issuer: string;
  /**
   * Accepted audiences: a token's `aud` must be one of them. Cognito access tokens carry no `aud`: when the
   * issuer is a Cognito user pool (`https://cognito-idp.<region>.amazonaws.com/<user pool id>`), an access
   * token's `client_id` (the app client id) is matched instead; no other issuer's `client_id` is.
   */
  readonly audiences: string[];
  /**
   * The provider's JSON Web Key Set.
   * @default - `<issuer>/.well-known/jwks.json`
   */
  readonly jwksUri?: string;
  /**
   * Subnets of the API's VPC for the authorizer function. They need a route to the provider's JWKS
   * endpoint (a NAT gateway or an egress proxy); isolated subnets are refused.
   * @default - the API's subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long API Gateway caches the authorizer's answer for a token. A revoked token stays usable
   * for at most this long; `Duration.seconds(0)` disables the cache.
   * @default Duration.minutes(5)
   */
  readonly resultsCacheTtl?: Duration;
}

/**
 * Who may call the API. Every route is authorized the same way, except routes a query explicitly
 * opens with `QueryOptions.allowUnauthenticated`.
 */
export abstract class ApiAuthorization {
  /** AWS IAM (SigV4): callers need `execute-api:Invoke` (see `SecureDbApi.grantInvoke`). No token claims. */
  public static iam(): ApiAuthorization {
    return new IamAuthorization();
  }

  /**
   * Amazon Cognito user pool tokens, verified by API Gateway. A route's `requiredScopes` become the
   * method's authorization scopes (API Gateway then wants an access token); `requiredGroups` are checked
   * against `cognito:groups` by the query function.
   */
  public static cognito(userPool: cognito.IUserPool, options: CognitoAuthorizationOptions = {}): ApiAuthorization {
    return new CognitoAuthorization(userPool, options);
  }

  /**
   * Bearer JWTs of any OpenID Connect provider (Okta, Auth0, Entra ID…), verified by a bundled Lambda
   * authorizer with aws-jwt-verify: signature against the provider's cached JWKS, issuer, audience,
   * expiry and not-before. Its answer allows exactly the routes whose scopes and groups the token
   * carries; the query function checks them again.
   */
  public static jwt(options: JwtAuthorizationOptions): ApiAuthorization {
    return new JwtAuthorization(options);
  }

  /** Callers carry a verified token whose claims reach the queries (Cognito, JWT); AWS IAM callers do not. */
  public readonly carriesClaims: boolean;

  /**
   * How the OpenAPI document describes this authorization.
   * @internal
   */
  public abstract readonly _openApi: OpenApiSecurityScheme;

  protected constructor(carriesClaims: boolean) {
    this.carriesClaims = carriesClaims;
  }

  /** Creates what the authorization needs (an authorizer, its function) for these routes. */
  public abstract bind(scope: Construct, options: ApiAuthorizationBindOptions): ApiAuthorizationConfig;
}

class IamAuthorization extends ApiAuthorization {
  /** @internal */
  public readonly _openApi: OpenApiSecurityScheme = {
    name: 'sigv4',
    scheme: { 'type': 'apiKey', 'name': 'Authorization', 'in': 'header', 'description': 'AWS Signature Version 4 (execute-api:Invoke)', 'x-amazon-apigateway-authtype': 'awsSigv4' },
  };

  constructor() {
    super(false);
  }

  public bind(): ApiAuthorizationConfig {
    return { authorizationType: apigw.AuthorizationType.IAM };
  }
}

class CognitoAuthorization extends ApiAuthorization {
  /** @internal */
  public readonly _openApi: OpenApiSecurityScheme = {
    name: 'cognito',
    scheme: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An Amazon Cognito user pool token' },
  };

  constructor(private readonly userPool: cognito.IUserPool, private readonly options: CognitoAuthorizationOptions) {
    super(true);
  }

  public bind(scope: Construct): ApiAuthorizationConfig {
    const authorizer = new apigw.CognitoUserPoolsAuthorizer(scope, 'CognitoAuthorizer', {
      cognitoUserPools: [this.userPool, ...(this.options.additionalUserPools ?? [])],
      resultsCacheTtl: this.options.resultsCacheTtl ?? Duration.minutes(5),
    });
    return { authorizationType: apigw.AuthorizationType.COGNITO, authorizer };
  }
}

/** The authorizer bundle, built by esbuild at build time. */
const AUTHORIZER_BUNDLE = path.join(__dirname, '..', '..', 'assets', 'runtime', 'authorizer.lambda', 'index.js');

class JwtAuthorization extends ApiAuthorization {
  /** @internal */
  public readonly _openApi: OpenApiSecurityScheme;

  constructor(private readonly options: JwtAuthorizationOptions) {
    super(true);
    // Checked now, so a typo fails where the authorization is written (the API's path is not known yet).
    const problems = authorizerConfigProblems({ version: AUTHORIZER_CONFIG_VERSION, issuer: options.issuer, audiences: options.audiences, jwksUri: options.jwksUri, routes: [{ method: 'GET', path: '/' }] });
    if (problems.length > 0) throw new Error(`ApiAuthorization.jwt: ${problems.join('; ')}`);
    this._openApi = {
      name: 'oidc',
      scheme: { type: 'openIdConnect', openIdConnectUrl: `${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, description: 'A bearer JWT of the OpenID provider' },
    };
    const ttl = options.resultsCacheTtl?.toSeconds();
    if (ttl !== undefined && ttl > 3600) throw new Error('ApiAuthorization.jwt: resultsCacheTtl can be at most one hour');
  }

  public bind(scope: Construct, bind: ApiAuthorizationBindOptions): ApiAuthorizationConfig {
    const config: AuthorizerConfig = {
      version: AUTHORIZER_CONFIG_VERSION,
      issuer: this.options.issuer,
      audiences: this.options.audiences,
      ...(this.options.jwksUri ? { jwksUri: this.options.jwksUri } : {}),
      routes: bind.routes.map((r) => ({
        method: r.method as AuthorizerConfig['routes'][number]['method'],
        path: r.path,
        ...(r.requiredScopes?.length ? { requiredScopes: r.requiredScopes } : {}),
        ...(r.requiredGroups?.length ? { requiredGroups: r.requiredGroups } : {}),
      })),
    };
    const vpcSubnets = this.options.vpcSubnets ?? bind.vpcSubnets;
    const selected = bind.vpc.selectSubnets(vpcSubnets);
    const isolated = new Set(bind.vpc.isolatedSubnets.map((s) => s.subnetId));
    if (selected.hasPublic) throw new Error('ApiAuthorization.jwt: the authorizer runs in private subnets, not public ones');
    if (selected.subnets.length > 0 && selected.subnets.every((s) => isolated.has(s.subnetId))) {
      throw new Error(
        'ApiAuthorization.jwt: the authorizer fetches the identity provider\'s signing keys (JWKS) over HTTPS, but the selected subnets are isolated; '
        + 'set JwtAuthorizationOptions.vpcSubnets to private subnets with egress (NAT gateway or proxy)',
      );
    }
    const fn = new JwtAuthorizerFunction(scope, 'JwtAuthorizer', { config, ...bind, vpcSubnets });
    const authorizer = new apigw.TokenAuthorizer(scope, 'TokenAuthorizer', {
      handler: fn.function,
      identitySource: apigw.IdentitySource.header('Authorization'),
      // Malformed headers are refused by API Gateway without invoking the function.
      validationRegex: '^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
      resultsCacheTtl: this.options.resultsCacheTtl ?? Duration.minutes(5),
    });
    return { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer, authorizerFunction: fn.function };
  }
}

interface JwtAuthorizerFunctionProps extends ApiAuthorizationBindOptions {
  readonly config: AuthorizerConfig;
}

/**
 * The JWT authorizer's function: in the API's VPC with HTTPS egress only (to the provider's JWKS), no
 * database access, and a role that can only write its own logs and manage its network interfaces.
 */
class JwtAuthorizerFunction extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: JwtAuthorizerFunctionProps) {
    super(scope, id);
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      allowAllOutbound: false,
      description: 'JWT authorizer: HTTPS to the identity provider only',
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'The identity provider\'s JWKS endpoint');

    this.function = privateFunction(this, 'Function', {
      description: 'SecureDbApi JWT authorizer (aws-jwt-verify)',
      roleDescription: 'Verifies bearer tokens for SecureDbApi',
      policyDescription: 'JWT authorizer: its own logs and network interfaces only',
      encryptionKey: props.encryptionKey,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      bundle: AUTHORIZER_BUNDLE,
      files: { 'authorizer.json': JSON.stringify(props.config) },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroup,
      timeout: Duration.seconds(10),
      noDlqReason: 'Invoked synchronously by API Gateway: a failure is a 401/500 to the caller, there is no event to dead-letter.',
      noReservedConcurrencyReason: 'API Gateway caches its answers per token and stage throttling bounds its invocations.',
    }).function;
  }
}
