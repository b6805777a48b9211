/**
 * The JWT Lambda authorizer for any OpenID Connect provider (Okta, Auth0, Entra ID, Cognito…):
 * verifies the bearer token with aws-jwt-verify (signature against the provider's cached JWKS, issuer,
 * audience, expiry and not-before; a `crit` header, which names extensions this authorizer does not
 * implement, is refused as RFC 7515 §4.1.11 requires), then answers API Gateway with a policy that
 * allows exactly the routes whose required scopes and groups the token carries. API Gateway caches
 * that answer per token, so it lists every allowed route, not just the one called; a route the token
 * may not call is absent and API Gateway answers 403. A token that fails verification is a 401.
 *
 * The verified claims go to the query functions in the authorizer context (`claims`, a JSON string):
 * `:claims.<name>` parameters and the handler's own scope checks read them from there.
 */
import { JwtVerifier } from 'aws-jwt-verify';
import {
  FetchError, JwksValidationError, JwtExpiredError, JwtInvalidIssuerError, JwtInvalidSignatureAlgorithmError, JwtInvalidSignatureError,
  JwtNotBeforeError, JwtParseError, JwtWithoutValidKidError, KidNotFoundInJwksError, WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { SimpleFetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { missingAuthorization, type Claims } from './claims';
import { type AuthorizerConfig, type AuthorizerRoute, checkAuthorizerConfig, isCognitoIssuer } from '../shared/authorizer-config';

export type { AuthorizerConfig, AuthorizerRoute } from '../shared/authorizer-config';

/** API Gateway turns this exact message into a 401. */
const UNAUTHORIZED = 'Unauthorized';

export interface AuthorizerLog {
  warn(message: string, attributes: Record<string, unknown>): void;
}

export interface AuthorizerOptions {
  /** Extra trusted CA certificates (PEM) for the JWKS endpoint; tests use a local CA. */
  readonly jwksCa?: string | Buffer;
  /** Where rejected tokens are reported (never the token itself). Default: nothing is logged. */
  readonly log?: AuthorizerLog;
}

class AudienceNotAccepted extends Error {}
class NoExpiry extends Error {}
class CriticalHeader extends Error {}

/** A stable reason for the operator's log (class names do not survive minification). */
export function rejectionReason(e: unknown): string {
  if (e instanceof JwtInvalidSignatureError || e instanceof JwtInvalidSignatureAlgorithmError) return 'signature';
  if (e instanceof KidNotFoundInJwksError || e instanceof JwtWithoutValidKidError || e instanceof WaitPeriodNotYetEndedJwkError) return 'unknown-key';
  if (e instanceof JwtInvalidIssuerError) return 'issuer';
  if (e instanceof AudienceNotAccepted) return 'audience';
  if (e instanceof NoExpiry) return 'no-expiry';
  if (e instanceof CriticalHeader) return 'critical-header';
  if (e instanceof JwtExpiredError) return 'expired';
  if (e instanceof JwtNotBeforeError) return 'not-yet-valid';
  if (e instanceof JwtParseError) return 'malformed';
  if (e instanceof FetchError || e instanceof JwksValidationError) return 'jwks-unavailable';
  return 'invalid';
}

/** `arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE` of the method ARN API Gateway sent. */
function stageArnOf(methodArn: string): string | undefined {
  const m = /^(arn:[^:]+:execute-api:[^:]+:[^:]+:[^/]+\/[^/]+)\//.exec(methodArn);
  return m?.[1];
}

function resourceArn(stageArn: string, route: AuthorizerRoute): string {
  // Path parameters become wildcards: `/orders/{id}` → `/orders/*`.
  return `${stageArn}/${route.method}${route.path.replace(/\{[^}]+\}/g, '*')}`;
}

export type TokenAuthorizer = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export function createAuthorizer(config: AuthorizerConfig, options: AuthorizerOptions = {}): TokenAuthorizer {
  checkAuthorizerConfig(config);
  const issuer = config.issuer.replace(/\/+$/, '');
  const jwksCache = new SimpleJwksCache({
    fetcher: new SimpleFetcher({ defaultRequestOptions: options.jwksCa ? { ca: options.jwksCa } : {} }),
  });
  // Cognito access tokens carry the app client in client_id and no aud; every other token must name its audience in aud.
  const cognito = isCognitoIssuer(config.issuer);
  const verifier = JwtVerifier.create({
    issuer: config.issuer,
    audience: null,
    jwksUri: config.jwksUri ?? `${issuer}/.well-known/jwks.json`,
    customJwtCheck: ({ header, payload }) => {
      // RFC 7515 §4.1.11: a recipient must refuse a token whose crit header names an extension it does not
      // understand; this authorizer implements none (aws-jwt-verify ignores the header).
      if ((header as Record<string, unknown>).crit !== undefined) throw new CriticalHeader('the token has a crit header');
      const p = payload as Record<string, unknown>;
      // aws-jwt-verify checks exp only when present: a token that never expires is refused here.
      if (typeof p.exp !== 'number' || !Number.isFinite(p.exp)) throw new NoExpiry('the token has no expiry');
      const auds = Array.isArray(p.aud) ? p.aud
        : p.aud !== undefined ? [p.aud]
          : cognito && p.token_use === 'access' && p.client_id !== undefined ? [p.client_id] : [];
      if (!auds.some((a) => typeof a === 'string' && config.audiences.includes(a))) throw new AudienceNotAccepted('audience not accepted');
    },
  }, { jwksCache });

  return async (event) => {
    const header = typeof event?.authorizationToken === 'string' ? event.authorizationToken : '';
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header.trim());
    if (!m) {
      options.log?.warn('token rejected', { reason: 'no-bearer-token' });
      throw new Error(UNAUTHORIZED);
    }
    let claims: Claims;
    try {
      claims = (await verifier.verify(m[1])) as unknown as Claims;
    } catch (e) {
      // The reason (expired, wrong issuer…) is for the operator's log only; the caller gets a plain 401.
      options.log?.warn('token rejected', { reason: rejectionReason(e), detail: (e as Error).message });
      throw new Error(UNAUTHORIZED);
    }
    const stageArn = stageArnOf(event.methodArn ?? '');
    if (!stageArn) throw new Error(UNAUTHORIZED);
    const allowed = config.routes.filter((r) => missingAuthorization(r, claims) === undefined).map((r) => resourceArn(stageArn, r));
    const principalId = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : 'unknown';
    return {
      principalId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: allowed.length > 0
          ? [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: allowed }]
          : [{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${stageArn}/*` }],
      },
      context: { claims: JSON.stringify(claims) },
    };
  };
}
