/**
 * Per-call audit records (Powertools Logger, structured JSON), per-route metrics (Powertools Metrics,
 * CloudWatch embedded metric format) and the sqlcommenter comment that ties a database log line back
 * to its API call. Sensitive parameter values never reach any of them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { AccessLevel } from './config';
import type { BoundValue } from './params';
import { METRICS_NAMESPACE, serviceName } from '../shared/metric-names';


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

/** Writes the audit record with Powertools Logger and publishes EMF metrics per route. */
export class PowertoolsObserver implements Observer {
  private readonly logger: Logger;
  private readonly metrics: Metrics;

  constructor(options: { logger?: Logger; metrics?: Metrics } = {}) {
    this.logger = options.logger ?? new Logger({ serviceName: serviceName() });
    this.metrics = options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: serviceName() });
  }

  record(audit: AuditRecord): void {
    this.logger.info('audit', { audit });
    this.metrics.addDimension('Route', audit.route);
    this.metrics.addMetric('QueryDuration', MetricUnit.Milliseconds, audit.durationMs);
    this.metrics.addMetric(audit.outcome === 'success' ? 'QuerySuccess' : audit.status >= 500 ? 'QueryServerError' : 'QueryClientError', MetricUnit.Count, 1);
    if (audit.rowCount !== undefined) this.metrics.addMetric('QueryRows', MetricUnit.Count, audit.rowCount);
    this.metrics.publishStoredMetrics();
  }
}

/**
 * A sqlcommenter comment (https://google.github.io/sqlcommenter/spec/): keys sorted, values URL-encoded
 * and quoted. URL encoding turns `/` into `%2F`, so a value can never close the comment or open a nested
 * one; `'` is escaped as the specification says.
 */
export function sqlComment(tags: Record<string, string | undefined>): string {
  const parts = Object.keys(tags)
    .filter((k) => tags[k] !== undefined && tags[k] !== '')
    .sort()
    .map((k) => `${encodeURIComponent(k)}='${encodeURIComponent(tags[k]!).replace(/'/g, "\\'")}'`);
  return parts.length === 0 ? '' : `/*${parts.join(',')}*/`;
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

/**
 * Powertools Tracer: the database call becomes subsegment `database` with the route, query and access
 * level as annotations (searchable in X-Ray). Outside Lambda, Powertools turns tracing off and this is a
 * pass-through.
 */
export class PowertoolsCallTracer implements CallTracer {
  constructor(private readonly tracer: Tracer = new Tracer({ serviceName: serviceName(), captureHTTPsRequests: false })) {}

  async trace<T>(name: string, annotations: Record<string, string>, fn: () => Promise<T>): Promise<T> {
    if (!this.tracer.isTracingEnabled()) return fn();
    const parent = this.tracer.getSegment();
    if (!parent) return fn();
    const sub = parent.addNewSubsegment(name);
    this.tracer.setSegment(sub);
    for (const [k, v] of Object.entries(annotations)) sub.addAnnotation(k, v);
    try {
      return await fn();
    } catch (e) {
      // Only the error's kind (a problem kind such as `timeout`): driver messages can quote data.
      const kind = (e as { kind?: unknown; code?: unknown } | undefined);
      sub.addAnnotation('error', String(kind?.kind ?? kind?.code ?? 'error'));
      sub.addFaultFlag();
      throw e;
    } finally {
      sub.close();
      this.tracer.setSegment(parent);
    }
  }
}
