/**
 * What the benchmarks share: a seeded shuffle (the seed is printed, BENCH_SEED repeats a run), the
 * environment Lambda and the construct give a query function, the shipped bundles staged as their
 * assets are (index.js with the sealed config.json beside it), and bundles built with the shipped bundles' own
 * esbuild options (scripts/bundle-runtime.js).
 */
import { execFileSync } from 'child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleChunks } from '../src/security/private-function';
import type { RuntimeConfig } from '../src/shared/config';
import { CONFIG_SHA256_ENV, sealConfig } from '../src/shared/sealed-config';

export const ROOT = path.join(__dirname, '..');
export const ASSETS = path.join(ROOT, 'assets', 'runtime');

/** Park-Miller (MINSTD): a small seeded generator, so a run's order can be repeated. */
export function seededRandom(seed: number): () => number {
  const M = 2147483647;
  let state = (Math.abs(Math.trunc(seed)) % (M - 1)) + 1;
  return () => {
    state = (state * 48271) % M;
    return (state - 1) / (M - 1);
  };
}

export const SEED = Number(process.env.BENCH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** Fisher-Yates, in place. */
export function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);

/**
 * The Node.js the measured functions run on (the cold-start processes and the per-call workers): the
 * functions' runtime is Node.js 24 (`lambda.Runtime.NODEJS_24_X`), which a machine with another Node can
 * name with BENCH_NODE=/path/to/node. Default: the Node running the bench. The version matters: on Node 20,
 * which has no `navigator`, pg's Cloudflare probe constructs a `Response` when it is required, and so
 * loads the whole of undici (about 10 ms of every cold start, in the raw bundle as in the shipped one).
 */
export const BENCH_NODE = process.env.BENCH_NODE ?? process.execPath;

let benchNodeVersion: string | undefined;

/** The version of BENCH_NODE, printed beside the tables it measured. */
export function nodeLine(): string {
  benchNodeVersion ??= BENCH_NODE === process.execPath ? process.version : execFileSync(BENCH_NODE, ['--version']).toString().trim();
  return `functions run on Node.js ${benchNodeVersion}${benchNodeVersion.startsWith('v24.') ? '' : ' (Lambda runs them on Node.js 24: BENCH_NODE names another binary)'}`;
}

/** The machine's load average (1, 5, 15 min) and cores, printed beside every table. */
export function loadLine(): string {
  return `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')} on ${os.cpus().length} cores`;
}

export const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

/** The environment variable the construct points the function at the proxy with (src/database/query-function.ts). */
export const DB_HOST_ENV = 'SECURE_DB_API_DB_HOST';

/**
 * What a deployed query function's process sees: Lambda's own variables (so Powertools and the X-Ray SDK
 * run as in Lambda, with tracing on and a sampled trace), and what the construct sets (the proxy's host,
 * the API's service name). X-Ray segments go over UDP to `xrayPort`.
 */
export function lambdaEnvironment(taskRoot: string, xrayPort: number, dbHost: string): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_NAME: 'bench-query-function',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/bench-query-function',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    LAMBDA_TASK_ROOT: taskRoot,
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${xrayPort}`,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    [DB_HOST_ENV]: dbHost,
    POWERTOOLS_SERVICE_NAME: 'bench-api',
  };
}

/** A staged bundle's directory, and what the construct adds to its function's environment for it. */
export interface StagedBundle {
  readonly dir: string;
  /** The sealed config.json's digest (src/shared/sealed-config.ts). */
  readonly environment: Record<string, string>;
}

/**
 * Copies a bundle (index.js, with its chunks) into a fresh directory with its config.json beside it, as the
 * asset of a REST query function holds them: the configuration sealed, its digest in the environment.
 */
export function stageBundle(bundleFile: string, config: RuntimeConfig): StagedBundle {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-bench-asset-'));
  copyFileSync(bundleFile, path.join(dir, 'index.js'));
  for (const chunk of bundleChunks(bundleFile)) copyFileSync(path.join(path.dirname(bundleFile), chunk), path.join(dir, chunk));
  const sealed = sealConfig(config);
  writeFileSync(path.join(dir, 'config.json'), sealed.text);
  return { dir, environment: { [CONFIG_SHA256_ENV]: sealed.sha256 } };
}

interface BuildOptions {
  readonly entryPoint?: string;
  readonly outfile?: string;
  readonly mysql?: boolean;
}

/** Builds `entryPoint` into `outfile` with the esbuild options of the runtime bundle `entry`. */
export async function buildLike(entry: string, entryPoint: string, outfile: string, mysql: boolean): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runtimeBuildOptions } = require(path.join(ROOT, 'scripts', 'bundle-runtime.js')) as { runtimeBuildOptions(e: string, o: BuildOptions): object };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as { build(o: object): Promise<unknown> };
  await esbuild.build({ ...runtimeBuildOptions(entry, { entryPoint, outfile, mysql }), sourcemap: false });
  return outfile;
}

/**
 * The headers API Gateway (a REST API's regional endpoint) hands a proxy integration for a call signed with
 * SigV4: the function looks one of them up by name. One object for every event, so building the events
 * costs the variants no more than before.
 */
const API_HEADERS: Record<string, string> = {
  'Accept': 'application/json',
  'Accept-Encoding': 'gzip, deflate, br',
  'Authorization': 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261203/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  'Host': 'abcdef1234.execute-api.us-east-1.amazonaws.com',
  'User-Agent': 'aws-sdk-js/3.0.0 ua/2.1 os/linux lang/js md/nodejs#24.0.0',
  'X-Amz-Date': '20261203T080000Z',
  'X-Amz-Security-Token': 'IQoJb3JpZ2luX2VjEXAMPLE',
  'X-Amzn-Trace-Id': 'Root=1-6750c0de-0123456789abcdef01234567',
  'X-Forwarded-For': '203.0.113.10',
  'X-Forwarded-Port': '443',
  'X-Forwarded-Proto': 'https',
};
/** The same with the body's content type, where a client sends it (after the authorization headers). */
const API_BODY_HEADERS: Record<string, string> = Object.fromEntries(Object.entries(API_HEADERS).flatMap((e) => (e[0] === 'Host' ? [['Content-Type', 'application/json'], e] : [e])));

/** A REST proxy event as API Gateway sends it (IAM caller, request id, the headers above). */
export function apiEvent(method: string, resource: string, query: Record<string, string> | null, body: unknown, i: number) {
  return {
    httpMethod: method,
    path: resource,
    resource,
    pathParameters: null,
    queryStringParameters: query,
    multiValueQueryStringParameters: query ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    headers: body === undefined ? API_HEADERS : API_BODY_HEADERS,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { requestId: `api-${i}`, identity: { userArn: 'arn:aws:iam::123456789012:role/bench-caller' } },
  };
}
