/**
 * The JWT authorizer's configuration (`authorizer.json`), with its checks. No dependencies: the
 * construct uses it at synth time, the authorizer at cold start.
 */
import type { HttpMethod } from './config';

/** The authorizer's `authorizer.json`, written by the construct. */
export interface AuthorizerConfig {
  readonly version: number;
  /** The `iss` every token must carry exactly. */
  readonly issuer: string;
  /**
   * Accepted `aud` values; at least one. Cognito access tokens carry none: for a Cognito user pool
   * issuer (see `isCognitoIssuer`), an access token's `client_id` is matched instead.
   */
  readonly audiences: readonly string[];
  /** The provider's JWKS. Default: `<issuer>/.well-known/jwks.json`. */
  readonly jwksUri?: string;
  /** Routes with what each needs. Routes not listed are never allowed. */
  readonly routes: readonly AuthorizerRoute[];
}

export interface AuthorizerRoute {
  readonly method: HttpMethod;
  /** API Gateway path template, e.g. `/orders/{id}`. */
  readonly path: string;
  readonly requiredScopes?: readonly string[];
  readonly requiredGroups?: readonly string[];
}

export const AUTHORIZER_CONFIG_VERSION = 1;

/** `https://cognito-idp.<region>.amazonaws.com/<user pool id>` (`.amazonaws.com.cn` in China). */
const COGNITO_ISSUER = /^https:\/\/cognito-idp\.[a-z]{2}(?:-[a-z]+)+-\d\.amazonaws\.com(?:\.cn)?\/[a-z]{2}(?:-[a-z]+)+-\d_[0-9A-Za-z]+$/;

/** Whether the issuer is a Cognito user pool, whose access tokens name the app client in `client_id`, not `aud`. */
export function isCognitoIssuer(issuer: string): boolean {
  return COGNITO_ISSUER.test(issuer);
}

/** Checks the configuration the construct wrote; all problems at once. */
export function checkAuthorizerConfig(config: AuthorizerConfig): void {
  const problems = authorizerConfigProblems(config);
  if (problems.length > 0) throw new Error(`Invalid authorizer configuration: ${problems.join('; ')}`);
}

/** What is wrong with a configuration, each problem in a few words; empty when nothing is. */
export function authorizerConfigProblems(config: AuthorizerConfig): string[] {
  const problems: string[] = [];
  if (config?.version !== AUTHORIZER_CONFIG_VERSION) problems.push(`version must be ${AUTHORIZER_CONFIG_VERSION}`);
  if (typeof config?.issuer !== 'string' || !/^https:\/\/\S+$/.test(config.issuer)) problems.push('issuer must be an https:// URL');
  if (!Array.isArray(config?.audiences) || config.audiences.length === 0 || config.audiences.some((a) => typeof a !== 'string' || a === '')) {
    problems.push('audiences must be a non-empty list of non-empty strings');
  }
  if (config?.jwksUri !== undefined && !/^https:\/\/\S+$/.test(config.jwksUri)) problems.push('jwksUri must be an https:// URL');
  if (!Array.isArray(config?.routes) || config.routes.length === 0) problems.push('routes must be a non-empty list');
  return problems;
}

