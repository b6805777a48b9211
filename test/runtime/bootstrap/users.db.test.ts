/**
 * The database user bootstrap on real servers: a throwaway PostgreSQL with SCRAM passwords and TLS
 * (so passwords are really checked) and the machine's MariaDB. Idempotent, least privilege, passwords
 * escaped, all-or-nothing on PostgreSQL, and nothing dropped on delete.
 */
import { readFileSync } from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import * as mysql from 'mysql2/promise';
import { Client } from 'pg';
import { handleBootstrapEvent, secretReader } from '../../../src/runtime/bootstrap/custom-resource';
import { MasterConnection, runBootstrap } from '../../../src/runtime/bootstrap/run-bootstrap';
import { BootstrapPlan, bootstrapStatements } from '../../../src/runtime/bootstrap/users';
import { MARIADB } from '../helpers/databases';
import { invokeInProcess, stageBundle } from '../helpers/shipped';
import { startThrowawayPostgres, ThrowawayPostgres } from '../helpers/throwaway-postgres';

/** Passwords with every character that could break out of a literal or a dollar-quoted block. */
const READER_PW = "r'ea\\der$$pw\"1";
const WRITER_PW = "wr'ite\\r$$pw;--";

function plan(engine: BootstrapPlan['engine'], database: string, overrides: Partial<BootstrapPlan> = {}): BootstrapPlan {
  return {
    engine,
    database,
    reader: { name: 'rt_boot_reader', authentication: { type: 'password', password: READER_PW } },
    writer: { name: 'rt_boot_writer', authentication: { type: 'password', password: WRITER_PW } },
    ...overrides,
  };
}

describe('PostgreSQL user bootstrap (SCRAM passwords, TLS)', () => {
  let server: ThrowawayPostgres;
  let ca: string;
  let admin: Client;
  let master: MasterConnection;

  const connectAs = async (user: string, password: string) => {
    const c = new Client({ host: '127.0.0.1', port: server.port, user, password, database: 'app', ssl: { ca, servername: 'localhost' } });
    await c.connect();
    return c;
  };
  const roles = async () => (await admin.query(
    "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname LIKE 'rt_boot_%' ORDER BY rolname",
  )).rows;

  beforeAll(async () => {
    server = await startThrowawayPostgres('master-secret');
    ca = readFileSync(server.certs.ca, 'utf8');
    const boot = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: 'master-secret', database: 'postgres', ssl: { ca, servername: 'localhost' } });
    await boot.connect();
    await boot.query('CREATE DATABASE app');
    await boot.end();
    admin = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres', password: 'master-secret', database: 'app', ssl: { ca, servername: 'localhost' } });
    await admin.connect();
    await admin.query('CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL)');
    await admin.query("INSERT INTO items (name) VALUES ('kept')");
    // localhost: the certificate names localhost and 127.0.0.1.
    master = { host: 'localhost', port: server.port, user: 'postgres', password: 'master-secret', database: 'app', ca };
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    server?.stop();
  });

  test('bootstrapping a database with data twice leaves both users once, as plain logins, and the data untouched', async () => {
    await runBootstrap(plan('postgres', 'app'), master);
    await runBootstrap(plan('postgres', 'app'), master);
    expect(await roles()).toEqual([
      { rolname: 'rt_boot_reader', rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true },
      { rolname: 'rt_boot_writer', rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, rolcanlogin: true },
    ]);
    expect((await admin.query('SELECT name FROM items')).rows).toEqual([{ name: 'kept' }]);
  });

  test('the reader logs in with its (escaped) password and can only read', async () => {
    const reader = await connectAs('rt_boot_reader', READER_PW);
    try {
      expect((await reader.query('SELECT name FROM items')).rows).toEqual([{ name: 'kept' }]);
      await expect(reader.query("INSERT INTO items (name) VALUES ('x')")).rejects.toMatchObject({ code: '42501' });
      await expect(reader.query('DELETE FROM items')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await reader.end();
    }
    await expect(connectAs('rt_boot_reader', 'wrong-password')).rejects.toMatchObject({ code: '28P01' });
  });

  test('the writer reads and writes rows (sequences included) but cannot change or drop tables', async () => {
    const writer = await connectAs('rt_boot_writer', WRITER_PW);
    try {
      const { rows } = await writer.query("INSERT INTO items (name) VALUES ('by writer') RETURNING id");
      expect(rows[0].id).toBeGreaterThan(1);
      await writer.query("UPDATE items SET name = 'changed' WHERE name = 'by writer'");
      await writer.query("DELETE FROM items WHERE name = 'changed'");
      await expect(writer.query('DROP TABLE items')).rejects.toMatchObject({ code: '42501' });
      await expect(writer.query('ALTER TABLE items ADD COLUMN x INT')).rejects.toMatchObject({ code: '42501' });
      await expect(writer.query('CREATE TABLE evil (id INT)')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await writer.end();
    }
  });

  test('tables the master creates later are readable by the reader (default privileges)', async () => {
    await admin.query("CREATE TABLE later (v TEXT); INSERT INTO later VALUES ('new')");
    const reader = await connectAs('rt_boot_reader', READER_PW);
    try {
      expect((await reader.query('SELECT v FROM later')).rows).toEqual([{ v: 'new' }]);
    } finally {
      await reader.end();
    }
  });

  test('a rerun takes back privileges granted by hand and sets a rotated password', async () => {
    await admin.query('ALTER ROLE rt_boot_writer SUPERUSER CREATEROLE');
    await runBootstrap(plan('postgres', 'app', { writer: { name: 'rt_boot_writer', authentication: { type: 'password', password: 'rotated-password-2' } } }), master);
    expect((await roles())[1]).toMatchObject({ rolsuper: false, rolcreaterole: false });
    await expect(connectAs('rt_boot_writer', WRITER_PW)).rejects.toMatchObject({ code: '28P01' });
    await (await connectAs('rt_boot_writer', 'rotated-password-2')).end();
  });

  test('IAM authentication grants rds_iam and removes the password; back to passwords revokes it', async () => {
    // RDS has this role; a plain server needs it made.
    await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam; END IF; END $$");
    const iamPlan = plan('postgres', 'app', { reader: { name: 'rt_boot_reader', authentication: { type: 'iam' } } });
    await runBootstrap(iamPlan, master);
    await runBootstrap(iamPlan, master);
    const member = async () => (await admin.query("SELECT pg_has_role('rt_boot_reader', 'rds_iam', 'MEMBER') AS m, rolpassword IS NULL AS nopw FROM pg_authid WHERE rolname = 'rt_boot_reader'")).rows[0];
    expect(await member()).toEqual({ m: true, nopw: true });
    await expect(connectAs('rt_boot_reader', READER_PW)).rejects.toMatchObject({ code: '28P01' });
    await runBootstrap(plan('postgres', 'app'), master);
    expect(await member()).toEqual({ m: false, nopw: false });
  });

  test('a failing run changes nothing (one transaction) and its error carries no password', async () => {
    const fresh = plan('postgres', 'app', {
      reader: { name: 'rt_boot_other', authentication: { type: 'password', password: 'never-shown-123' } },
      schemas: ['public', 'missing_schema'],
    });
    const error = await runBootstrap(fresh, master).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^statement \d+ of \d+ failed \(3F000\)/);
    expect((error as Error).message).not.toContain('never-shown-123');
    expect((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'rt_boot_other'")).rows).toEqual([]);
  });

  test('the bundled function, as Lambda runs it (secrets from Secrets Manager, the CA through NODE_EXTRA_CA_CERTS), makes the users and returns the resource id', async () => {
    const secretsById: Record<string, unknown> = {
      master: { username: 'postgres', password: 'master-secret' },
      reader: { username: 'rt_boot_bundle_r', password: READER_PW },
      writer: { username: 'rt_boot_bundle_w', password: WRITER_PW },
    };
    // Secrets Manager's JSON protocol, as the bundled SDK client speaks it (GetSecretValue only).
    const secretsManager = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const id = (JSON.parse(body) as { SecretId: string }).SecretId;
        const known = req.headers['x-amz-target'] === 'secretsmanager.GetSecretValue' && id in secretsById;
        res.writeHead(known ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(known ? { ARN: id, Name: id, SecretString: JSON.stringify(secretsById[id]) } : { __type: 'ResourceNotFoundException' }));
      });
    });
    await new Promise<void>((resolve) => secretsManager.listen(0, '127.0.0.1', resolve));
    try {
      const event = {
        RequestType: 'Create',
        ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:boot',
        ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x',
        StackId: 'stack',
        RequestId: 'bundle-1',
        LogicalResourceId: 'Users',
        ResourceType: 'Custom::SecureDbApiUsers',
        ResourceProperties: {
          ServiceToken: 'x',
          Engine: 'postgres',
          Database: 'app',
          Host: 'localhost',
          Port: String(server.port),
          MasterSecretArn: 'master',
          ReaderUser: 'rt_boot_bundle_r',
          WriterUser: 'rt_boot_bundle_w',
          Authentication: 'password',
          ReaderSecretArn: 'reader',
          WriterSecretArn: 'writer',
        },
      };
      const out = await invokeInProcess(stageBundle('bootstrap/bootstrap.lambda'), event, {
        NODE_EXTRA_CA_CERTS: server.certs.ca,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIDTEST',
        AWS_SECRET_ACCESS_KEY: 'test-secret',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`,
      });
      // The provider framework's onEvent contract: the function answers with the resource, never to the URL.
      expect(out.error).toBeUndefined();
      expect(out.result).toEqual({ PhysicalResourceId: 'app/rt_boot_bundle_r/rt_boot_bundle_w', NoEcho: true, Data: {} });
      const reader = await connectAs('rt_boot_bundle_r', READER_PW);
      expect((await reader.query('SELECT name FROM items ORDER BY id LIMIT 1')).rows).toEqual([{ name: 'kept' }]);
      await reader.end();
    } finally {
      await new Promise((resolve) => secretsManager.close(resolve));
    }
  });

  test('a server with an untrusted certificate is refused', async () => {
    await expect(runBootstrap(plan('postgres', 'app'), { ...master, ca: readFileSync(server.certs.otherCa, 'utf8') })).rejects.toThrow(/certificate/);
  });
});

describe('MariaDB user bootstrap', () => {
  let admin: mysql.Connection;
  const master: MasterConnection = { ...MARIADB, password: '', tls: false };
  const connectAs = (user: string, password: string) => mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user, password, database: 'test' });

  beforeAll(async () => {
    admin = await mysql.createConnection(MARIADB);
    await admin.query("DROP USER IF EXISTS 'rt_boot_reader'@'%', 'rt_boot_writer'@'%'");
    await admin.query('DROP TABLE IF EXISTS rt_boot_items');
    await admin.query('CREATE TABLE rt_boot_items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40))');
    await admin.query("INSERT INTO rt_boot_items (name) VALUES ('kept')");
  });

  afterAll(async () => {
    await admin?.query("DROP USER IF EXISTS 'rt_boot_reader'@'%', 'rt_boot_writer'@'%'");
    await admin?.query('DROP TABLE IF EXISTS rt_boot_items');
    await admin?.end();
  });

  test('after two bootstraps the reader only reads, the writer only writes rows, and the data is untouched', async () => {
    await runBootstrap(plan('mariadb', 'test'), master);
    await runBootstrap(plan('mariadb', 'test'), master);
    const reader = await connectAs('rt_boot_reader', READER_PW);
    try {
      expect((await reader.query('SELECT name FROM rt_boot_items'))[0]).toEqual([{ name: 'kept' }]);
      await expect(reader.query("INSERT INTO rt_boot_items (name) VALUES ('x')")).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(reader.query('SELECT user FROM mysql.user')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    } finally {
      await reader.end();
    }
    const writer = await connectAs('rt_boot_writer', WRITER_PW);
    try {
      await writer.query("INSERT INTO rt_boot_items (name) VALUES ('w')");
      await writer.query("DELETE FROM rt_boot_items WHERE name = 'w'");
      await expect(writer.query('DROP TABLE rt_boot_items')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(writer.query('CREATE TABLE rt_boot_evil (id INT)')).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
    } finally {
      await writer.end();
    }
    expect((await admin.query('SELECT name FROM rt_boot_items'))[0]).toEqual([{ name: 'kept' }]);
    await expect(connectAs('rt_boot_reader', 'wrong-password')).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
  });

  test('IAM users are created with AWSAuthenticationPlugin and TLS required (SQL only: the plugin exists on RDS alone)', () => {
    const statements = bootstrapStatements(plan('mysql', 'shop', { reader: { name: 'rt_boot_reader', authentication: { type: 'iam' } } }));
    expect(statements.slice(0, 4)).toEqual([
      "CREATE USER IF NOT EXISTS 'rt_boot_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
      "ALTER USER 'rt_boot_reader'@'%' IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'",
      "GRANT SELECT ON `shop`.* TO 'rt_boot_reader'@'%'",
      "ALTER USER 'rt_boot_reader'@'%' REQUIRE SSL",
    ]);
  });
});

describe('bad plans', () => {
  test.each([
    [{ database: 'app; DROP' }, /database must be a plain identifier/],
    [{ schemas: ['public"'] }, /schema "public"" must be a plain identifier/],
    [{ reader: { name: 'Robert\'); --', authentication: { type: 'password', password: 'longenough' } } }, /reader user name/],
    [{ writer: { name: 'rt_boot_reader', authentication: { type: 'password', password: 'longenough' } } }, /different users/],
    [{ writer: { name: 'w', authentication: { type: 'password', password: 'short' } } }, /writer password must have at least 8 characters/],
  ] as Array<[Partial<BootstrapPlan>, RegExp]>)('%j is refused', (overrides, error) => {
    expect(() => bootstrapStatements(plan('postgres', 'app', overrides))).toThrow(error);
  });
});

describe('the custom resource (the provider framework\'s onEvent handler)', () => {
  const secrets = mockClient(SecretsManagerClient);

  beforeAll(() => {
    secrets.on(GetSecretValueCommand, { SecretId: 'master' }).resolves({ SecretString: JSON.stringify({ username: 'root', password: '', host: 'db', port: 3306 }) });
    secrets.on(GetSecretValueCommand, { SecretId: 'reader' }).resolves({ SecretString: JSON.stringify({ username: 'rt_boot_reader', password: READER_PW }) });
    secrets.on(GetSecretValueCommand, { SecretId: 'writer' }).resolves({ SecretString: JSON.stringify({ username: 'rt_boot_writer', password: WRITER_PW }) });
  });

  afterAll(async () => {
    secrets.restore();
    const admin = await mysql.createConnection(MARIADB);
    await admin.query("DROP USER IF EXISTS 'rt_boot_reader'@'%', 'rt_boot_writer'@'%'");
    await admin.end();
  });

  function cfnEvent(type: 'Create' | 'Update' | 'Delete', props: Record<string, string> = {}): CloudFormationCustomResourceEvent {
    return {
      RequestType: type,
      ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:boot',
      ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x',
      StackId: 'stack',
      RequestId: 'req-1',
      LogicalResourceId: 'Users',
      ResourceType: 'Custom::SecureDbApiUsers',
      ...(type === 'Create' ? {} : { PhysicalResourceId: 'test/rt_boot_reader/rt_boot_writer' }),
      ResourceProperties: {
        ServiceToken: 'x',
        Engine: 'mariadb',
        Database: 'test',
        Host: MARIADB.host,
        Port: String(MARIADB.port),
        MasterSecretArn: 'master',
        ReaderUser: 'rt_boot_reader',
        WriterUser: 'rt_boot_writer',
        Authentication: 'password',
        ReaderSecretArn: 'reader',
        WriterSecretArn: 'writer',
        ...props,
      },
    } as unknown as CloudFormationCustomResourceEvent;
  }

  const deps = () => ({
    readSecret: secretReader(new SecretsManagerClient({ region: 'eu-west-1' })),
    // The local server has no TLS; RDS always does (the function trusts the RDS CA).
    run: (p: BootstrapPlan, m: MasterConnection) => runBootstrap(p, { ...m, tls: false }),
    log: () => undefined,
  });

  test('Create and Update make the users from the secrets and name the resource; Delete keeps its id and drops nothing', async () => {
    const answers = [
      await handleBootstrapEvent(cfnEvent('Create'), deps()),
      await handleBootstrapEvent(cfnEvent('Update'), deps()),
    ];
    const reader = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: 'rt_boot_reader', password: READER_PW, database: 'test' });
    await reader.end();
    answers.push(await handleBootstrapEvent(cfnEvent('Delete'), deps()));
    expect(answers).toEqual([0, 1, 2].map(() => ({ PhysicalResourceId: 'test/rt_boot_reader/rt_boot_writer', NoEcho: true, Data: {} })));
    const admin = await mysql.createConnection(MARIADB);
    const [users] = await admin.query("SELECT user FROM mysql.user WHERE user LIKE 'rt_boot_%' ORDER BY user");
    await admin.end();
    expect(users).toEqual([{ User: 'rt_boot_reader' }, { User: 'rt_boot_writer' }]);
  });

  test('a failure throws a reason without the secret, for the framework to answer FAILED with', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const failing = { ...deps(), log: (_: string, attributes: Record<string, unknown>) => logged.push(attributes) };
    await expect(handleBootstrapEvent(cfnEvent('Update', { Port: '1' }), failing)).rejects.toThrow(/./);
    secrets.on(GetSecretValueCommand, { SecretId: 'broken' }).resolves({ SecretString: `not json ${READER_PW}` });
    const error = await handleBootstrapEvent(cfnEvent('Create', { ReaderSecretArn: 'broken' }), failing).catch((e: Error) => e);
    expect(error).toEqual(new Error('secret broken is not a JSON object'));
    expect(logged.map((l) => l.status)).toEqual(['FAILED', 'FAILED']);
    expect(JSON.stringify(logged)).not.toContain(READER_PW);
  });
});
