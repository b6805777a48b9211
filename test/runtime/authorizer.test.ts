/**
 * The JWT authorizer with real tokens: a local OpenID provider (an HTTPS JWKS endpoint with a test CA,
 * keys and tokens made with jose) and aws-jwt-verify fetching from it, in the source and as the bundle
 * Lambda runs. Then the verified claims go on to the real query handler on both servers, as API Gateway
 * passes them.
 */
import { createSign, KeyObject } from 'crypto';
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
import { isCognitoIssuer } from '../../src/shared/authorizer-config';

const STAGE_ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/v1';
const AUDIENCE = 'api://orders';
/** A Cognito user pool's issuer; its tokens are signed by the local provider's key (the JWKS URI is set). */
const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1';
const COGNITO_CLIENT = '4lq2kc0bp3tqalf3example';
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
let jwksUri: string;
let caFile: string;
let ca: Buffer;
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

/**
 * A token with exactly this header and payload, RS256-signed by the provider's key: jose refuses to sign
 * the `crit` headers the authorizer must refuse.
 */
function rawToken(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'RS256', kid: 'key-1', typ: 'JWT', ...header })}.${b64({ iss: issuer, aud: AUDIENCE, iat: now, exp: now + 300, ...claims })}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(signing.privateKey as KeyObject).toString('base64url')}`;
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
  caFile = certs.ca;
  ca = readFileSync(certs.ca);
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
  jwksUri = `${issuer}/.well-known/jwks.json`;
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
  test('a valid token with one scope is allowed exactly the routes it satisfies, with the claims in the context', async () => {
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

  test('a Cognito user pool\'s access tokens (client_id, no aud) are matched by client_id; its ID tokens by aud', async () => {
    const cognito = createAuthorizer({ version: 1, issuer: COGNITO_ISSUER, jwksUri, audiences: [COGNITO_CLIENT], routes: ROUTES }, { jwksCa: ca });
    const access = await token({ sub: 'svc', client_id: COGNITO_CLIENT, token_use: 'access', scope: 'notes/read' }, { issuer: COGNITO_ISSUER, audience: null });
    expect(allowed(await cognito(event(`Bearer ${access}`)))).toEqual(['GET/notes', 'GET/notes/*']);
    const id = await token({ 'sub': 'alice', 'token_use': 'id', 'cognito:groups': ['admins'] }, { issuer: COGNITO_ISSUER, audience: COGNITO_CLIENT });
    expect(allowed(await cognito(event(`Bearer ${id}`)))).toEqual(['GET/notes', 'GET/admin']);
  });

  test.each([
    ['another app client', { client_id: 'another-client', token_use: 'access' }],
    ['a token that is not an access token', { client_id: COGNITO_CLIENT, token_use: 'id' }],
    ['a token that does not say what it is', { client_id: COGNITO_CLIENT }],
  ])('from a Cognito user pool, client_id of %s without aud is a 401', async (_label, claims) => {
    rejections.length = 0;
    const cognito = createAuthorizer({ version: 1, issuer: COGNITO_ISSUER, jwksUri, audiences: [COGNITO_CLIENT], routes: ROUTES }, {
      jwksCa: ca,
      log: { warn: (_m, attributes) => rejections.push(attributes) },
    });
    await expect(cognito(event(`Bearer ${await token({ sub: 'svc', ...claims }, { issuer: COGNITO_ISSUER, audience: null })}`))).rejects.toThrow(/^Unauthorized$/);
    expect(rejections).toEqual([expect.objectContaining({ reason: 'audience' })]);
  });

  test('only a Cognito user pool\'s own issuer URL counts as Cognito; look-alikes do not', () => {
    expect([COGNITO_ISSUER, 'https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Ab1', 'https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_Ab1']
      .map(isCognitoIssuer)).toEqual([true, true, true]);
    expect([
      'https://cognito-idp.eu-west-1.amazonaws.com.evil.example/eu-west-1_TestPool1',
      'https://evil.example/cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1',
      'http://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool1',
      `${COGNITO_ISSUER}/extra`,
      'https://example.okta.com/oauth2/default',
    ].map(isCognitoIssuer)).toEqual([false, false, false, false, false]);
  });

  test.each([
    ['an unknown extension', { 'crit': ['urn:example:signed-at'], 'urn:example:signed-at': 1 }],
    ['b64 (RFC 7797), which this authorizer does not implement', { crit: ['b64'], b64: true }],
    ['an extension the header does not carry', { crit: ['urn:example:absent'] }],
    ['no extension at all (an empty list)', { crit: [] }],
    ['a string instead of a list', { crit: 'exp' }],
  ])('a crit header with %s is a 401 (RFC 7515 §4.1.11), with the reason logged', async (_label, header) => {
    rejections.length = 0;
    await expect(authorizer(event(`Bearer ${rawToken(header, { sub: 'mallory', scope: 'notes/read notes/write' })}`))).rejects.toThrow(/^Unauthorized$/);
    expect(rejections).toEqual([expect.objectContaining({ reason: 'critical-header' })]);
  });

  test('the same token without the crit header is allowed (the refusal is the header\'s)', async () => {
    expect(allowed(await authorizer(event(`Bearer ${rawToken({}, { sub: 'alice', scope: 'notes/read' })}`)))).toEqual(['GET/notes', 'GET/notes/*']);
  });

  test.each([
    ['a forged signature (same kid, another key)', async () => token({ sub: 'mallory', scope: 'notes/read notes/write' }, { key: attacker }), 'signature'],
    ['an unknown key id', async () => token({ sub: 'mallory' }, { key: attacker, kid: 'key-2' }), 'unknown-key'],
    ['the wrong issuer', async () => token({ sub: 'mallory' }, { issuer: 'https://evil.example.com' }), 'issuer'],
    ['the wrong audience', async () => token({ sub: 'mallory' }, { audience: 'api://other' }), 'audience'],
    ['no audience at all', async () => token({ sub: 'mallory' }, { audience: null }), 'audience'],
    ['client_id in place of aud from an issuer that is not Cognito', async () => token({ sub: 'mallory', client_id: AUDIENCE, token_use: 'access' }, { audience: null }), 'audience'],
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

describe('the bundled authorizer refuses what the sources refuse (its own process, as Lambda runs it)', () => {
  /** Each event through a freshly staged bundle; the answers and the logged rejection reasons. */
  async function runBundle(config: AuthorizerConfig, events: unknown[]) {
    const asset = stageBundle('authorizer.lambda', { 'authorizer.json': config });
    const outs = [];
    for (const e of events) outs.push(await invokeInProcess(asset, e, { NODE_EXTRA_CA_CERTS: caFile }));
    const reasons = outs.flatMap((o) => [...o.output.matchAll(/"message":"token rejected"[^\n]*?"reason":"([a-z-]+)"/g)].map((m) => m[1]));
    return { results: outs.map((o) => (o.error ?? allowed(o.result as APIGatewayAuthorizerResult))), reasons };
  }

  test('refuses crit headers and client_id in place of aud; allows the same tokens without them', async () => {
    const events = [
      event(`Bearer ${rawToken({}, { sub: 'alice' })}`),
      event(`Bearer ${rawToken({ 'crit': ['urn:example:signed-at'], 'urn:example:signed-at': 1 }, { sub: 'mallory' })}`),
      event(`Bearer ${rawToken({ crit: ['b64'], b64: true }, { sub: 'mallory' })}`),
      event(`Bearer ${await token({ sub: 'mallory', client_id: AUDIENCE, token_use: 'access' }, { audience: null })}`),
    ];
    const { results, reasons } = await runBundle({ version: 1, issuer, audiences: [AUDIENCE], routes: ROUTES }, events);
    expect(results).toEqual([['GET/notes'], 'Unauthorized', 'Unauthorized', 'Unauthorized']);
    expect(reasons).toEqual(['critical-header', 'critical-header', 'audience']);
  });

  test('takes client_id for aud from a Cognito user pool\'s access tokens only', async () => {
    const events = [
      event(`Bearer ${await token({ sub: 'svc', client_id: COGNITO_CLIENT, token_use: 'access' }, { issuer: COGNITO_ISSUER, audience: null })}`),
      event(`Bearer ${await token({ sub: 'svc', client_id: COGNITO_CLIENT, token_use: 'id' }, { issuer: COGNITO_ISSUER, audience: null })}`),
    ];
    const config = { version: 1 as const, issuer: COGNITO_ISSUER, jwksUri, audiences: [COGNITO_CLIENT], routes: ROUTES };
    const { results, reasons } = await runBundle(config, events);
    expect(results).toEqual([['GET/notes'], 'Unauthorized']);
    expect(reasons).toEqual(['audience']);
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
