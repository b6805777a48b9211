// Entry point of the database user bootstrap (the onEvent handler of a custom resource provider).
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { handleBootstrapEvent, secretReader } from './custom-resource';
import { runBootstrap } from './run-bootstrap';

const logger = new Logger({ serviceName: 'secure-db-api-bootstrap' });
const readSecret = secretReader(new SecretsManagerClient({}));

export const handler = (event: CloudFormationCustomResourceEvent) => handleBootstrapEvent(event, {
  readSecret,
  run: runBootstrap,
  log: (message, attributes) => logger.info(message, attributes),
});
