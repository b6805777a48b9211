export * from './secure-db-api';
export * from './api/throttling';
export * from './database/database-target';
export * from './database/query';
export * from './security/key-policies';
export * from './monitoring/alarm-actions';
export * from './monitoring/thresholds';
export * from './api/authorization';
