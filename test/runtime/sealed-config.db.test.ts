/**
 * A REST query function's cold start with the config.json the construct sealed: the queries are taken as
 * compiled at synthesis when the file's SHA-256 is the one in SECURE_DB_API_CONFIG_SHA256, and checked and
 * compiled in full otherwise. Against PostgreSQL, from the sources and from the shipped bundle (in a Node
 * process of its own, as Lambda runs it).
 */
import { apiEvent, json, param, PG, query } from './helpers/databases';
import { Build, BUILDS, invokeInProcess, lambdaEntryOfFile, stageBundle } from './helpers/shipped';
import type { HttpResponse } from '../../src/runtime/problem';
import { RuntimeConfig } from '../../src/shared/config';
import { CONFIG_SHA256_ENV, configSha256, sealConfig } from '../../src/shared/sealed-config';

const CONFIG: RuntimeConfig = {
  version: 1,
  engine: 'postgres',
  connection: { ...PG, credentials: { type: 'static', password: '' }, tls: { enabled: false }, connectTimeoutMs: 2000 },
  queries: [query({
    name: 'echo',
    method: 'GET',
    path: '/echo',
    sql: 'SELECT CAST(:n AS integer) + 0 AS n',
    parameters: [param({ name: 'n', type: 'integer', in: 'query' })],
  })],
};

const EVENT = apiEvent('GET', '/echo', { query: { n: '7' } });

/** What a function answers or throws at its first call, and what it logs. */
interface ColdCall {
  readonly response?: HttpResponse;
  readonly error?: string;
  readonly output: string;
}

/** The first call of a function with `text` as its config.json and `digest` in its environment. */
async function coldCall(build: Build, text: string, digest: string | undefined): Promise<ColdCall> {
  const env: Record<string, string> = digest === undefined ? {} : { [CONFIG_SHA256_ENV]: digest };
  if (build === 'bundle') {
    const out = await invokeInProcess(stageBundle('postgres.lambda', { 'config.json': text }), EVENT, env);
    return { response: out.result as HttpResponse | undefined, error: out.error, output: out.output };
  }
  // The log level a function has (test/quiet-logs.ts silences the tests' own process).
  const handler = lambdaEntryOfFile(build, 'postgres.lambda', text, { ...env, POWERTOOLS_LOG_LEVEL: 'INFO' });
  // Its log lines (console.log) and audit records (stdout), kept from the test run's output.
  const logged: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void logged.push(line));
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => logged.push(String(chunk)) > 0);
  try {
    const response = await handler(EVENT, { awsRequestId: 'cold' });
    // The audit record is written once the answer has been handed on.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return { response, output: logged.join('\n') };
  } catch (e) {
    return { error: (e as Error).message, output: logged.join('\n') };
  } finally {
    log.mockRestore();
    stdout.mockRestore();
    await handler.close();
  }
}

/** The sealed file with its compiled SQL replaced: which SQL runs tells which path the cold start took. */
function withCompiledSql(sql: string): string {
  const file = JSON.parse(sealConfig(CONFIG).text) as RuntimeConfig & { compiled: Array<{ sql: { text: string } }> };
  file.compiled[0].sql.text = sql;
  return JSON.stringify(file);
}

describe.each(BUILDS)('a query function\'s config.json, from the %s', (build) => {
  test('the file the construct sealed runs its queries as compiled at synthesis, without compiling them again', async () => {
    const text = withCompiledSql('SELECT CAST($1 AS integer) + 1000 AS n');
    const { response } = await coldCall(build, text, configSha256(text));
    expect(response?.statusCode).toBe(200);
    expect(json(response as HttpResponse).data).toEqual([{ n: 1007 }]);
  });

  test('without the digest in the environment, the file is checked and compiled in full', async () => {
    const { response } = await coldCall(build, withCompiledSql('SELECT CAST($1 AS integer) + 1000 AS n'), undefined);
    expect(json(response as HttpResponse).data).toEqual([{ n: 7 }]);
  });

  test('a file changed after synthesis runs its own SQL, not the compiled form it still carries, and says why', async () => {
    const sealed = sealConfig(CONFIG);
    const edited = sealed.text.replace('AS integer) + 0 AS n', 'AS integer) + 1 AS n');
    expect(edited).not.toBe(sealed.text);
    const { response, output } = await coldCall(build, edited, sealed.sha256);
    expect(json(response as HttpResponse).data).toEqual([{ n: 8 }]);
    expect(output).toMatch(/"level":"WARN","message":"config.json is not the file the construct checked \(its SHA-256 differs from SECURE_DB_API_CONFIG_SHA256\): every query is checked again"/);
  });

  test('a file changed after synthesis into a broken configuration fails at the cold start, every problem listed', async () => {
    const sealed = sealConfig(CONFIG);
    const broken = sealed.text.replace('CAST(:n AS integer) + 0', 'CAST(:m AS integer) + 0');
    const { response, error } = await coldCall(build, broken, sealed.sha256);
    expect(response).toBeUndefined();
    expect(error).toMatch(/query "echo": SQL uses :m but no parameter "m" is defined/);
    expect(error).toMatch(/query "echo": parameter "n" is defined but the SQL never uses :n/);
  });
});
