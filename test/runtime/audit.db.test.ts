/**
 * Audit records, metrics and sqlcommenter tags from real handler runs on both servers, with the real
 * audit log writing to stdout, line for line what Powertools Logger and Metrics write. Sensitive values appear nowhere in the output.
 */
import * as dgram from 'dgram';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import * as fc from 'fast-check';
import { apiEvent, ENGINES, handlerFor, param, query, TestDatabase } from './helpers/databases';
import { until } from './helpers/shipped';
import { QueryHandler } from '../../src/runtime/handler';
import { AuditLog, AuditRecord, CallComments, sqlComment, XRayCallTracer, xrayDaemonAddress } from '../../src/runtime/observability';

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
    // Audit lines are written once the call has answered, in the same turn of the event loop.
    await afterThisTurn();
  } finally {
    process.stdout.write = original;
  }
  return lines;
}

/** Resolves once the current turn of the event loop, with its process.nextTick callbacks, is over. */
const afterThisTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    ], { observer: new AuditLog() });
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
        // Running only: an idle session shows the last statement it ran, an earlier call's.
        ? "SELECT query AS q FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%request_id=%' AND pid <> pg_backend_pid()"
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
    const lines = (await captureStdout(async () => new AuditLog().record(AUDIT))).map((l) => JSON.parse(l));
    const emf = lines.find((l) => l._aws);
    expect(emf._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'Route']]);
    return { audit: lines.find((l) => l.message === 'audit').service, metrics: emf.service };
  }

  test('audit records and metrics carry the API name the construct sets as POWERTOOLS_SERVICE_NAME, so APIs sharing an account stay apart', async () => {
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

  test('a value with an unpaired surrogate (a token claim may hold one) is written with U+FFFD in its place', () => {
    expect(sqlComment({ principal: 'a\uD800b' })).toBe("/*principal='a%EF%BF%BDb'*/");
  });

  test('a call\'s comment, kept per route and caller, is the comment of its three tags', () => {
    const comments = new CallComments();
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', "'", '*/', 'arn:aws:iam::1:role/x'));
    fc.assert(fc.property(fc.array(fc.tuple(text, fc.option(text, { nil: undefined }), text), { maxLength: 20 }), (calls) => {
      for (const [route, requestId, principal] of calls) {
        expect(comments.comment(route, requestId, principal)).toBe(sqlComment({ route, request_id: requestId, principal }));
      }
    }));
  });

  test('a caller whose token subject has an unpaired surrogate is answered, not failed', async () => {
    const db = await ENGINES[0][1]();
    const h = handlerFor(db, [query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' })]);
    const event = { ...apiEvent('GET', '/one'), requestContext: { requestId: 'api-s', authorizer: { claims: { sub: 'user-\uDC00' } } } };
    try {
      expect((await h.handle(event)).statusCode).toBe(200);
    } finally {
      await h.close();
      await db.close();
    }
  });
});

describe('the audit line and the EMF document are what Powertools writes', () => {
  const TRACE = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
  const RECORDS: AuditRecord[] = [
    { requestId: 'r-1', apiRequestId: 'a-1', principal: CALLER, route: 'GET /q', query: 'q', access: 'read', durationMs: 1.25, rowCount: 1, status: 200, outcome: 'success', parameters: { n: 1, at: new Date('2026-01-02T03:04:05.000Z'), s: 'x"\\y' } },
    { requestId: 'r-2', principal: 'anonymous', route: 'unmatched', request: 'GET /nowhere', durationMs: 0.5, status: 404, outcome: 'not-found' },
    { principal: CALLER, route: 'POST /w', query: 'w', access: 'write', durationMs: 7, rowCount: 0, affectedRows: 1, status: 503, outcome: 'unavailable' },
  ];
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  /** Each record written once by Powertools Logger and Metrics as the handler used to, once by AuditLog. */
  async function bothWays(): Promise<{ powertools: any[]; ours: any[] }> {
    const powertools = (await captureStdout(async () => {
      const logger = new Logger({ serviceName: 'orders-api' });
      const metrics = new Metrics({ namespace: 'SecureDbApi', serviceName: 'orders-api' });
      for (const audit of RECORDS) {
        logger.info('audit', { audit });
        metrics.addDimension('Route', audit.route);
        metrics.addMetric('QueryDuration', MetricUnit.Milliseconds, audit.durationMs);
        metrics.addMetric(audit.outcome === 'success' ? 'QuerySuccess' : audit.status >= 500 ? 'QueryServerError' : 'QueryClientError', MetricUnit.Count, 1);
        if (audit.rowCount !== undefined) metrics.addMetric('QueryRows', MetricUnit.Count, audit.rowCount);
        metrics.publishStoredMetrics();
      }
    })).map((l) => JSON.parse(l));
    const ours = (await captureStdout(async () => {
      const log = new AuditLog();
      for (const audit of RECORDS) log.record(audit);
    })).map((l) => JSON.parse(l));
    return { powertools, ours };
  }

  /** Timestamps differ by the time between the two writes: compared as their kind. */
  const timeless = (line: any) => ({
    ...line,
    ...(line.timestamp ? { timestamp: typeof line.timestamp } : {}),
    ...(line._aws ? { _aws: { ...line._aws, Timestamp: typeof line._aws.Timestamp } } : {}),
  });

  test.each([
    ['in Lambda, with a sampled trace', { _X_AMZN_TRACE_ID: TRACE, AWS_LAMBDA_FUNCTION_NAME: 'fn' }],
    ['outside Lambda', {}],
  ])('%s: the same lines, field by field and in order', async (_label, env) => {
    delete process.env._X_AMZN_TRACE_ID;
    Object.assign(process.env, { POWERTOOLS_SERVICE_NAME: 'orders-api' }, env);
    const { powertools, ours } = await bothWays();
    expect(ours).toHaveLength(6);
    expect(ours.map(timeless)).toEqual(powertools.map(timeless));
    expect(ours.map((l) => Object.keys(l))).toEqual(powertools.map((l) => Object.keys(l)));
    expect(ours[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof ours[1]._aws.Timestamp).toBe('number');
  });
});

describe('X-Ray', () => {
  let db: TestDatabase;
  let daemon: dgram.Socket;
  const received: any[] = [];
  beforeAll(async () => {
    db = await ENGINES[0][1]();
    daemon = dgram.createSocket('udp4');
    daemon.on('message', (m) => {
      const [header, body] = String(m).split('\n');
      received.push({ header: JSON.parse(header), ...JSON.parse(body) });
    });
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    daemon.close();
    await db.close();
  });

  /** A deployed function's environment: Lambda's variables, a trace for the invocation, the daemon's address. */
  const lambdaEnv = (trace: string) => ({
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    _X_AMZN_TRACE_ID: trace,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
  });

  test('the database call is a subsegment of the invocation\'s segment with searchable annotations, and failures are faults', async () => {
    received.length = 0;
    const handler = handlerFor(db, [
      query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' }),
      query({ name: 'slow', method: 'GET', path: '/slow', timeoutMs: 100, sql: db.sleepSql('2') }),
    ]);
    const env = lambdaEnv('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1');
    (handler as unknown as { tracer: XRayCallTracer }).tracer = new XRayCallTracer(env);
    expect((await handler.handle(apiEvent('GET', '/one'))).statusCode).toBe(200);
    expect((await handler.handle(apiEvent('GET', '/slow'))).statusCode).toBe(504);
    await handler.close();
    await until(() => received.length === 2);
    const [one, slow] = received;
    expect(one).toEqual({
      header: { format: 'json', version: 1 },
      id: expect.stringMatching(/^[0-9a-f]{16}$/),
      name: 'database',
      type: 'subsegment',
      trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      parent_id: '53995c3f42cd8ad8',
      start_time: expect.any(Number),
      end_time: expect.any(Number),
      annotations: { route: 'GET /one', query: 'one', access: 'read' },
    });
    expect(one.end_time).toBeGreaterThanOrEqual(one.start_time);
    expect(slow).toMatchObject({ name: 'database', fault: true, annotations: { route: 'GET /slow', query: 'slow', access: 'read', error: 'timeout' } });
    expect(slow.id).not.toBe(one.id);
  });

  test('an unsampled trace sends nothing, and outside Lambda tracing is a pass-through', async () => {
    received.length = 0;
    const call = (tracer: XRayCallTracer, route: string) => tracer.trace('database', { route }, async () => 1);
    await call(new XRayCallTracer(lambdaEnv('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0')), 'unsampled');
    await call(new XRayCallTracer({ ...lambdaEnv('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'), AWS_EXECUTION_ENV: undefined }), 'outside');
    await call(new XRayCallTracer({ ...lambdaEnv('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'), POWERTOOLS_TRACE_ENABLED: 'false' }), 'disabled');
    // The last one is sent; the daemon receives datagrams in order, so the others were never sent.
    await call(new XRayCallTracer(lambdaEnv('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')), 'sampled');
    await until(() => received.length >= 1);
    expect(received.map((r) => r.annotations.route)).toEqual(['sampled']);
  });

  test('subsegments closed while the socket to the daemon connects are sent once it is, in order, and an unusable address never fails the call', async () => {
    received.length = 0;
    const trace = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    // A host name: resolved once, when the socket connects.
    const tracer = new XRayCallTracer({ ...lambdaEnv(trace), AWS_XRAY_DAEMON_ADDRESS: `localhost:${daemon.address().port}` });
    await Promise.all(['first', 'second'].map((route) => tracer.trace('database', { route }, async () => 1)));
    await until(() => received.length === 2);
    await tracer.trace('database', { route: 'connected' }, async () => 1);
    await until(() => received.length === 3);
    expect(received.map((r) => r.annotations.route)).toEqual(['first', 'second', 'connected']);
    const unusable = new XRayCallTracer({ ...lambdaEnv(trace), AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:0' });
    await expect(unusable.trace('database', { route: 'lost' }, async () => 'answered')).resolves.toBe('answered');
  });

  test('each subsegment goes under the trace of the invocation it answered in, before and after the socket connects', async () => {
    received.length = 0;
    const trace = (n: number, sampled: 0 | 1) => `Root=1-00000000-00000000000000000000000${n};Parent=53995c3f42cd8ad8;Sampled=${sampled}`;
    // A host name: the socket connects after a lookup, while later invocations run.
    const env: NodeJS.ProcessEnv = { ...lambdaEnv(trace(1, 1)), AWS_XRAY_DAEMON_ADDRESS: `localhost:${daemon.address().port}` };
    const tracer = new XRayCallTracer(env);
    // As Lambda runs invocations: the next one's trace is set in a later turn of the event loop.
    const invocation = async (n: number, sampled: 0 | 1) => {
      env._X_AMZN_TRACE_ID = trace(n, sampled);
      await tracer.trace('database', { route: `call ${n}` }, async () => n);
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    // The first closes before the socket is connected; the second may too.
    await invocation(1, 1);
    await invocation(2, 1);
    await until(() => received.length === 2);
    await invocation(3, 0);
    await invocation(4, 1);
    await until(() => received.length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.map((r) => [r.annotations.route, r.trace_id])).toEqual([
      ['call 1', '1-00000000-000000000000000000000001'],
      ['call 2', '1-00000000-000000000000000000000002'],
      ['call 4', '1-00000000-000000000000000000000004'],
    ]);
  });

  test('the daemon address is read as the X-Ray SDK reads it', () => {
    expect(xrayDaemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(xrayDaemonAddress('tcp:10.0.0.1:2001 udp:10.0.0.2:2002')).toEqual({ host: '10.0.0.2', port: 2002 });
    expect(xrayDaemonAddress(undefined)).toEqual({ host: '127.0.0.1', port: 2000 });
  });
});

describe('audit log and log settings', () => {
  const RECORD: AuditRecord = { principal: CALLER, route: 'GET /accounts', durationMs: 3, status: 200, outcome: 'success', rowCount: 1 };

  /** The lines one record writes with `env`. */
  async function linesWith(env: NodeJS.ProcessEnv): Promise<Array<Record<string, unknown>>> {
    const written: string[] = [];
    new AuditLog((text) => written.push(text), env).record(RECORD);
    await afterThisTurn();
    return written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  }

  test('a call\'s audit record and EMF document are two lines written at once, each ending in a newline, once the call has answered', async () => {
    const written: string[] = [];
    const log = new AuditLog((text) => written.push(text), { _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' });
    log.record(RECORD);
    // Not on the call's path: the answer's own continuations run first...
    await Promise.resolve();
    expect(written).toHaveLength(0);
    // ...and the lines follow in the same turn of the event loop.
    await afterThisTurn();
    expect(written).toHaveLength(1);
    expect(written[0].endsWith('\n')).toBe(true);
    const [audit, emf] = written[0].split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(audit).toMatchObject({ message: 'audit', xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793', audit: { route: 'GET /accounts' } });
    expect(emf).toMatchObject({ Route: 'GET /accounts', QuerySuccess: 1 });
  });

  test('a line that cannot be written is reported and never ends the process', async () => {
    const failures: Array<{ audit: AuditRecord; error: unknown }> = [];
    const broken = () => {
      throw Object.assign(new Error('write EAGAIN'), { code: 'EAGAIN' });
    };
    new AuditLog(broken, {}, (audit, error) => failures.push({ audit, error })).record(RECORD);
    await afterThisTurn();
    expect(failures).toEqual([{ audit: RECORD, error: expect.objectContaining({ code: 'EAGAIN' }) }]);
  });

  test('a handler whose audit line cannot be written answers the call and logs that the record is missing', async () => {
    const logged: Array<Record<string, unknown>> = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => {
      throw new Error('stdout is gone');
    }) as typeof process.stdout.write;
    try {
      const db = await ENGINES[0][1]();
      const h = handlerFor(db, [query({ name: 'one', method: 'GET', path: '/one', sql: 'SELECT 1 AS one' })], { log: (entry) => logged.push(entry), defaultObserver: true });
      expect((await h.handle(apiEvent('GET', '/one'), { awsRequestId: 'lambda-lost' })).statusCode).toBe(200);
      await afterThisTurn();
      await h.close();
      await db.close();
    } finally {
      process.stdout.write = original;
    }
    expect(logged).toContainEqual({ level: 'ERROR', message: 'audit record could not be written', requestId: 'lambda-lost' });
  });

  test('the trace id follows the invocation: each record carries the trace of the invocation it was written in', async () => {
    // Lambda sets the next invocation's trace only after the turn in which a call answered (the next event
    // arrives over the network): each invocation's calls are recorded in turns of their own.
    const written: string[] = [];
    const env: NodeJS.ProcessEnv = { _X_AMZN_TRACE_ID: 'Root=1-00000000-000000000000000000000001;Parent=53995c3f42cd8ad8;Sampled=1' };
    const log = new AuditLog((text) => written.push(text), env);
    log.record(RECORD);
    log.record(RECORD);
    await afterThisTurn();
    env._X_AMZN_TRACE_ID = 'Root=1-00000000-000000000000000000000002;Parent=53995c3f42cd8ad8;Sampled=0';
    log.record(RECORD);
    await afterThisTurn();
    delete env._X_AMZN_TRACE_ID;
    log.record(RECORD);
    await afterThisTurn();
    const traces = written.map((w) => JSON.parse(w.split('\n')[0]).xray_trace_id);
    expect(traces).toEqual(['1-00000000-000000000000000000000001', '1-00000000-000000000000000000000001', '1-00000000-000000000000000000000002', undefined]);
  });

  test('a log level above INFO still writes the audit record: the audit does not depend on the level', async () => {
    const lines = await linesWith({ POWERTOOLS_LOG_LEVEL: 'ERROR' });
    expect(lines.map((l) => l.message ?? '_aws' in l)).toEqual(['audit', true]);
  });

  test('POWERTOOLS_LOG_LEVEL=SILENT writes nothing but the metrics, as Powertools Logger writes nothing', async () => {
    const lines = await linesWith({ POWERTOOLS_LOG_LEVEL: 'silent' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toHaveProperty('_aws');
  });

  test('POWERTOOLS_METRICS_DISABLED=true leaves the EMF document out and keeps the audit record', async () => {
    const lines = await linesWith({ POWERTOOLS_METRICS_DISABLED: 'true' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: 'audit' });
  });
});
