/**
 * Lambda wiring of the GraphQL function: `config.json` holds every query, the reader's connection and
 * the writer's; each access level gets its own QueryHandler (and connection, as its own database user).
 */
import { readFileSync } from 'fs';
import * as path from 'path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { GraphqlHandler } from './handler';
import { EngineName, RuntimeConfig } from '../config';
import { DatabaseEngine } from '../engines/engine';
import { QueryHandler } from '../handler';
import { CONFIG_PATH_ENV, configForAccess, credentialsFor, LambdaQueryHandler } from '../lambda';

/** Builds the GraphQL handler from a configuration (its connections may name environment variables). */
export function graphqlHandlerFrom(raw: RuntimeConfig, engineFor: (engine: EngineName) => DatabaseEngine, tlsCa?: string): GraphqlHandler {
  if (!raw.graphql) throw new Error('the configuration has no graphql section');
  const engine = engineFor(raw.engine);
  const make = (config: RuntimeConfig) => new QueryHandler({ config, engine, credentials: credentialsFor(config), tlsCa });
  const read = configForAccess(raw, 'read');
  const write = configForAccess(raw, 'write');
  if (!read) throw new Error('the configuration has no read queries (a GraphQL schema needs a Query type)');
  return new GraphqlHandler({
    config: raw.graphql,
    reader: make(read),
    writer: write ? make(write) : undefined,
    maxBodyBytes: raw.maxBodyBytes,
  });
}

export function graphqlLambdaHandler(engineFor: (engine: EngineName) => DatabaseEngine): LambdaQueryHandler {
  let handler: GraphqlHandler | undefined;
  const fn = async (event: APIGatewayProxyEvent, context: Context) => {
    handler ??= graphqlHandlerFrom(JSON.parse(readFileSync(process.env[CONFIG_PATH_ENV] ?? path.join(__dirname, 'config.json'), 'utf8')) as RuntimeConfig, engineFor);
    return handler.handle(event, context.awsRequestId);
  };
  return Object.assign(fn, {
    close: async () => {
      await handler?.close();
      handler = undefined;
    },
  });
}
