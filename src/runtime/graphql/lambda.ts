/**
 * Lambda wiring of the GraphQL function: `config.json` holds every query, the reader's connection and
 * the writer's; each access level gets its own QueryHandler (and connection, as its own database user).
 */
import { GraphqlHandler } from './handler';
import { EngineName, RuntimeConfig } from '../../shared/config';
import { DatabaseEngine } from '../engines/engine';
import { configForAccess, LambdaQueryHandler, queryHandlerFor, readConfigFile, warmLambdaHandler } from '../lambda';

/**
 * Builds the GraphQL handler from a configuration (its connections may name environment variables, and
 * CA files relative to `configFile`).
 */
export function graphqlHandlerFrom(raw: RuntimeConfig, engineFor: (engine: EngineName) => DatabaseEngine, configFile: string): GraphqlHandler {
  if (!raw.graphql) throw new Error('the configuration has no graphql section');
  const engine = engineFor(raw.engine);
  const read = configForAccess(raw, 'read');
  const write = configForAccess(raw, 'write');
  if (!read) throw new Error('the configuration has no read queries (a GraphQL schema needs a Query type)');
  return new GraphqlHandler({
    config: raw.graphql,
    reader: queryHandlerFor(read, engine, configFile),
    writer: write ? queryHandlerFor(write, engine, configFile) : undefined,
    maxBodyBytes: raw.maxBodyBytes,
  });
}

export function graphqlLambdaHandler(engineFor: (engine: EngineName) => DatabaseEngine): LambdaQueryHandler {
  return warmLambdaHandler(
    (file) => graphqlHandlerFrom(readConfigFile(file), engineFor, file),
    (handler, event, context) => handler.handle(event, context.awsRequestId),
  );
}
