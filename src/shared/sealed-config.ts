/**
 * A configuration file the construct checked, sealed with its SHA-256: the construct checks and compiles
 * each query at synthesis (prepareConfig), writes the compiled forms into the file (`compiled`) and gives
 * the function the file's digest in SECURE_DB_API_CONFIG_SHA256. At its cold start a query function that
 * finds the file unchanged takes the queries as compiled, instead of checking and compiling each again:
 * its first call then costs the same whatever the size of the API. A file changed after synthesis (edited
 * in the console, copied from elsewhere) no longer matches, and is checked and compiled in full as before.
 */
import { createHash, hash } from 'crypto';
import { CompiledQueryConfig, parameterPatterns, PreparedQuery, prepareConfig, RuntimeConfig } from './config';

/** The environment variable that holds the SHA-256 (hex) of the function's `config.json`. */
export const CONFIG_SHA256_ENV = 'SECURE_DB_API_CONFIG_SHA256';

/** A configuration file's text and its digest. */
export interface SealedConfig {
  /** The file's text: the configuration with each query's compiled form. */
  readonly text: string;
  /** SHA-256 of `text`, hex. */
  readonly sha256: string;
}

/** SHA-256 of a configuration file's text (UTF-8), hex. */
export function configSha256(text: string): string {
  // The one-shot hash (Node.js 20.12 and later, every Lambda runtime the functions use) costs half of a Hash
  // object's first use at a cold start; the construct may run on an older Node.js.
  return typeof hash === 'function' ? hash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Checks and compiles every query (a {@link ConfigError} lists what is wrong), and seals the file. */
export function sealConfig(config: RuntimeConfig): SealedConfig {
  const compiled: CompiledQueryConfig[] = prepareConfig(config).map((q) => ({
    sql: q.compiled,
    pathPattern: q.pathPattern.source,
    pathParameterNames: q.pathParameterNames,
  }));
  const text = JSON.stringify({ ...config, compiled });
  return { text, sha256: configSha256(text) };
}

/** Whether `text` is the file a construct sealed: the environment holds its digest. */
export function isSealed(text: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const expected = env[CONFIG_SHA256_ENV];
  return expected !== undefined && expected !== '' && configSha256(text) === expected;
}

/**
 * The queries of a sealed configuration, as prepareConfig would prepare them, from their compiled forms.
 * Undefined when the file has no compiled form for each query (then it must be checked in full).
 */
export function sealedQueries(config: RuntimeConfig): PreparedQuery[] | undefined {
  const { queries, compiled } = config;
  if (!Array.isArray(queries) || !Array.isArray(compiled) || compiled.length !== queries.length) return undefined;
  return queries.map((q, i) => ({
    ...q,
    compiled: compiled[i].sql,
    pathPattern: new RegExp(compiled[i].pathPattern),
    pathParameterNames: compiled[i].pathParameterNames,
    patterns: parameterPatterns(q.parameters),
  }));
}
