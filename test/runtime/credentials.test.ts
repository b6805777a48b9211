/**
 * Credentials: IAM tokens are cached and renewed before expiry; Secrets Manager secrets are re-read
 * once after the database refuses them (rotation). The database side runs on a throwaway TLS-only,
 * SCRAM-only PostgreSQL server; only Secrets Manager is replaced (aws-sdk-client-mock).
 */
import { readFileSync } from 'fs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Signer } from '@aws-sdk/rds-signer';
import { mockClient } from 'aws-sdk-client-mock';
import { Client } from 'pg';
import { apiEvent, json, query } from './helpers/databases';
import { startThrowawayPostgres, ThrowawayPostgres } from './helpers/throwaway-postgres';
import { RuntimeConfig } from '../../src/runtime/config';
import { CredentialsProvider, IAM_TOKEN_LIFETIME_MS, IamTokenCredentials, SecretCredentials, StaticCredentials, TokenSigner } from '../../src/runtime/credentials';
import { postgresEngine } from '../../src/runtime/engines/postgres';
import { QueryHandler } from '../../src/runtime/handler';

class CountingSigner implements TokenSigner {
  calls = 0;
  async getAuthToken() {
    this.calls++;
    return `token-${this.calls}`;
  }
}

describe('IamTokenCredentials', () => {
  test('signs once and reuses the token while it is fresh', async () => {
    const signer = new CountingSigner();
    let now = 0;
    const creds = new IamTokenCredentials({ hostname: 'h', port: 5432, user: 'app_reader', region: 'eu-west-1', signer, now: () => now });
    for (let k = 0; k < 1000; k++) expect((await creds.get()).password).toBe('token-1');
    expect(signer.calls).toBe(1);
    // still fresh at 9 minutes
    now = 9 * 60 * 1000;
    expect((await creds.get()).password).toBe('token-1');
    // renewed 5 minutes before the 15-minute expiry
    now = IAM_TOKEN_LIFETIME_MS - 5 * 60 * 1000;
    expect((await creds.get()).password).toBe('token-2');
    expect(signer.calls).toBe(2);
  });

  test('concurrent callers share one signature, and invalidate forces a new one', async () => {
    const signer = new CountingSigner();
    const creds = new IamTokenCredentials({ hostname: 'h', port: 5432, user: 'u', region: 'eu-west-1', signer });
    const all = await Promise.all(Array.from({ length: 20 }, () => creds.get()));
    expect(new Set(all.map((c) => c.password))).toEqual(new Set(['token-1']));
    creds.invalidate();
    expect((await creds.get()).password).toBe('token-2');
    expect(creds.signed).toBe(2);
  });

  test('the real RDS signer produces a 15-minute connect token for the DB user, offline', async () => {
    const signer = new Signer({ hostname: 'prx.proxy-abc.eu-west-1.rds.amazonaws.com', port: 5432, username: 'app_reader', region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    const creds = new IamTokenCredentials({ hostname: 'x', port: 5432, user: 'app_reader', region: 'eu-west-1', signer });
    const { user, password } = await creds.get();
    expect(user).toBe('app_reader');
    expect(password).toMatch(/^prx\.proxy-abc\.eu-west-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=app_reader&/);
    expect(password).toMatch(/X-Amz-Expires=900/);
  });
});

describe('on a TLS-only, password-only PostgreSQL server', () => {
  let server: ThrowawayPostgres;
  let ca: string;
  let otherCa: string;
  let admin: Client;
  const sm = mockClient(SecretsManagerClient);

  beforeAll(async () => {
    server = await startThrowawayPostgres('super-secret');
    ca = readFileSync(server.certs.ca, 'utf8');
    otherCa = readFileSync(server.certs.otherCa, 'utf8');
    admin = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: 'super-secret', database: 'postgres', ssl: { ca } });
    await admin.connect();
    await admin.query("CREATE ROLE app_user LOGIN PASSWORD 'first-password'");
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    server?.stop();
  });

  afterEach(() => sm.reset());

  function handler(credentials: CredentialsProvider, tls: { enabled: boolean; servername?: string }, tlsCa?: string) {
    const config: RuntimeConfig = {
      version: 1,
      engine: 'postgres',
      connection: { host: '127.0.0.1', port: server.port, database: 'postgres', user: 'app_user', credentials: { type: 'static', password: '' }, tls, connectTimeoutMs: 3000 },
      queries: [query({ name: 'who', method: 'GET', path: '/who', sql: 'SELECT current_user AS who, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' })],
    };
    return new QueryHandler({ config, engine: postgresEngine, credentials, tlsCa, log: () => undefined, observer: { record: () => undefined } });
  }

  test('TLS with the server CA verifies and connects', async () => {
    const h = handler(new StaticCredentials({ user: 'app_user', password: 'first-password' }), { enabled: true }, ca);
    const res = await h.handle(apiEvent('GET', '/who'));
    await h.close();
    expect(res.statusCode).toBe(200);
    expect(json(res).data).toEqual([{ who: 'app_user', ssl: true }]);
  });

  test('a certificate from another CA is refused', async () => {
    const h = handler(new StaticCredentials({ user: 'app_user', password: 'first-password' }), { enabled: true }, otherCa);
    const res = await h.handle(apiEvent('GET', '/who'));
    expect(res.statusCode).toBe(503);
    expect(res.body).not.toMatch(/certificate|self.signed/i);
  });

  test('a host name the certificate does not name is refused', async () => {
    const h = handler(new StaticCredentials({ user: 'app_user', password: 'first-password' }), { enabled: true, servername: 'db.example.com' }, ca);
    expect((await h.handle(apiEvent('GET', '/who'))).statusCode).toBe(503);
  });

  test('without TLS the server does not let the client in', async () => {
    const h = handler(new StaticCredentials({ user: 'app_user', password: 'first-password' }), { enabled: false });
    expect((await h.handle(apiEvent('GET', '/who'))).statusCode).toBe(503);
  });

  test('IAM tokens are never sent without TLS', () => {
    expect(() => handler(new IamTokenCredentials({ hostname: 'h', port: 1, user: 'u', region: 'r', signer: new CountingSigner() }), { enabled: false })).toThrow(/only sent over TLS/);
  });

  test('an IAM token travels as the password over TLS', async () => {
    // The test server cannot validate SigV4, so the role's password is set to the token the signer returns.
    const signer = new Signer({ hostname: '127.0.0.1', port: server.port, username: 'app_user', region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    const creds = new IamTokenCredentials({ hostname: '127.0.0.1', port: server.port, user: 'app_user', region: 'eu-west-1', signer });
    const token = (await creds.get()).password;
    await admin.query(`ALTER ROLE app_user PASSWORD ${admin.escapeLiteral(token)}`);
    const h = handler(creds, { enabled: true }, ca);
    try {
      const res = await h.handle(apiEvent('GET', '/who'));
      expect(res.statusCode).toBe(200);
      expect(creds.signed).toBe(1);
    } finally {
      await h.close();
      await admin.query("ALTER ROLE app_user PASSWORD 'first-password'");
    }
  });

  test('after rotation the secret is read again once, and the call succeeds', async () => {
    // GIVEN the function connected with the current secret
    let secret = { username: 'app_user', password: 'first-password' };
    sm.on(GetSecretValueCommand, { SecretId: 'arn:secret' }).callsFake(async () => ({ SecretString: JSON.stringify(secret) }));
    const h = handler(new SecretCredentials({ secretArn: 'arn:secret', client: new SecretsManagerClient({ region: 'eu-west-1' }) }), { enabled: true }, ca);
    expect((await h.handle(apiEvent('GET', '/who'))).statusCode).toBe(200);
    // WHEN rotation changes the password and the old connection goes away
    await admin.query("ALTER ROLE app_user PASSWORD 'second-password'");
    secret = { username: 'app_user', password: 'second-password' };
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app_user'");
    await new Promise((r) => setTimeout(r, 100));
    // THEN the next call reconnects: refused with the cached password, re-reads, succeeds
    const res = await h.handle(apiEvent('GET', '/who'));
    await h.close();
    expect(res.statusCode).toBe(200);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    await admin.query("ALTER ROLE app_user PASSWORD 'first-password'");
  });

  test('a wrong secret is re-read once, then answered 503 without looping', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'app_user', password: 'wrong' }) });
    const h = handler(new SecretCredentials({ secretArn: 'arn:secret', client: new SecretsManagerClient({ region: 'eu-west-1' }) }), { enabled: true }, ca);
    const res = await h.handle(apiEvent('GET', '/who'));
    expect(res.statusCode).toBe(503);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(res.body).not.toMatch(/password|authentication/i);
  });

  test('a secret without username and password is refused clearly', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"user":"x"}' });
    await expect(new SecretCredentials({ secretArn: 'arn:secret', client: new SecretsManagerClient({ region: 'eu-west-1' }) }).get()).rejects.toThrow(/no string "username" and "password"/);
  });
});
