/**
 * The CloudFormation custom resource that creates the API's database users, as the `onEvent` handler of
 * aws-cdk-lib's provider framework: the framework (outside the VPC) answers CloudFormation with what this
 * returns, or FAILED with the message of what it throws, so this function needs no route to S3.
 * Create and Update run the bootstrap; Delete never drops a user or any data.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { MasterConnection } from './run-bootstrap';
import type { BootstrapPlan } from './users';
import type { EngineName } from '../../shared/config';

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

/** What the provider framework answers CloudFormation with. */
export interface BootstrapResult {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, string>;
  readonly NoEcho: boolean;
}

/**
 * Handles one event: returns the resource's answer, or throws an error whose message (never a secret)
 * the provider framework reports to CloudFormation as FAILED.
 */
export async function handleBootstrapEvent(event: CloudFormationCustomResourceEvent, deps: BootstrapDependencies): Promise<BootstrapResult> {
  const props = event.ResourceProperties as unknown as BootstrapProperties;
  const physicalId = `${props.Database}/${props.ReaderUser}/${props.WriterUser}`;
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
    reason = (e as Error).message;
    deps.log('database user bootstrap', { requestType: event.RequestType, status: 'FAILED', reason });
    throw new Error(reason.slice(0, 1000));
  }
  deps.log('database user bootstrap', { requestType: event.RequestType, status: 'SUCCESS', reason });
  return {
    // A Create or Update names its resource; a Delete keeps the id it came with.
    PhysicalResourceId: event.RequestType === 'Delete' ? event.PhysicalResourceId : physicalId,
    NoEcho: true,
    Data: {},
  };
}
