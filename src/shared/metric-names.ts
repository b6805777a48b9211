/** Names shared by the runtime's metrics and the construct's dashboard (no driver imports here). */
export const SERVICE_NAME = 'secure-db-api';
export const METRICS_NAMESPACE = 'SecureDbApi';
/**
 * The environment variable the construct sets to the API's name on every function and container it
 * runs the query module in (Powertools' own variable): the `service` of audit records, metrics and traces.
 */
export const SERVICE_NAME_ENV = 'POWERTOOLS_SERVICE_NAME';

/**
 * This API's service name: metrics of two APIs in one account and region (a staging and a production
 * stack, say) carry different `service` dimensions, so neither's dashboard shows the other's calls.
 */
export function serviceName(): string {
  return process.env[SERVICE_NAME_ENV] || SERVICE_NAME;
}
