// Entry point of the JWT authorizer: verifies bearer tokens of any OIDC provider (aws-jwt-verify).
import { readFileSync } from 'fs';
import * as path from 'path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { AuthorizerConfig, createAuthorizer, TokenAuthorizer } from './authorizer';

const logger = new Logger({ serviceName: 'secure-db-api-authorizer' });
let authorizer: TokenAuthorizer | undefined;

export const handler = (event: APIGatewayTokenAuthorizerEvent) => {
  // Read once per container: the routes and the issuer are in the asset, the JWKS is cached in memory.
  authorizer ??= createAuthorizer(JSON.parse(readFileSync(path.join(__dirname, 'authorizer.json'), 'utf8')) as AuthorizerConfig, {
    log: { warn: (message, attributes) => logger.warn(message, attributes) },
  });
  return authorizer(event);
};
