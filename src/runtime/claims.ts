/**
 * The verified identity API Gateway passes in: claims of a Cognito user pool or JWT authorizer, or the
 * claims a Lambda authorizer put in its context as a JSON string under `claims`. Never read from the
 * request itself.
 */
import { Problem } from './problem';
import type { PreparedQuery } from '../shared/config';
import { CLAIMS_PREFIX } from '../shared/config';
import type { BoundValue } from '../shared/params';

export type Claims = Readonly<Record<string, unknown>>;

export function claimsOf(requestContext: unknown): Claims | undefined {
  const authorizer = (requestContext as { authorizer?: Record<string, unknown> | null } | undefined)?.authorizer;
  if (!authorizer) return undefined;
  const jwt = (authorizer.jwt as { claims?: unknown } | undefined)?.claims;
  const raw = authorizer.claims ?? jwt;
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) return raw as Claims;
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(raw) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Claims;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Scopes from `scope` (space-separated, OAuth) or `scp` (list). */
function scopesOf(claims: Claims): Set<string> {
  const out = new Set<string>();
  if (typeof claims.scope === 'string') for (const s of claims.scope.split(/\s+/)) if (s) out.add(s);
  if (Array.isArray(claims.scp)) for (const s of claims.scp) if (typeof s === 'string') out.add(s);
  return out;
}

/** Groups from `cognito:groups` or `groups`: a list, or the bracketed / comma-separated text API Gateway makes of it. */
function groupsOf(claims: Claims): Set<string> {
  const out = new Set<string>();
  for (const v of [claims['cognito:groups'], claims.groups]) {
    if (Array.isArray(v)) for (const g of v) if (typeof g === 'string') out.add(g);
    if (typeof v === 'string') for (const g of v.replace(/^\[|\]$/g, '').split(/[\s,]+/)) if (g) out.add(g);
  }
  return out;
}

/** What a route needs of the caller. */
export interface RequiredAuthorization {
  readonly requiredScopes?: readonly string[];
  readonly requiredGroups?: readonly string[];
}

/**
 * Why the claims do not satisfy `required` (every required scope, and one of the required groups), or
 * undefined when they do. Shared by the JWT authorizer and the handler, so both decide alike.
 */
export function missingAuthorization(required: RequiredAuthorization, claims: Claims | undefined): string | undefined {
  const needScopes = required.requiredScopes ?? [];
  const needGroups = required.requiredGroups ?? [];
  if (needScopes.length === 0 && needGroups.length === 0) return undefined;
  if (!claims) return 'This route needs a verified token';
  const scopes = scopesOf(claims);
  const missing = needScopes.filter((s) => !scopes.has(s));
  if (missing.length > 0) return `The token lacks the scope${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`;
  if (needGroups.length > 0) {
    const groups = groupsOf(claims);
    if (!needGroups.some((g) => groups.has(g))) return `The caller is in none of the groups ${needGroups.join(', ')}`;
  }
  return undefined;
}

/** Throws 403 unless the claims carry every required scope and one of the required groups. */
export function authorize(query: PreparedQuery, claims: Claims | undefined): void {
  const missing = missingAuthorization(query, claims);
  if (missing !== undefined) throw new Problem('forbidden', missing);
}

/** The `:claims.<name>` references of each query, found once per query. */
const CLAIM_NAMES = new WeakMap<PreparedQuery, readonly string[]>();

function claimNames(query: PreparedQuery): readonly string[] {
  let names = CLAIM_NAMES.get(query);
  if (names === undefined) {
    names = query.compiled.names.filter((n) => n.startsWith(CLAIMS_PREFIX));
    CLAIM_NAMES.set(query, names);
  }
  return names;
}

/**
 * Values of the `:claims.<name>` references of a query (undefined when it has none). A missing or
 * non-scalar claim is a 403.
 */
export function claimValues(query: PreparedQuery, claims: Claims | undefined): Record<string, BoundValue> | undefined {
  const names = claimNames(query);
  if (names.length === 0) return undefined;
  const out: Record<string, BoundValue> = {};
  for (const name of names) {
    const claim = name.slice(CLAIMS_PREFIX.length);
    const v = claims?.[claim];
    if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[name] = v;
    else throw new Problem('forbidden', `The token has no usable claim "${claim}"`);
  }
  return out;
}
