/** Names shared by the runtime's metrics and the construct's dashboard (no driver imports here). */
export const SERVICE_NAME = 'secure-db-api';
export const METRICS_NAMESPACE = 'SecureDbApi';
