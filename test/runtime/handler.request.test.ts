/** Malformed requests: each is a 4xx problem+json, decided before any SQL runs. */
import { apiEvent, handlerFor, json, param, postgres, query, TestDatabase } from './helpers/databases';
import { QueryHandler } from '../../src/runtime/handler';

let db: TestDatabase;
let handler: QueryHandler;

beforeAll(async () => {
  db = await postgres();
  handler = handlerFor(db, [
    query({ name: 'echo', method: 'POST', path: '/echo', access: 'write', sql: 'SELECT CAST(:n AS integer) AS n, :s AS s', parameters: [param({ name: 'n', type: 'integer' }), param({ name: 's', type: 'string', required: false, maxLength: 10 })] }),
    query({ name: 'get', method: 'GET', path: '/things/{id}', sql: 'SELECT :id AS id', parameters: [param({ name: 'id', type: 'uuid', in: 'path' })] }),
    query({ name: 'search', method: 'GET', path: '/things', sql: 'SELECT :q AS q', parameters: [param({ name: 'q', type: 'string', in: 'query', required: false })] }),
  ], { extra: { maxBodyBytes: 1024 } });
});
afterAll(async () => {
  await handler.close();
  await db.close();
});

function expectProblem(res: { statusCode: number; headers: Record<string, string>; body: string }, status: number, type: RegExp) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  const body = json(res);
  expect(body.status).toBe(status);
  expect(body.type).toMatch(type);
  expect(body.instance).toBe('urn:request:req-test');
  expect(res.body).not.toMatch(/at .*\.ts:\d+|stack|SELECT/);
  return body;
}

test('a valid request answers 200 JSON with security headers', async () => {
  const res = await handler.handle(apiEvent('POST', '/echo', { body: { n: 7, s: 'hi' } }));
  expect(res.statusCode).toBe(200);
  expect(res.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  expect(json(res).data).toEqual([{ n: 7, s: 'hi' }]);
});

test('unknown route is 404', async () => {
  expectProblem(await handler.handle(apiEvent('GET', '/nope')), 404, /not-found$/);
});

test('known route with another method is 405 with Allow', async () => {
  const res = await handler.handle(apiEvent('DELETE', '/echo'));
  expectProblem(res, 405, /method-not-allowed$/);
  expect(res.headers.allow).toBe('POST');
});

test('oversize body is 413', async () => {
  expectProblem(await handler.handle(apiEvent('POST', '/echo', { body: { n: 1, s: 'x'.repeat(2000) } })), 413, /payload-too-large$/);
});

test('wrong content type is 415', async () => {
  expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: 'n=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })), 415, /unsupported-media-type$/);
});

test.each([
  ['malformed JSON', '{"n": 1,', /not valid JSON/],
  ['a JSON array', '[1]', /must be a JSON object/],
  ['a JSON string', '"x"', /must be a JSON object/],
])('%s is 400', async (_what, rawBody, detail) => {
  const body = expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody })), 400, /validation$/);
  expect(body.errors[0].reason).toMatch(detail);
});

test('invalid UTF-8 (base64 body) is 400', async () => {
  const bytes = Buffer.concat([Buffer.from('{"n": 1, "s": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const body = expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: bytes.toString('base64'), isBase64Encoded: true })), 400, /validation$/);
  expect(body.errors[0].reason).toMatch(/UTF-8/);
});

test('NUL bytes and lone surrogates are 400', async () => {
  expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: '{"n": 1, "s": "a\\u0000"}' })), 400, /validation$/);
  expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: '{"n": 1, "s": "a\\ud800"}' })), 400, /validation$/);
});

test('huge numbers are 400', async () => {
  const body = expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: '{"n": 1e999}' })), 400, /validation$/);
  expect(body.errors).toEqual([{ name: 'n', in: 'body', reason: expect.stringMatching(/between|integer/) }]);
});

test('a number too small to represent is 400 in the body, never read as 0', async () => {
  const inBody = expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody: '{"n": 1, "s": "a", "x": 1e-400}' })), 400, /validation$/);
  expect(inBody.errors).toEqual([{ name: 'body', in: 'body', reason: expect.stringMatching(/too small to represent .*: 1e-400$/) }]);
});

test('every invalid field is listed, and unknown fields are refused', async () => {
  const body = expectProblem(await handler.handle(apiEvent('POST', '/echo', { body: { s: 'x'.repeat(11), extra: 1 } })), 400, /validation$/);
  expect(body.errors).toEqual(expect.arrayContaining([
    { name: 'extra', in: 'body', reason: 'is not a parameter of this route' },
    { name: 'n', in: 'body', reason: 'is required' },
    { name: 's', in: 'body', reason: 'must be at most 10 characters' },
  ]));
});

test('a field given twice in the body is 400, whichever value would have won', async () => {
  for (const rawBody of ['{"n":1,"n":2}', '{"n":1,"s":"a","\\u006e":2}', '{"n":1,"s":"a","s":"b"}']) {
    const body = expectProblem(await handler.handle(apiEvent('POST', '/echo', { rawBody })), 400, /validation$/);
    expect(body.errors).toEqual([{ name: expect.stringMatching(/^[ns]$/), in: 'body', reason: 'appears twice in one JSON object' }]);
  }
});

test('a body on a route that takes none is 400', async () => {
  expectProblem(await handler.handle(apiEvent('GET', '/things', { body: { q: 'x' } })), 400, /validation$/);
});

test('repeated and unknown query-string parameters are 400', async () => {
  const twice = expectProblem(await handler.handle(apiEvent('GET', '/things', { query: { q: ['a', 'b'] } })), 400, /validation$/);
  expect(twice.errors[0].reason).toBe('must appear only once');
  expectProblem(await handler.handle(apiEvent('GET', '/things', { query: { other: 'x' } })), 400, /validation$/);
});

test('path parameters are validated, and matched by path when the resource is not given', async () => {
  expectProblem(await handler.handle(apiEvent('GET', '/things/abc', { resource: '/things/{id}', pathParameters: { id: 'abc' } })), 400, /validation$/);
  const ok = await handler.handle({ ...apiEvent('GET', '/things/5a0f6c1e-9c7b-4c36-9f0b-2d4c6f1a7b21'), resource: '/{proxy+}' });
  expect(ok.statusCode).toBe(200);
  expectProblem(await handler.handle({ ...apiEvent('GET', '/things/%E0%A4%A'), resource: '/{proxy+}' }), 400, /validation$/);
});
