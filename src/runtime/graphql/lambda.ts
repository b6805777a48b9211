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
import { CONFIG_PATH_ENV, credentialsFor, LambdaQueryHandler, resolveEnvReferences } from '../lambda';

/** Builds the GraphQL handler from a configuration (its connections may name environment variables). */
export function graphqlHandlerFrom(raw: RuntimeConfig, engineFor: (engine: EngineName) => DatabaseEngine, tlsCa?: string): GraphqlHandler {
  if (!raw.graphql) throw new Error('the configuration has no graphql section');
  const engine = engineFor(raw.engine);
  const make = (access: 'read' | 'write', connection: RuntimeConfig['connection']) => {
    const config: RuntimeConfig = {
      ...raw,
      graphql: undefined,
      writeConnection: undefined,
      connection: resolveEnvReferences(connection),
      queries: raw.queries.filter((q) => q.access === access),
    };
    return new QueryHandler({ config, engine, credentials: credentialsFor(config), tlsCa });
  };
  const hasWrites = raw.queries.some((q) => q.access === 'write');
  if (hasWrites && !raw.writeConnection) throw new Error('the configuration has write queries but no writeConnection');
  return new GraphqlHandler({
    config: raw.graphql,
    reader: make('read', raw.connection),
    writer: hasWrites ? make('write', raw.writeConnection!) : undefined,
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
