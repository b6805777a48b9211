/**
 * Entry point of the container image: serves the queries of `config.json` over HTTPS (the key and
 * certificate the image's entrypoint generates) until SIGTERM, then drains and exits.
 *
 * Environment: SECURE_DB_API_CONFIG (config file), PORT (8443), SECURE_DB_API_POOL_SIZE (10 per access
 * level), SECURE_DB_API_TLS_KEY / SECURE_DB_API_TLS_CERT (PEM files; without them plain HTTP, local only),
 * SECURE_DB_API_DRAIN_SECONDS (25: how long a shutdown waits for accepted requests, within the task's 30 s
 * stop timeout).
 */
import { readFileSync } from 'fs';
import type * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { ContainerBackend, EngineFor, identityFromHeaders } from './backend';
import { Drain } from './drain';
import { mysqlEngine } from '../engines/mysql';
import { postgresEngine } from '../engines/postgres';
import { sqlServerEngine } from '../engines/sqlserver';
import { createQueryServer } from '../http-server';
import { CONFIG_PATH_ENV, readConfigFile } from '../lambda';

// The backend class is part of the bundle's exports, so tests can build one from what ships.
export { ContainerBackend };

export const engineFor: EngineFor = (engine) => (engine === 'postgres' ? postgresEngine : engine === 'sqlserver' ? sqlServerEngine : mysqlEngine(engine));

export interface RunningServer {
  readonly url: string;
  readonly server: http.Server;
  readonly backend: ContainerBackend;
  /**
   * What SIGTERM does: stops accepting connections, closes idle keep-alive connections, answers every request
   * already accepted (also those waiting for a pool connection) with `Connection: close`, then closes every
   * database connection.
   */
  shutdown(): Promise<void>;
}

/** Default of SECURE_DB_API_DRAIN_SECONDS: within the task's 30 s stop timeout, before ECS sends SIGKILL. */
export const DEFAULT_DRAIN_SECONDS = 25;

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
}

export async function startContainerServer(
  env: NodeJS.ProcessEnv = process.env,
  backendOverride?: ContainerBackend,
  portOverride?: number,
): Promise<RunningServer> {
  const configFile = env[CONFIG_PATH_ENV] ?? path.join(__dirname, 'config.json');
  const config = readConfigFile(configFile);
  const size = positive(env, 'SECURE_DB_API_POOL_SIZE', 10);
  const backend = backendOverride ?? new ContainerBackend({
    config,
    engine: engineFor(config.engine),
    pool: { size, maxQueue: size * 10, acquireTimeoutMs: 5000 },
    // ECS hands the task role's credentials out over the container credentials endpoint, which the chain finds.
    awsCredentials: fromNodeProviderChain(),
    configFile,
  });
  const keyFile = env.SECURE_DB_API_TLS_KEY;
  const certFile = env.SECURE_DB_API_TLS_CERT;
  const drain = new Drain(positive(env, 'SECURE_DB_API_DRAIN_SECONDS', DEFAULT_DRAIN_SECONDS) * 1000);
  const server = createQueryServer(drain.wrap(backend.dispatch), {
    maxBodyBytes: config.maxBodyBytes ?? 64 * 1024,
    identity: identityFromHeaders,
    healthPath: '/healthz',
    ...(keyFile && certFile ? { tls: { key: readFileSync(keyFile), cert: readFileSync(certFile) } } : {}),
  });
  // Longer than the NLB's 350 s idle timeout, so the load balancer closes idle connections first.
  server.keepAliveTimeout = 360_000;
  drain.attach(server);
  const port = portOverride ?? positive(env, 'PORT', 8443);
  await new Promise<void>((resolve) => server.listen(port, env.HOST ?? '0.0.0.0', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `${keyFile && certFile ? 'https' : 'http'}://127.0.0.1:${address.port}`,
    server,
    backend,
    shutdown: () => drain.shutdown(server, () => backend.close()),
  };
}

if (require.main === module) {
  startContainerServer().then((running) => {
    console.log(JSON.stringify({ level: 'INFO', message: 'serving', url: running.url }));
    const stop = () => void running.shutdown().then(() => process.exit(0), () => process.exit(1));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }, (e) => {
    console.error(JSON.stringify({ level: 'ERROR', message: 'could not start', error: (e as Error).message }));
    process.exit(1);
  });
}
