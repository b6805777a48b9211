/**
 * The JWT authorizer with real tokens: a local OpenID provider (an HTTPS JWKS endpoint with a test CA,
 * keys and tokens made with jose) and aws-jwt-verify fetching from it. Then the verified claims go on
 * to the real query handler on both servers, as API Gateway passes them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import * as https from 'https';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { apiEvent, ENGINES, handlerFor, json, query, TestDatabase } from './helpers/databases';
import { invokeInProcess, stageBundle } from './helpers/shipped';
import { makeCertificates } from './helpers/throwaway-postgres';
import { AuthorizerConfig, createAuthorizer, TokenAuthorizer } from '../../src/runtime/authorizer';
import { QueryHandler } from '../../src/runtime/handler';

const STAGE_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1';
const AUDIENCE = 'api://orders';
const ROUTES: AuthorizerConfig['routes'] = [
  { method: 'GET', path: '/notes' },
  { method: 'GET', path: '/notes/{id}', requiredScopes: ['notes/read'] },
  { method: 'POST', path: '/notes', requiredScopes: ['notes/read', 'notes/write'] },
  { method: 'GET', path: '/admin', requiredGroups: ['admins'] },
];

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

let dir: string;
let server: https.Server;
let issuer: string;
let ca: Buffer;
let caFile: string;
let signing: KeyPair;
let attacker: KeyPair;
let jwksRequests = 0;
let authorizer: TokenAuthorizer;
const rejections: Array<Record<string, unknown>> = [];

interface TokenOptions {
  readonly key?: KeyPair;
  readonly kid?: string;
  readonly issuer?: string;
  /** null: no aud claim at all. */
  readonly audience?: string | string[] | null;
  readonly expiresIn?: string | number;
  readonly notBefore?: string | number;
}

async function token(claims: Record<string, unknown>, options: TokenOptions = {}) {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'key-1', typ: 'JWT' })
    .setIssuer(options.issuer ?? issuer)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m');
  if (options.audience !== null) jwt = jwt.setAudience(options.audience ?? AUDIENCE);
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign((options.key ?? signing).privateKey);
}

function event(authorizationToken: string, route = 'GET/notes') {
  return { type: 'TOKEN' as const, authorizationToken, methodArn: `${STAGE_ARN}/${route}` };
}

function allowed(result: APIGatewayAuthorizerResult): string[] {
  const allow = result.policyDocument.Statement.find((s) => s.Effect === 'Allow') as { Resource?: string | string[] } | undefined;
  return ([] as string[]).concat(allow?.Resource ?? []).map((arn) => arn.slice(STAGE_ARN.length + 1));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'authorizer-test-'));
  const certs = makeCertificates(dir);
  ca = readFileSync(certs.ca);
  caFile = certs.ca;
  signing = await generateKeyPair('RS256');
  attacker = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  server = https.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    jwksRequests++;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  authorizer = createAuthorizer({ version: 1, issuer, audiences: [AUDIENCE], routes: ROUTES }, {
    jwksCa: ca,
    log: { warn: (_m, attributes) => rejections.push(attributes) },
  });
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the bundled authorizer, as Lambda runs it (its asset\'s authorizer.json, the CA through NODE_EXTRA_CA_CERTS)', () => {
  const run = async (authorization: string, route = 'GET/notes') => {
    const asset = stageBundle('authorizer.lambda', { 'authorizer.json': { version: 1, issuer, audiences: [AUDIENCE], routes: ROUTES } });
    return invokeInProcess(asset, event(authorization, route), { NODE_EXTRA_CA_CERTS: caFile });
  };

  test('a valid token is allowed exactly the routes it satisfies, with its claims', async () => {
    const out = await run(`Bearer ${await token({ sub: 'alice', tenant_id: 't1', scope: 'openid notes/read' })}`);
    const result = out.result as APIGatewayAuthorizerResult;
    expect(result.principalId).toBe('alice');
    expect(allowed(result)).toEqual(['GET/notes', 'GET/notes/*']);
    expect(JSON.parse(result.context!.claims as string)).toMatchObject({ sub: 'alice', tenant_id: 't1' });
  });

  test.each([
    ['a forged signature', async () => token({ sub: 'mallory' }, { key: attacker }), 'signature'],
    ['an expired token', async () => token({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'expired'],
    ['the wrong audience', async () => token({ sub: 'mallory' }, { audience: 'api://other' }), 'audience'],
  ])('%s is a 401, logged with its reason (error classes survive minification)', async (_label, make, reason) => {
    const out = await run(`Bearer ${await make()}`);
    expect(out.error).toBe('Unauthorized');
    expect(out.output).toContain(`"reason":"${reason}"`);
  });
});

describe('JWT authorizer', () => {
  test('GIVEN a valid token with one scope WHEN authorized THEN exactly the routes it satisfies are allowed, with the claims in the context', async () => {
    const result = await authorizer(event(`Bearer ${await token({ sub: 'alice', tenant_id: 't1', scope: 'openid notes/read' })}`));
    expect(result.principalId).toBe('alice');
    expect(allowed(result)).toEqual(['GET/notes', 'GET/notes/*']);
    expect(JSON.parse(result.context!.claims as string)).toMatchObject({ sub: 'alice', tenant_id: 't1', iss: issuer, aud: AUDIENCE });
  });

  test('every scope of a route is needed, and one of its groups', async () => {
    const writer = await authorizer(event(`Bearer ${await token({ sub: 'w', scope: 'notes/read notes/write', groups: ['admins'] })}`));
    expect(allowed(writer)).toEqual(['GET/notes', 'GET/notes/*', 'POST/notes', 'GET/admin']);
    const onlyWrite = await authorizer(event(`Bearer ${await token({ sub: 'x', scp: ['notes/write'] })}`));
    expect(allowed(onlyWrite)).toEqual(['GET/notes']);
  });

  test('a token that satisfies no route gets an explicit Deny for the stage (API Gateway answers 403)', async () => {
    const narrow = createAuthorizer({ version: 1, issuer, audiences: [AUDIENCE], routes: [ROUTES[1]] }, { jwksCa: ca });
    const result = await narrow(event(`Bearer ${await token({ sub: 'alice', scope: 'other' })}`, 'GET/notes/1'));
    expect(result.policyDocument.Statement).toEqual([{ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: `${STAGE_ARN}/*` }]);
  });

  test('Cognito access tokens (client_id, no aud) are matched against the audiences', async () => {
    const result = await authorizer(event(`Bearer ${await token({ sub: 'svc', client_id: AUDIENCE, token_use: 'access' }, { audience: null })}`));
    expect(allowed(result)).toEqual(['GET/notes']);
  });

  test.each([
    ['a forged signature (same kid, another key)', async () => token({ sub: 'mallory', scope: 'notes/read notes/write' }, { key: attacker }), 'signature'],
    ['an unknown key id', async () => token({ sub: 'mallory' }, { key: attacker, kid: 'key-2' }), 'unknown-key'],
    ['the wrong issuer', async () => token({ sub: 'mallory' }, { issuer: 'https://evil.example.com' }), 'issuer'],
    ['the wrong audience', async () => token({ sub: 'mallory' }, { audience: 'api://other' }), 'audience'],
    ['no audience at all', async () => token({ sub: 'mallory' }, { audience: null }), 'audience'],
    ['an expired token', async () => token({ sub: 'alice' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }), 'expired'],
    ['a token not valid yet', async () => token({ sub: 'alice' }, { notBefore: Math.floor(Date.now() / 1000) + 600 }), 'not-yet-valid'],
  ])('%s is a 401 (Unauthorized), with the reason logged', async (_label, make, reason) => {
    rejections.length = 0;
    await expect(authorizer(event(`Bearer ${await make()}`))).rejects.toThrow(/^Unauthorized$/);
    expect(rejections).toEqual([expect.objectContaining({ reason })]);
  });

  test('a token without an expiry is a 401 (aws-jwt-verify alone accepts it)', async () => {
    rejections.length = 0;
    const noExp = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setIssuer(issuer).setAudience(AUDIENCE).sign(signing.privateKey);
    await expect(authorizer(event(`Bearer ${noExp}`))).rejects.toThrow(/^Unauthorized$/);
    expect(rejections).toEqual([expect.objectContaining({ reason: 'no-expiry' })]);
  });

  test('an unsigned token (alg none), a malformed header and no header are 401', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: 'key-1' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'mallory', iss: issuer, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url');
    for (const value of [`Bearer ${header}.${payload}.`, `Bearer ${header}.${payload}.x`, 'Basic dXNlcjpwYXNz', 'Bearer', '']) {
      await expect(authorizer(event(value))).rejects.toThrow(/^Unauthorized$/);
    }
  });

  test('the JWKS is fetched once and then served from the cache', async () => {
    const fresh = createAuthorizer({ version: 1, issuer, audiences: [AUDIENCE], routes: ROUTES }, { jwksCa: ca });
    const before = jwksRequests;
    const jwt = await token({ sub: 'alice' });
    for (let i = 0; i < 20; i++) await fresh(event(`Bearer ${jwt}`));
    expect(jwksRequests - before).toBe(1);
  });

  test('a JWKS endpoint with an untrusted certificate is never used', async () => {
    const untrusted = createAuthorizer({ version: 1, issuer, audiences: [AUDIENCE], routes: ROUTES });
    await expect(untrusted(event(`Bearer ${await token({ sub: 'alice' })}`))).rejects.toThrow(/^Unauthorized$/);
  });

  test('bad configurations are refused with every problem named', () => {
    expect(() => createAuthorizer({ version: 1, issuer: 'http://idp', audiences: [], routes: [] })).toThrow(
      /issuer must be an https:\/\/ URL; audiences must be a non-empty list of non-empty strings; routes must be a non-empty list/,
    );
  });
});

/** The authorizer's context as API Gateway hands it to the query function. */
function authorized(e: ReturnType<typeof apiEvent>, result: APIGatewayAuthorizerResult) {
  return { ...e, requestContext: { ...e.requestContext, authorizer: { principalId: result.principalId, ...result.context } } };
}

describe.each(ENGINES)('real tokens through to %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_jwt_notes');
    await db.exec(`CREATE TABLE rt_jwt_notes (id ${db.types.serial}, tenant_id VARCHAR(20), body ${db.types.text})`);
    await db.exec("INSERT INTO rt_jwt_notes (tenant_id, body) VALUES ('t1', 'for t1'), ('t2', 'secret of t2')");
    handler = handlerFor(db, [
      query({ name: 'myNotes', method: 'GET', path: '/notes', sql: 'SELECT body FROM rt_jwt_notes WHERE tenant_id = :claims.tenant_id ORDER BY id' }),
    ]);
  });

  afterAll(async () => {
    await handler?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_jwt_notes');
    await db?.close();
  });

  test('a tenant reads only its own rows, whatever the request says', async () => {
    const t1 = await authorizer(event(`Bearer ${await token({ sub: 'alice', tenant_id: 't1' })}`));
    // A request that tries to name the tenant is refused outright (no such parameter) …
    const spoofed = await handler.handle(authorized(apiEvent('GET', '/notes', { query: { tenant_id: 't2' } }), t1));
    expect(spoofed.statusCode).toBe(400);
    // … and headers are never a source of values.
    const res = await handler.handle(authorized(apiEvent('GET', '/notes', { headers: { 'x-tenant-id': 't2', 'claims.tenant_id': 't2' } }), t1));
    expect(json(res).data).toEqual([{ body: 'for t1' }]);
    const t2 = await authorizer(event(`Bearer ${await token({ sub: 'carol', tenant_id: 't2' })}`));
    expect(json(await handler.handle(authorized(apiEvent('GET', '/notes'), t2))).data).toEqual([{ body: 'secret of t2' }]);
  });

  test('a verified token without the claim gets 403 problem+json, not every tenant', async () => {
    const none = await authorizer(event(`Bearer ${await token({ sub: 'dave' })}`));
    const res = await handler.handle(authorized(apiEvent('GET', '/notes'), none));
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(json(res).detail).toMatch(/tenant_id/);
  });
});
