export * from './query-schema';
