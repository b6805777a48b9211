export * from './secure-db-api';
export * from './api/throttling';
export * from './database/database-target';
export * from './database/query';
export * from './security/key-policies';
