/**
 * What ships: the esbuild bundles in assets/runtime (built by `npx projen bundle`), loaded the way Lambda,
 * the container image and the `secure-db-api-dev` command load them, next to the TypeScript sources, so the
 * same scenarios run against both. Minification renames classes and functions; only the bundles show it.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import * as containerBackendSource from '../../../src/runtime/container/backend';
import * as containerMainSource from '../../../src/runtime/container/main';
import * as devServerSource from '../../../src/runtime/dev-server';
import { CONFIG_PATH_ENV } from '../../../src/runtime/lambda';
import type { HttpResponse } from '../../../src/runtime/problem';
import { bundleChunks } from '../../../src/security/private-function';
import type { RuntimeConfig } from '../../../src/shared/config';
import { CONFIG_SHA256_ENV, sealConfig } from '../../../src/shared/sealed-config';

export const ASSETS = path.join(__dirname, '..', '..', '..', 'assets', 'runtime');

/** The file of a built bundle; a clear error when the bundles were not built. */
export function bundleFile(bundle: string): string {
  const file = path.join(ASSETS, bundle, 'index.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx projen bundle\` first`);
  return file;
}

/** Loads a built bundle as Node would (Jest's module registry, no transform: it is plain JavaScript). */
export function requireBundle<T>(bundle: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(bundleFile(bundle)) as T;
}

/** Where the code under test comes from. */
export type Build = 'source' | 'bundle';
export const BUILDS: readonly Build[] = ['source', 'bundle'];

/** A Lambda entry point's exported handler, as the tests call it. */
export type LambdaEntry = ((event: unknown, context: { awsRequestId: string }) => Promise<HttpResponse>) & { close(): Promise<void> };

/** Writes a configuration (an object, or a file's text as it is) into a fresh directory and returns the file. */
export function writeConfig(config: unknown, name = 'config.json'): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sdba-shipped-')), name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}

/**
 * A Lambda entry point (`postgres.lambda`, `graphql-mysql.lambda`, …) from its source or its bundle, reading
 * `config` as the function reads its asset's config.json. Each call gets a fresh module (a cold start).
 * `sealed`: the file as the construct writes a REST query function's, with its digest in the environment.
 */
export function lambdaEntry(build: Build, entry: string, config: RuntimeConfig, { sealed = false } = {}): LambdaEntry {
  const seal = sealed ? sealConfig(config) : undefined;
  return lambdaEntryOfFile(build, entry, seal ? seal.text : JSON.stringify(config), seal ? { [CONFIG_SHA256_ENV]: seal.sha256 } : {});
}

/** The same with a config.json's text as it is, and `environment` set around each call (as the function's). */
export function lambdaEntryOfFile(build: Build, entry: string, text: string, environment: Record<string, string> = {}): LambdaEntry {
  const env: Record<string, string> = { [CONFIG_PATH_ENV]: writeConfig(text), ...environment };
  let handler: LambdaEntry | undefined;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = (build === 'source' ? require(path.join(__dirname, '..', '..', '..', 'src', 'runtime', `${entry}.ts`)) : require(bundleFile(entry))) as { handler: LambdaEntry };
    handler = mod.handler;
  });
  const h = handler as LambdaEntry;
  const call = async (event: unknown, context: { awsRequestId: string }) => {
    const before = Object.keys(env).map((name) => [name, process.env[name]] as const);
    Object.assign(process.env, env);
    try {
      return await h(event, context);
    } finally {
      for (const [name, value] of before) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  };
  return Object.assign(call, { close: () => h.close() });
}

/** The container server's module (main.ts) and its backend class, from the source or the bundle. */
export interface ContainerModule {
  readonly startContainerServer: typeof containerMainSource.startContainerServer;
  readonly engineFor: typeof containerMainSource.engineFor;
  readonly ContainerBackend: typeof containerBackendSource.ContainerBackend;
}

export function containerModule(build: Build): ContainerModule {
  if (build === 'source') return { ...containerMainSource, ContainerBackend: containerBackendSource.ContainerBackend };
  return requireBundle<ContainerModule>('container/main');
}

/** The development server's module, from the source or the bundle. */
export function devServerModule(build: Build): typeof devServerSource {
  return build === 'source' ? devServerSource : requireBundle<typeof devServerSource>('dev-server');
}

export interface Cli {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Resolves when stderr matches (events, not times). */
  waitForStderr(pattern: RegExp): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<number | null>;
}

/** Starts the bundled `secure-db-api-dev` command as users run it (a process of its own). */
export async function startDevCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Cli> {
  const child = spawn(process.execPath, [bundleFile('dev-server'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = [];
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    exited = code;
    resolve(code);
  }));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of watchers.splice(0)) {
      if (w.pattern.test(err)) w.resolve();
      else watchers.push(w);
    }
  });
  let timer: NodeJS.Timeout | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const m = () => /(http:\/\/127\.0\.0\.1:\d+)/.exec(err);
    watchers.push({ pattern: /http:\/\/127\.0\.0\.1:\d+/, resolve: () => resolve(m()![1]) });
    void exit.then((code) => reject(new Error(`dev server exited with ${code}: ${err}`)));
    timer = setTimeout(() => reject(new Error(`dev server did not start: ${err}`)), 30_000);
  }).finally(() => clearTimeout(timer));
  return {
    url,
    child,
    stderr: () => err,
    waitForStderr: (pattern) => new Promise<void>((resolve) => (pattern.test(err) ? resolve() : watchers.push({ pattern, resolve }))),
    stop: async () => {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: any;
}

/** One HTTP request on its own connection; the body is parsed as JSON when there is one. */
export interface CallInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  /** Default: a connection of its own, closed after the reply. */
  readonly agent?: http.Agent;
  /** For https URLs: the CA that signed the server's certificate (for `localhost`). */
  readonly ca?: Buffer;
}

export function httpCall(url: string, init: CallInit = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = (u.protocol === 'https:' ? https : http).request(u, {
      method: init.method ?? 'GET',
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.ca ? { ca: init.ca, servername: 'localhost' } : {}),
      agent: init.agent ?? false,
    }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** What one invocation in a process of its own gave: the handler's result or its error's message, and what it logged. */
export interface ProcessInvocation {
  readonly result?: unknown;
  readonly error?: string;
  /** stdout, then stderr (Powertools writes warnings and errors to stderr). */
  readonly output: string;
}

const RESULT_MARK = '@@secure-db-api-test-result ';

/**
 * Copies a bundle, with its chunks, into a fresh directory with `files` beside it (what its asset holds, e.g.
 * authorizer.json), as the construct stages it, and returns the directory.
 */
export function stageBundle(bundle: string, files: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdba-asset-'));
  copyFileSync(bundleFile(bundle), path.join(dir, 'index.js'));
  for (const chunk of bundleChunks(bundleFile(bundle))) copyFileSync(path.join(ASSETS, bundle, chunk), path.join(dir, chunk));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return dir;
}

/**
 * Calls the `handler` export of the bundle in `dir` once, in a Node process of its own as Lambda runs it,
 * with `env` (e.g. NODE_EXTRA_CA_CERTS, which Node reads only at start; NODE_PATH, where Lambda's Node.js
 * runtimes keep the AWS SDK).
 */
export function invokeInProcess(dir: string, event: unknown, env: NodeJS.ProcessEnv = {}): Promise<ProcessInvocation> {
  // Once the handler settles the process ends, as Lambda freezes it: a warm connection does not keep it running.
  const script = `const { handler } = require(require('path').join(process.argv[1], 'index.js'));
const done = (out) => process.stdout.write('\\n${RESULT_MARK}' + JSON.stringify(out) + '\\n', () => process.exit(0));
Promise.resolve().then(() => handler(JSON.parse(process.argv[2]))).then((result) => done({ result }), (e) => done({ error: e && e.message }));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, dir, JSON.stringify(event)], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (!line) {
        reject(new Error(`the bundle gave no result (${err?.message ?? 'exited'}): ${stderr}${stdout}`));
        return;
      }
      resolve({ ...(JSON.parse(line.slice(RESULT_MARK.length)) as { result?: unknown; error?: string }), output: `${stdout}${stderr}` });
    });
  });
}

/**
 * Resolves once `condition` holds (a state to reach, never a time to wait): checked again after each short
 * timer turn, bounded by the test's own timeout.
 */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}
