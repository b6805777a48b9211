/**
 * Per-call audit records (structured JSON, the line Powertools Logger writes), per-route metrics
 * (CloudWatch embedded metric format, the document Powertools Metrics writes), the X-Ray subsegment of
 * the database call, and the sqlcommenter comment that ties a database log line back to its API call.
 * Sensitive parameter values never reach any of them.
 *
 * They are written here rather than through Powertools Logger, Metrics and Tracer: those build, merge and
 * format each record field by field, and the X-Ray SDK under Tracer installs async hooks that run on every
 * promise of the process; together they cost the function more than the database call on a fast network.
 * The lines are the same (test/runtime/audit.db.test.ts compares them with Powertools' own).
 */
import { randomFillSync } from 'crypto';
import type * as Dgram from 'dgram';
import type { AccessLevel } from '../shared/config';
import { METRICS_NAMESPACE, serviceName } from '../shared/metric-names';
import { BoundValue, LONE_SURROGATE } from '../shared/params';

/** One audit record per call, whatever its outcome. */
export interface AuditRecord {
  /** Lambda request id. */
  readonly requestId?: string;
  /** API Gateway request id. */
  readonly apiRequestId?: string;
  /** Who called: verified token subject, authorizer principal, or IAM caller ARN. */
  readonly principal: string;
  /** `METHOD /path/template`, or `unmatched`. */
  readonly route: string;
  /** The raw method and path (at most 200 characters), only when no route matched. */
  readonly request?: string;
  readonly query?: string;
  readonly access?: AccessLevel;
  readonly durationMs: number;
  readonly rowCount?: number;
  readonly affectedRows?: number;
  readonly status: number;
  /** `success`, or the problem kind (`validation`, `timeout`, …). */
  readonly outcome: string;
  /** Validated values of parameters not marked sensitive. */
  readonly parameters?: Record<string, BoundValue>;
}

/** Where audit records and metrics go. */
export interface Observer {
  record(audit: AuditRecord): void;
}

/** The metric a call's outcome counts under. */
function outcomeMetric(audit: AuditRecord): string {
  return audit.outcome === 'success' ? 'QuerySuccess' : audit.status >= 500 ? 'QueryServerError' : 'QueryClientError';
}

/** The trace id of the current invocation (Lambda sets `_X_AMZN_TRACE_ID` for each), as Powertools Logger reports it. */
function xrayTraceId(env: NodeJS.ProcessEnv): string | undefined {
  const header = env._X_AMZN_TRACE_ID;
  if (!header) return undefined;
  const root = /(?:^|;)Root=([^;]+)/.exec(header);
  return root?.[1];
}

/**
 * Writes one audit record (Powertools Logger's line: level, message, timestamp, service, sampling_rate,
 * xray_trace_id, then `audit`) and one EMF document per call (namespace `SecureDbApi`, dimensions
 * service and Route; QueryDuration, the outcome's count, QueryRows), each a line of its own on stdout.
 * What never changes between calls is serialized once. The audit record is written at every log level;
 * only POWERTOOLS_LOG_LEVEL=SILENT (all output off, as for Powertools Logger) stops it, and the EMF document
 * follows POWERTOOLS_METRICS_DISABLED as Powertools Metrics does.
 *
 * `record` takes the call's values and time at once; the invocation's trace is read, and the lines
 * serialized and written, in the same turn of the event loop once the call's answer has been handed on
 * (`process.nextTick`: after the promise continuations that carry the answer to the Lambda runtime, which
 * posts it synchronously, and before the runtime asks for the next event, so no record is ever left
 * unwritten when Lambda freezes the process).
 * A line that cannot be written is reported to `failed`.
 */
export class AuditLog implements Observer {
  private readonly service: string;
  private readonly auditHead: string;
  private readonly samplingRate: string;
  private readonly silent: boolean;
  private readonly metricsDisabled: boolean;
  /** `"Route":"GET /q"` and the EMF head per route and metric set: a fixed set (routes, never request text). */
  private readonly heads = new Map<string, string>();
  private traceHeader?: string;
  private traceJson = '';

  constructor(
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly failed: (audit: AuditRecord, error: unknown) => void = () => undefined,
  ) {
    this.service = JSON.stringify(serviceName());
    this.auditHead = '{"level":"INFO","message":"audit","timestamp":"';
    const rate = Number(env.POWERTOOLS_LOGGER_SAMPLE_RATE ?? 0);
    this.samplingRate = String(Number.isFinite(rate) ? rate : 0);
    this.silent = (env.POWERTOOLS_LOG_LEVEL ?? '').toUpperCase() === 'SILENT';
    this.metricsDisabled = (env.POWERTOOLS_METRICS_DISABLED ?? '').toLowerCase() === 'true';
  }

  record(audit: AuditRecord): void {
    if (this.silent && this.metricsDisabled) return;
    const now = Date.now();
    process.nextTick(() => {
      try {
        // The invocation's trace, read in the same turn of the event loop as the call answered: no other
        // invocation can have begun (Lambda hands the next event only after this turn), and reading the
        // environment is no longer on the call's path.
        this.writeLines(audit, now, this.silent ? '' : this.traceField());
      } catch (e) {
        this.failed(audit, e);
      }
    });
  }

  /** The audit line and the EMF document of one call, in one write. */
  private writeLines(audit: AuditRecord, now: number, trace: string): void {
    let text = '';
    if (!this.silent) {
      text = `${this.auditHead}${new Date(now).toISOString()}","service":${this.service},"sampling_rate":${this.samplingRate}`
        + `${trace},"audit":${JSON.stringify(audit)}}\n`;
    }
    if (!this.metricsDisabled) {
      const outcome = outcomeMetric(audit);
      const rows = audit.rowCount !== undefined;
      const key = `${outcome}\u0000${rows ? 1 : 0}\u0000${audit.route}`;
      let head = this.heads.get(key);
      if (head === undefined) {
        const metrics = [{ Name: 'QueryDuration', Unit: 'Milliseconds' }, { Name: outcome, Unit: 'Count' }, ...(rows ? [{ Name: 'QueryRows', Unit: 'Count' }] : [])];
        const directive = JSON.stringify([{ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'Route']], Metrics: metrics }]);
        head = `,"CloudWatchMetrics":${directive}},"service":${this.service},"Route":${JSON.stringify(audit.route)},"QueryDuration":`;
        this.heads.set(key, head);
      }
      text += `{"_aws":{"Timestamp":${now}${head}${JSON.stringify(audit.durationMs)},"${outcome}":1${rows ? `,"QueryRows":${audit.rowCount}` : ''}}\n`;
    }
    // One write (one system call) for both lines. A pipe keeps no write boundaries: Lambda reads stdout as a
    // stream and makes each line a log event of its own, whether the lines came in one write or two.
    if (text !== '') this.write(text);
  }

  /** `,"xray_trace_id":"…"` for the current invocation's trace, parsed once per invocation. */
  private traceField(): string {
    const header = this.env._X_AMZN_TRACE_ID;
    if (header !== this.traceHeader) {
      this.traceHeader = header;
      const trace = xrayTraceId(this.env);
      this.traceJson = trace === undefined ? '' : `,"xray_trace_id":${JSON.stringify(trace)}`;
    }
    return this.traceJson;
  }
}

/**
 * A sqlcommenter comment (https://google.github.io/sqlcommenter/spec/): keys sorted, values URL-encoded
 * and quoted. URL encoding turns `/` into `%2F`, so a value can never close the comment or open a nested
 * one; `'` is escaped as the specification says.
 */
export function sqlComment(tags: Record<string, string | undefined>): string {
  const parts: string[] = [];
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k];
    if (v !== undefined && v !== '') parts.push(`${commentValue(k)}='${commentValue(v)}'`);
  }
  return parts.length === 0 ? '' : `/*${parts.join(',')}*/`;
}

/** Unpaired UTF-16 surrogates, which URL encoding cannot write. */
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/**
 * One sqlcommenter value: URL-encoded (an unpaired surrogate, as a token's claim may hold, becomes U+FFFD),
 * `'` escaped (encodeURIComponent leaves it as it is).
 */
function commentValue(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    encoded = encodeURIComponent(value.replace(LONE_SURROGATES, '\uFFFD'));
  }
  return encoded.includes("'") ? encoded.replace(/'/g, "\\'") : encoded;
}

/**
 * The comment of one call, `sqlComment({ principal, request_id, route })` (the keys in that sorted order),
 * with the encoded route kept per route (a fixed set) and the last caller's encoded principal kept: a warm
 * function mostly serves the same callers' calls.
 */
export class CallComments {
  private readonly routes = new Map<string, string>();
  private principal?: string;
  private principalPart = '';

  comment(route: string, requestId: string | undefined, principal: string): string {
    let routePart = this.routes.get(route);
    if (routePart === undefined) {
      routePart = route === '' ? '' : `route='${commentValue(route)}'`;
      this.routes.set(route, routePart);
    }
    if (principal !== this.principal) {
      this.principal = principal;
      this.principalPart = principal === '' ? '' : `principal='${commentValue(principal)}'`;
    }
    let tags = this.principalPart;
    if (requestId) tags = `${tags}${tags === '' ? '' : ','}request_id='${commentValue(requestId)}'`;
    if (routePart !== '') tags = `${tags}${tags === '' ? '' : ','}${routePart}`;
    return tags === '' ? '' : `/*${tags}*/`;
  }
}

/** The caller as API Gateway verified it, most specific first. */
export function principalOf(requestContext: unknown): string {
  const rc = (requestContext ?? {}) as {
    authorizer?: { claims?: { sub?: unknown }; principalId?: unknown; jwt?: { claims?: { sub?: unknown } } } | null;
    identity?: { userArn?: unknown; caller?: unknown; cognitoIdentityId?: unknown } | null;
  };
  const candidates = [
    rc.authorizer?.claims?.sub,
    rc.authorizer?.jwt?.claims?.sub,
    rc.authorizer?.principalId,
    rc.identity?.userArn,
    rc.identity?.cognitoIdentityId,
    rc.identity?.caller,
  ];
  const found = candidates.find((c) => typeof c === 'string' && c.length > 0);
  return (found as string | undefined) ?? 'anonymous';
}

/** Traces the database call as an X-Ray subsegment of the function's segment. */
export interface CallTracer {
  trace<T>(name: string, annotations: Record<string, string>, fn: () => Promise<T>): Promise<T>;
}

/** The trace and the parent segment (the function's) a subsegment belongs to. */
interface TraceSegment {
  readonly root: string;
  readonly parent: string;
}

/** The first line of every document sent to the X-Ray daemon. */
const XRAY_HEADER = '{"format":"json","version":1}\n';

/** Documents kept while the socket to the daemon connects (a daemon address that never resolves keeps no more). */
const MAX_PENDING_DOCUMENTS = 100;

/** 16 hexadecimal digits, from a pool of random bytes filled 512 ids at a time. */
class IdPool {
  private readonly pool = Buffer.alloc(8 * 512);
  private next = this.pool.length;

  id(): string {
    if (this.next >= this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    this.next += 8;
    return this.pool.toString('hex', this.next - 8, this.next);
  }
}

/** The daemon's UDP address from `AWS_XRAY_DAEMON_ADDRESS` (`host:port`, or `tcp:host:port udp:host:port`). */
export function xrayDaemonAddress(value: string | undefined): { host: string; port: number } {
  const udp = (value ?? '').split(/\s+/).map((p) => p.replace(/^udp:/, '')).find((p) => p !== '' && !p.startsWith('tcp:'));
  const m = /^(.*):(\d+)$/.exec(udp ?? '');
  return m ? { host: m[1], port: Number(m[2]) } : { host: '127.0.0.1', port: 2000 };
}

/**
 * The database call as an X-Ray subsegment `database` of the function's segment, with the route, query and
 * access level as annotations (searchable in X-Ray) and, on failure, a fault flag and the error's kind.
 * As the X-Ray SDK does in Lambda, the subsegment is sent to the daemon over UDP when it closes, under the
 * trace and parent the invocation's `_X_AMZN_TRACE_ID` names, only when that trace is sampled. Tracing is
 * on in Lambda unless `POWERTOOLS_TRACE_ENABLED` or `AWS_XRAY_SDK_ENABLED` is `false`, off under
 * `sam local` and outside Lambda (a pass-through), as with Powertools Tracer.
 */
export class XRayCallTracer implements CallTracer {
  private readonly enabled: boolean;
  private readonly ids = new IdPool();
  private readonly daemon: { host: string; port: number };
  private socket?: Dgram.Socket;
  private connected = false;
  /** The socket is being opened (after the first document's call answered). */
  private opening = false;
  /** Documents closed before the socket was connected, serialized when it is. */
  private readonly pending: Array<() => string | undefined> = [];
  private lastHeader?: string;
  private lastSegment?: TraceSegment;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    const off = (name: string) => (env[name] ?? '').toLowerCase() === 'false';
    this.enabled = Boolean(env.AWS_EXECUTION_ENV) && env.AWS_SAM_LOCAL !== 'true' && !off('POWERTOOLS_TRACE_ENABLED') && !off('AWS_XRAY_SDK_ENABLED');
    this.daemon = xrayDaemonAddress(env.AWS_XRAY_DAEMON_ADDRESS);
  }

  trace<T>(name: string, annotations: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return fn();
    const start = Date.now() / 1000;
    let running: Promise<T>;
    try {
      running = fn();
    } catch (e) {
      running = Promise.reject(e);
    }
    // Closed beside the call, not in front of it: the call's own promise is returned, so the caller's
    // continuation waits for no promise of the tracer's. Reactions run in the order they were added: the
    // subsegment closes (its end time taken) before the caller continues.
    running.then(
      () => this.close(name, annotations, start, undefined),
      (e: unknown) => {
        // Only the error's kind (a problem kind such as `timeout`): driver messages can quote data.
        const kind = (e as { kind?: unknown; code?: unknown } | undefined);
        this.close(name, annotations, start, String(kind?.kind ?? kind?.code ?? 'error'));
      },
    );
    return running;
  }

  /** Sends the subsegment of a call that started at `start` and ends now, when the invocation's trace is sampled. */
  private close(name: string, annotations: Record<string, string>, start: number, error: string | undefined): void {
    const end = Date.now() / 1000;
    try {
      this.send((header) => this.document(header, name, annotations, start, end, error));
    } catch {
      // Beside the call, not in its chain: a trace that cannot be sent is lost, never the call or the process.
    }
  }

  /** The subsegment document, when the trace `header` names is sampled. */
  private document(
    header: string | undefined,
    name: string,
    annotations: Record<string, string>,
    start: number,
    end: number,
    error: string | undefined,
  ): string | undefined {
    const segment = this.sampledSegment(header);
    if (segment === undefined) return undefined;
    return `${XRAY_HEADER}${JSON.stringify({
      id: this.ids.id(),
      name,
      start_time: start,
      end_time: end,
      type: 'subsegment',
      trace_id: segment.root,
      parent_id: segment.parent,
      annotations: error === undefined ? annotations : { ...annotations, error },
      ...(error === undefined ? {} : { fault: true }),
    })}`;
  }

  /** The trace and parent segment a trace header names when it is sampled; the last header's answer is kept. */
  private sampledSegment(header: string | undefined): TraceSegment | undefined {
    if (header !== this.lastHeader) {
      this.lastHeader = header;
      const root = header === undefined ? undefined : /(?:^|;)Root=([^;]+)/.exec(header)?.[1];
      const parent = header === undefined ? undefined : /(?:^|;)Parent=([^;]+)/.exec(header)?.[1];
      const sampled = header !== undefined && /(?:^|;)Sampled=1(?:;|$)/.test(header);
      this.lastSegment = sampled && root && parent ? { root, parent } : undefined;
    }
    return this.lastSegment;
  }

  /**
   * Sends a document (none when the trace is not sampled) to the daemon on a socket connected to it once,
   * so no send looks the address up again. The invocation's trace header is read, and the document
   * serialized and sent, after the call has answered (the microtasks that carry its answer run first), in
   * the same turn of the event loop: still the call's invocation (Lambda hands the next event only after
   * that turn), and reading the environment, the serialization, the system call and the daemon's wake-up
   * stay off the call's path. The socket is opened so too, at the first sampled document: loading `dgram`,
   * creating the socket and looking the daemon up stay out of a cold start's first answer. Documents closed
   * before the socket is connected wait for it, with the trace header read when they closed.
   */
  private send(document: (traceHeader: string | undefined) => string | undefined): void {
    if (this.socket && this.connected) {
      const socket = this.socket;
      process.nextTick(() => {
        try {
          const text = document(this.env._X_AMZN_TRACE_ID);
          if (text !== undefined) socket.send(text);
        } catch {
          // After the call answered: a trace that cannot be sent is lost, never the process.
        }
      });
      return;
    }
    const header = this.env._X_AMZN_TRACE_ID;
    if (this.sampledSegment(header) === undefined) return;
    if (this.pending.length < MAX_PENDING_DOCUMENTS) this.pending.push(() => document(header));
    if (this.opening) return;
    this.opening = true;
    process.nextTick(() => this.open());
  }

  /** Opens the socket to the daemon and sends what waited for it. Runs after a call's answer: it never throws. */
  private open(): void {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const dgram = require('dgram') as typeof Dgram;
      const socket = dgram.createSocket('udp4');
      this.socket = socket;
      socket.unref();
      // A daemon that is not there loses the trace, never the call.
      socket.on('error', () => undefined);
      socket.connect(this.daemon.port, this.daemon.host, () => {
        this.connected = true;
        for (const document of this.pending.splice(0)) {
          const text = document();
          if (text !== undefined) socket.send(text);
        }
      });
    } catch {
      // An address no socket can connect to (port 0): the traces are lost, never the call.
    }
  }
}
