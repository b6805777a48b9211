/** Headers API Gateway sets on every request it forwards to the container backend (client values are overwritten). */
export const IDENTITY_HEADERS = {
  /** The JWT authorizer's verified claims (a JSON object), or `{}`. */
  claims: 'x-secure-db-api-claims',
  /** The caller: the IAM user or role ARN, the token's subject, or `anonymous`. */
  principal: 'x-secure-db-api-principal',
  /** API Gateway's request id. */
  requestId: 'x-secure-db-api-request-id',
} as const;
