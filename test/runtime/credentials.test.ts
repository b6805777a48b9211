/**
 * Credentials: IAM tokens are signed like the SDK's RDS signer, cached and renewed before expiry, and
 * renewed once after the database refuses them. The database side runs on a throwaway TLS-only,
 * SCRAM-only PostgreSQL server.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Signer } from '@aws-sdk/rds-signer';
import { Client } from 'pg';
import { apiEvent, json, query } from './helpers/databases';
import { until } from './helpers/shipped';
import { startThrowawayPostgres, ThrowawayPostgres } from './helpers/throwaway-postgres';
import { ContainerBackend } from '../../src/runtime/container/backend';
import { CredentialsProvider, DbCredentials, IAM_TOKEN_LIFETIME_MS, IamTokenCredentials, StaticCredentials, TokenSigner } from '../../src/runtime/credentials';
import { postgresEngine } from '../../src/runtime/engines/postgres';
import { graphqlHandlerFrom } from '../../src/runtime/graphql/lambda';
import { QueryHandler } from '../../src/runtime/handler';
import { credentialsFor, handlerFromFile, readConfigFile } from '../../src/runtime/lambda';
import { RdsAuthTokenSigner } from '../../src/runtime/rds-token';
import { RuntimeConfig } from '../../src/shared/config';

const AWS_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+=' };

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

  test('the token signer writes a 15-minute connect token for the DB user, offline', async () => {
    const signer = new RdsAuthTokenSigner({ hostname: 'prx.proxy-abc.eu-west-1.rds.amazonaws.com', port: 5432, username: 'app_reader', region: 'eu-west-1', credentials: AWS_CREDENTIALS });
    const creds = new IamTokenCredentials({ hostname: 'x', port: 5432, user: 'app_reader', region: 'eu-west-1', signer });
    const { user, password } = await creds.get();
    expect(user).toBe('app_reader');
    expect(password).toMatch(/^prx\.proxy-abc\.eu-west-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=app_reader&/);
    expect(password).toMatch(/X-Amz-Expires=900/);
    expect(password).toMatch(/X-Amz-Credential=AKIDEXAMPLE%2F\d{8}%2Feu-west-1%2Frds-db%2Faws4_request/);
    expect(password).toMatch(/X-Amz-Security-Token=session%2Ftoken%2B%3D/);
  });

  describe('matches @aws-sdk/rds-signer byte for byte', () => {
    beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-23T10:11:12Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    test.each([
      ['a proxy endpoint', 'prx.proxy-abc.eu-west-1.rds.amazonaws.com', 5432, 'app_reader', 'eu-west-1'],
      ['a MySQL port and a user that needs escaping', 'db.cluster-xyz.us-gov-west-1.rds.amazonaws.com', 3306, 'app user+1@x', 'us-gov-west-1'],
      ['SQL Server', 'mssql.proxy-q.ap-southeast-2.rds.amazonaws.com', 1433, 'reader', 'ap-southeast-2'],
    ])('%s', async (_case, hostname, port, username, region) => {
      const reference = await new Signer({ hostname, port, username, region, credentials: AWS_CREDENTIALS }).getAuthToken();
      const ours = await new RdsAuthTokenSigner({ hostname, port, username, region, credentials: AWS_CREDENTIALS }).getAuthToken();
      expect(ours).toBe(reference);
    });

    test('with a credentials provider, as in Lambda', async () => {
      const provider = async () => AWS_CREDENTIALS;
      const args = { hostname: 'h.example', port: 5432, username: 'u', region: 'eu-west-1' };
      expect(await new RdsAuthTokenSigner({ ...args, credentials: provider }).getAuthToken())
        .toBe(await new Signer({ ...args, credentials: provider }).getAuthToken());
    });
  });

  test('credentials that expire within the token lifetime are refreshed before signing', async () => {
    const calls: Array<boolean | undefined> = [];
    const provider = async (p?: { forceRefresh?: boolean }) => {
      calls.push(p?.forceRefresh);
      const minutes = p?.forceRefresh ? 60 : 5;
      return { ...AWS_CREDENTIALS, accessKeyId: p?.forceRefresh ? 'AKIDFRESH' : 'AKIDOLD', expiration: new Date(Date.now() + minutes * 60_000) };
    };
    const token = await new RdsAuthTokenSigner({ hostname: 'h', port: 1, username: 'u', region: 'eu-west-1', credentials: provider }).getAuthToken();
    expect(calls).toEqual([undefined, true]);
    expect(token).toMatch(/X-Amz-Credential=AKIDFRESH/);
  });

  test('bad signer settings are refused when the function starts, not at the first call', () => {
    const ok = { hostname: 'h', port: 5432, username: 'u', region: 'eu-west-1', credentials: AWS_CREDENTIALS };
    expect(() => new RdsAuthTokenSigner({ ...ok, hostname: '' })).toThrow(/needs a hostname/);
    expect(() => new RdsAuthTokenSigner({ ...ok, region: '' })).toThrow(/needs a region/);
    expect(() => new RdsAuthTokenSigner({ ...ok, port: 0 })).toThrow(/needs a port/);
  });

  test('in Lambda the token is signed with the execution role credentials from the environment', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDLAMBDAROLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'tok' });
    try {
      const config: RuntimeConfig = {
        version: 1,
        engine: 'postgres',
        connection: { host: 'prx.example', port: 5432, database: 'd', user: 'app_reader', credentials: { type: 'iam', region: 'eu-west-1' }, tls: { enabled: true } },
        queries: [],
      };
      const { password } = await credentialsFor(config).get();
      expect(password).toMatch(/^prx\.example:5432\/\?Action=connect&DBUser=app_reader&.*X-Amz-Credential=AKIDLAMBDAROLE%2F/);
    } finally {
      process.env = saved;
    }
  });

  test('without AWS credentials the error says so', async () => {
    await expect(new IamTokenCredentials({ hostname: 'h', port: 5432, user: 'u', region: 'eu-west-1' }).get()).rejects.toThrow(/needs AWS credentials/);
  });
});

describe('on a TLS-only, password-only PostgreSQL server', () => {
  let server: ThrowawayPostgres;
  let ca: string;
  let otherCa: string;
  let admin: Client;

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

  test('the REST and the GraphQL function and the container backend all verify with the CA file their configuration names', async () => {
    // GIVEN a configuration file beside the CA file it names, as a function's asset would hold them
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-ca-'));
    copyFileSync(server.certs.ca, path.join(dir, 'ca.pem'));
    const config: RuntimeConfig = {
      version: 1,
      engine: 'postgres',
      connection: {
        host: '127.0.0.1',
        port: server.port,
        database: 'postgres',
        user: 'app_user',
        credentials: { type: 'static', password: 'first-password' },
        tls: { enabled: true, caFile: 'ca.pem' },
        connectTimeoutMs: 3000,
      },
      queries: [query({
        name: 'who',
        method: 'GET',
        path: '/who',
        sql: 'SELECT current_user AS who, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        columns: [{ name: 'who', type: 'string' }, { name: 'ssl', type: 'boolean' }],
      })],
      graphql: { path: '/graphql', maxDepth: 5, maxComplexity: 100, introspection: false },
    };
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(config));
    // WHEN both kinds of handler are built from the file
    const rest = handlerFromFile(file, () => postgresEngine);
    const graphql = graphqlHandlerFrom(readConfigFile(file), () => postgresEngine, file);
    const container = new ContainerBackend({
      config: readConfigFile(file),
      configFile: file,
      engine: postgresEngine,
      pool: { size: 1, maxQueue: 1, acquireTimeoutMs: 3000 },
      observer: { record: () => undefined },
      awsCredentials: async () => AWS_CREDENTIALS,
    });
    try {
      // THEN both connect over verified TLS (the test CA is in no system store)
      const r = await rest.handle(apiEvent('GET', '/who'));
      expect(r.statusCode).toBe(200);
      expect(json(r).data).toEqual([{ who: 'app_user', ssl: true }]);
      const g = await graphql.handle(apiEvent('POST', '/graphql', { body: { query: '{ who { rows { who ssl } } }' } }), 'g1');
      expect(json(g)).toEqual({ data: { who: { rows: [{ who: 'app_user', ssl: true }] } } });
      const c = await container.dispatch(apiEvent('GET', '/who'), 'c1');
      expect(c.statusCode).toBe(200);
      expect(json(c).data).toEqual([{ who: 'app_user', ssl: true }]);
    } finally {
      await rest.close();
      await graphql.close();
      await container.close();
    }
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
    const signer = new RdsAuthTokenSigner({ hostname: '127.0.0.1', port: server.port, username: 'app_user', region: 'eu-west-1', credentials: AWS_CREDENTIALS });
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

  /** A provider whose password changes under it, like a rotated credential; counts reads and refusals. */
  class RotatingCredentials implements CredentialsProvider {
    readonly kind = 'static' as const;
    reads = 0;
    invalidations = 0;
    constructor(public current: DbCredentials) {}
    async get() {
      this.reads++;
      return this.current;
    }
    invalidate() {
      this.invalidations++;
    }
  }

  test('after a credential change the database refuses once, the provider is asked again, and the call succeeds', async () => {
    // GIVEN the function connected with the current password
    const creds = new RotatingCredentials({ user: 'app_user', password: 'first-password' });
    const h = handler(creds, { enabled: true }, ca);
    expect((await h.handle(apiEvent('GET', '/who'))).statusCode).toBe(200);
    // WHEN the password changes and the old connection goes away
    await admin.query("ALTER ROLE app_user PASSWORD 'second-password'");
    await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app_user'");
    await until(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE usename = 'app_user'")).rowCount === 0);
    const stale = creds.reads;
    creds.current = { user: 'app_user', password: 'second-password' };
    // THEN the next call reconnects and succeeds
    const res = await h.handle(apiEvent('GET', '/who'));
    await h.close();
    await admin.query("ALTER ROLE app_user PASSWORD 'first-password'");
    expect(res.statusCode).toBe(200);
    expect(creds.reads).toBeGreaterThan(stale);
  });

  test('credentials the database refuses are renewed once, then answered 503 without looping', async () => {
    const creds = new RotatingCredentials({ user: 'app_user', password: 'wrong' });
    const h = handler(creds, { enabled: true }, ca);
    const res = await h.handle(apiEvent('GET', '/who'));
    await h.close();
    expect(res.statusCode).toBe(503);
    expect(creds.invalidations).toBe(1);
    expect(creds.reads).toBe(2);
    expect(res.body).not.toMatch(/password|authentication/i);
  });
});
