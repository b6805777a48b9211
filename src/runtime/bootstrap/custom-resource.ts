/**
 * The CloudFormation custom resource that creates the API's database users. It answers CloudFormation
 * itself (a PUT to the pre-signed response URL), so no provider framework functions are needed.
 * Create and Update run the bootstrap; Delete never drops a user or any data.
 */
import * as https from 'https';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { EngineName } from '../config';
import type { MasterConnection } from './run-bootstrap';
import type { BootstrapPlan } from './users';

/** The resource's properties, as the construct writes them (CloudFormation passes strings). */
export interface BootstrapProperties {
  readonly Engine: EngineName;
  readonly Database: string;
  /** PostgreSQL schemas, comma-separated. */
  readonly Schemas?: string;
  /** The database endpoint (not the proxy: the master user is not behind it). */
  readonly Host: string;
  readonly Port: string;
  readonly MasterSecretArn: string;
  readonly ReaderUser: string;
  readonly WriterUser: string;
  /** `password` (passwords from the users' secrets) or `iam`. */
  readonly Authentication: 'password' | 'iam';
  readonly ReaderSecretArn?: string;
  readonly WriterSecretArn?: string;
}

export interface SecretValue {
  readonly username?: string;
  readonly password?: string;
}

export interface BootstrapDependencies {
  readSecret(arn: string): Promise<SecretValue>;
  run(plan: BootstrapPlan, master: MasterConnection): Promise<number>;
  respond(url: string, body: string): Promise<void>;
  log(message: string, attributes: Record<string, unknown>): void;
}

/** Reads a JSON secret (RDS secrets: username, password, host, port…). */
export function secretReader(client: SecretsManagerClient): (arn: string) => Promise<SecretValue> {
  return async (arn) => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    try {
      return JSON.parse(out.SecretString ?? '') as SecretValue;
    } catch {
      // Never echo the secret string.
      throw new Error(`secret ${arn} is not a JSON object`);
    }
  };
}

async function passwordOf(deps: BootstrapDependencies, arn: string | undefined, role: string): Promise<string> {
  if (!arn) throw new Error(`${role}SecretArn is required with password authentication`);
  const secret = await deps.readSecret(arn);
  if (typeof secret.password !== 'string' || secret.password === '') throw new Error(`the ${role} secret has no password`);
  return secret.password;
}

async function bootstrap(props: BootstrapProperties, deps: BootstrapDependencies): Promise<number> {
  const master = await deps.readSecret(props.MasterSecretArn);
  if (typeof master.username !== 'string' || master.username === '' || typeof master.password !== 'string') {
    throw new Error('the master secret has no username or password');
  }
  const iam = props.Authentication === 'iam';
  if (!iam && props.Authentication !== 'password') throw new Error('Authentication must be password or iam');
  const plan: BootstrapPlan = {
    engine: props.Engine,
    database: props.Database,
    schemas: props.Schemas ? props.Schemas.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    reader: { name: props.ReaderUser, authentication: iam ? { type: 'iam' } : { type: 'password', password: await passwordOf(deps, props.ReaderSecretArn, 'Reader') } },
    writer: { name: props.WriterUser, authentication: iam ? { type: 'iam' } : { type: 'password', password: await passwordOf(deps, props.WriterSecretArn, 'Writer') } },
  };
  const port = Number(props.Port);
  if (!Number.isSafeInteger(port) || port <= 0 || port > 65535) throw new Error(`Port must be a TCP port, got ${props.Port}`);
  return deps.run(plan, { host: props.Host, port, user: master.username, password: master.password, database: props.Database });
}

/** Handles one event and always answers CloudFormation (a missing answer would hang the stack for an hour). */
export async function handleBootstrapEvent(event: CloudFormationCustomResourceEvent, deps: BootstrapDependencies): Promise<void> {
  const props = event.ResourceProperties as unknown as BootstrapProperties;
  const physicalId = `${props.Database}/${props.ReaderUser}/${props.WriterUser}`;
  let status: 'SUCCESS' | 'FAILED' = 'SUCCESS';
  let reason = 'database users are up to date';
  try {
    if (event.RequestType === 'Delete') {
      // Users own no data, but queries, grants and other tools may still rely on them: never dropped.
      reason = 'database users are kept on delete';
    } else {
      const statements = await bootstrap(props, deps);
      reason = `database users are up to date (${statements} statements)`;
    }
  } catch (e) {
    status = 'FAILED';
    reason = (e as Error).message;
  }
  deps.log('database user bootstrap', { requestType: event.RequestType, status, reason });
  await deps.respond(event.ResponseURL, JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 1000),
    // A Create always names its resource (a failed one is then deleted with this id); a Delete or a failed
    // Update keeps the id it came with.
    PhysicalResourceId: event.RequestType === 'Create' || (event.RequestType === 'Update' && status === 'SUCCESS') ? physicalId : event.PhysicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: true,
    Data: {},
  }));
}

/** PUTs the answer to CloudFormation's pre-signed S3 URL (https only). */
export function httpsRespond(url: string, body: string, options: { ca?: string | Buffer } = {}): Promise<void> {
  const target = new URL(url);
  if (target.protocol !== 'https:') return Promise.reject(new Error('the response URL must be https'));
  return new Promise((resolve, reject) => {
    const req = https.request(target, {
      method: 'PUT',
      headers: { 'Content-Type': '', 'Content-Length': Buffer.byteLength(body) },
      timeout: 10_000,
      ...(options.ca ? { ca: options.ca } : {}),
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`CloudFormation response PUT answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('CloudFormation response PUT timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
