/**
 * Audit records, metrics and sqlcommenter tags from real handler runs on both servers, with the real
 * Powertools Logger and Metrics writing to stdout. Sensitive values appear nowhere in the output.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { Segment, Subsegment } from 'aws-xray-sdk-core';
import { apiEvent, ENGINES, handlerFor, param, query, TestDatabase } from './helpers/databases';
import { QueryHandler } from '../../src/runtime/handler';
import { PowertoolsCallTracer, PowertoolsObserver, sqlComment } from '../../src/runtime/observability';

// This file checks the Powertools output itself: turn on what test/quiet-logs.ts keeps quiet in every other
// test file (Jest gives each test file its own copy of process.env).
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
delete process.env.POWERTOOLS_METRICS_DISABLED;

const CALLER = 'arn:aws:iam::123456789012:role/orders-reader';
const SECRET = 'hunter2-do-not-log-me';

/** Captures everything written to stdout while `fn` runs. */
async function captureStdout(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = original;
  }
  return lines;
}

describe.each(ENGINES)('audit on %s', (_label, open) => {
  let db: TestDatabase;
  let handler: QueryHandler;

  beforeAll(async () => {
    db = await open();
    await db.exec('DROP TABLE IF EXISTS rt_accounts');
    await db.exec(`CREATE TABLE rt_accounts (id ${db.types.serial}, email VARCHAR(100), hint VARCHAR(100))`);
    handler = handlerFor(db, [
      query({
        name: 'addAccount',
        method: 'POST',
        path: '/accounts',
        access: 'write',
        sql: 'INSERT INTO rt_accounts (email, hint) VALUES (:email, :hint)',
        parameters: [param({ name: 'email', type: 'string', maxLength: 100 }), param({ name: 'hint', type: 'string', maxLength: 30, sensitive: true })],
      }),
      query({ name: 'countAccounts', method: 'GET', path: '/accounts', sql: 'SELECT COUNT(*) AS n FROM rt_accounts' }),
      query({ name: 'slowTagged', method: 'GET', path: '/tagged', sql: `${db.sleepSql('0.6')}, :tag AS tag`, parameters: [param({ name: 'tag', type: 'string', in: 'query', sensitive: true })] }),
    ], { observer: new PowertoolsObserver() });
  });

  afterAll(async () => {
    await handler?.close();
    await db?.exec('DROP TABLE IF EXISTS rt_accounts');
    await db?.close();
  });

  test('one audit record per call, field by field, and EMF metrics per route', async () => {
    const lines = await captureStdout(async () => {
      expect((await handler.handle(apiEvent('POST', '/accounts', { body: { email: 'a@example.com', hint: SECRET }, userArn: CALLER, requestId: 'api-1' }), { awsRequestId: 'lambda-1' })).statusCode).toBe(200);
      expect((await handler.handle(apiEvent('GET', '/accounts', { userArn: CALLER, requestId: 'api-2' }), { awsRequestId: 'lambda-2' })).statusCode).toBe(200);
      // Invalid, and the invalid value is the sensitive one: it must not be echoed anywhere.
      expect((await handler.handle(apiEvent('POST', '/accounts', { body: { email: 'b@example.com', hint: `${SECRET}${'x'.repeat(40)}` }, userArn: CALLER, requestId: 'api-3' }), { awsRequestId: 'lambda-3' })).statusCode).toBe(400);
      expect((await handler.handle(apiEvent('GET', '/nowhere', { requestId: 'api-4' }), { awsRequestId: 'lambda-4' })).statusCode).toBe(404);
    });
    const records = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'audit').map((l) => ({ ...l.audit, level: l.level, service: l.service }));
    expect(records).toHaveLength(4);
    const [write, read, invalid, missing] = records;
    expect(write).toEqual({
      level: 'INFO',
      service: 'secure-db-api',
      requestId: 'lambda-1',
      apiRequestId: 'api-1',
      principal: CALLER,
      route: 'POST /accounts',
      query: 'addAccount',
      access: 'write',
      durationMs: expect.any(Number),
      rowCount: 0,
      affectedRows: 1,
      status: 200,
      outcome: 'success',
      parameters: { email: 'a@example.com' },
    });
    expect(write.durationMs).toBeGreaterThan(0);
    expect(read).toMatchObject({ requestId: 'lambda-2', route: 'GET /accounts', query: 'countAccounts', access: 'read', rowCount: 1, status: 200, outcome: 'success', parameters: {} });
    expect(invalid).toMatchObject({ requestId: 'lambda-3', route: 'POST /accounts', status: 400, outcome: 'validation' });
    expect(invalid.parameters).toBeUndefined();
    expect(missing).toMatchObject({ requestId: 'lambda-4', principal: 'anonymous', route: 'unmatched', request: 'GET /nowhere', status: 404, outcome: 'not-found' });

    const emf = lines.map((l) => JSON.parse(l)).filter((l) => l._aws);
    expect(emf).toHaveLength(4);
    expect(emf[0]._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'SecureDbApi', Dimensions: [expect.arrayContaining(['Route'])] });
    expect(emf[0]).toMatchObject({ Route: 'POST /accounts', QuerySuccess: 1, QueryRows: 0, QueryDuration: expect.any(Number) });
    expect(emf[2]).toMatchObject({ Route: 'POST /accounts', QueryClientError: 1 });
    // A caller cannot mint metric dimensions: unknown paths all count under one route.
    expect(emf[3]).toMatchObject({ Route: 'unmatched', QueryClientError: 1 });

    expect(lines.join('\n')).not.toContain(SECRET);
  });

  test('the SQL the database runs carries a sqlcommenter tag naming the route, request and principal', async () => {
    const seen: string[] = [];
    let answered = false;
    const running = captureStdout(async () => {
      const res = await handler.handle(apiEvent('GET', '/tagged', { query: { tag: SECRET }, userArn: CALLER }), { awsRequestId: 'lambda-tag' });
      answered = true;
      expect(res.statusCode).toBe(200);
    });
    // While the statement sleeps, read it back from the server's own view of running statements (until
    // it is seen or the call has been answered: no fixed number of looks).
    while (seen.length === 0 && !answered) {
      const sql = db.engine === 'postgres'
        ? "SELECT query AS q FROM pg_stat_activity WHERE query LIKE '%request_id=%' AND pid <> pg_backend_pid()"
        : "SELECT INFO AS q FROM information_schema.PROCESSLIST WHERE INFO LIKE '%request_id=%' AND ID <> CONNECTION_ID()";
      seen.push(...(await db.exec(sql)).map((r) => String(r.q)));
    }
    const lines = await running;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toContain(sqlComment({ principal: CALLER, request_id: 'lambda-tag', route: 'GET /tagged' }));
    expect(seen[0]).toContain("principal='arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Forders-reader'");
    expect(lines.join('\n')).not.toContain(SECRET);
  });
});

describe('service name', () => {
  const AUDIT = { principal: CALLER, route: 'GET /accounts', durationMs: 3, status: 200, outcome: 'success', rowCount: 1 };
  const saved = process.env.POWERTOOLS_SERVICE_NAME;
  afterEach(() => {
    if (saved === undefined) delete process.env.POWERTOOLS_SERVICE_NAME;
    else process.env.POWERTOOLS_SERVICE_NAME = saved;
  });

  /** The service of the audit record and the service dimension of the metrics one call writes. */
  async function servicesOfOneCall(): Promise<{ audit: string; metrics: string }> {
    const lines = (await captureStdout(async () => new PowertoolsObserver().record(AUDIT))).map((l) => JSON.parse(l));
    const emf = lines.find((l) => l._aws);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Route']]);
    return { audit: lines.find((l) => l.message === 'audit').service, metrics: emf.service };
  }

  test('GIVEN the construct set POWERTOOLS_SERVICE_NAME THEN audit records and metrics carry the API name, so APIs sharing an account stay apart', async () => {
    process.env.POWERTOOLS_SERVICE_NAME = 'ShopStaging-Api-1A2B3C4D';
    expect(await servicesOfOneCall()).toEqual({ audit: 'ShopStaging-Api-1A2B3C4D', metrics: 'ShopStaging-Api-1A2B3C4D' });
  });

  test('outside the construct (no variable) they carry secure-db-api', async () => {
    delete process.env.POWERTOOLS_SERVICE_NAME;
    expect(await servicesOfOneCall()).toEqual({ audit: 'secure-db-api', metrics: 'secure-db-api' });
  });
});

describe('sqlComment', () => {
  test('values cannot close or nest the comment', () => {
    const c = sqlComment({ route: 'GET /x', principal: "*/ DROP TABLE t; /* it's" });
    expect(c).toBe("/*principal='*%2F%20DROP%20TABLE%20t%3B%20%2F*%20it\\'s',route='GET%20%2Fx'*/");
    expect(c.slice(2, -2)).not.toMatch(/\*\/|\/\*/);
  });

  test('empty and missing values are left out', () => {
    expect(sqlComment({ a: undefined, b: '' })).toBe('');
  });
});

describe('X-Ray', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await ENGINES[0][1]();
  });
  afterAll(async () => db.close());

  /** A Powertools Tracer whose current segment is a real X-Ray segment (no Lambda context here). */
  function tracerWithSegment(): { tracer: Tracer; segment: Segment } {
    const tracer = new Tracer({ serviceName: 'test', enabled: true });
    const segment = new Segment('handler');
    let current: Segment | Subsegment = segment;
    jest.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    jest.spyOn(tracer, 'getSegment').mockImplementation(() => current);
    jest.spyOn(tracer, 'setSegment').mockImplementation((s) => {
      current = s;
    });
    return { tracer, segment };
  }

  test('the database call is a subsegment with searchable annotations, and failures are faults', async () => {
    const { tracer, segment } = tracerWithSegment();
    const handler = handlerFor(db, [
      query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' }),
      query({ name: 'slow', method: 'GET', path: '/slow', timeoutMs: 100, sql: db.sleepSql('2') }),
    ]);
    (handler as unknown as { tracer: PowertoolsCallTracer }).tracer = new PowertoolsCallTracer(tracer);
    expect((await handler.handle(apiEvent('GET', '/one'))).statusCode).toBe(200);
    expect((await handler.handle(apiEvent('GET', '/slow'))).statusCode).toBe(504);
    await handler.close();
    const subs = (segment.subsegments ?? []) as Subsegment[];
    expect(subs.map((s) => s.name)).toEqual(['database', 'database']);
    expect((subs[0] as unknown as { annotations: object }).annotations).toEqual({ route: 'GET /one', query: 'one', access: 'read' });
    expect((subs[1] as unknown as { annotations: object; fault?: boolean }).annotations).toMatchObject({ route: 'GET /slow', error: 'timeout' });
    expect((subs[1] as unknown as { fault?: boolean }).fault).toBe(true);
    expect(subs.every((s) => (s as unknown as { in_progress?: boolean }).in_progress !== true)).toBe(true);
  });
});
