/**
 * Benchmark companion: over 1,000 warm calls on one handler, each engine opens one connection and signs
 * one IAM token (counts, not times). Speed is measured on the shipped bundles by bench/per-call.ts.
 *
 * Run: npm run bench (needs the servers: PGPORT / MYSQL_PORT).
 */
import { printTable } from './table';
import { IamTokenCredentials, TokenSigner } from '../src/runtime/credentials';
import { apiEvent, ENGINES, handlerFor, query } from '../test/runtime/helpers/databases';

/** A benchmark of failing calls measures nothing: stop at the first one. */
function expectOk(res: { statusCode: number; body: string }): void {
  if (res.statusCode !== 200) throw new Error(`benchmark call failed with ${res.statusCode}: ${res.body}`);
}

async function main() {
  const counts: string[][] = [['engine', 'warm calls', 'connections opened (target 1)', 'tokens signed (target 1)']];
  for (const [label, open] of ENGINES) {
    const db = await open();
    await db.exec('DROP TABLE IF EXISTS bench_rows');
    await db.exec(`CREATE TABLE bench_rows (id ${db.types.serial}, label VARCHAR(40), amount ${db.types.int})`);
    await db.exec("INSERT INTO bench_rows (label, amount) VALUES ('row 1', 1)");
    const sqls = { '1 row': 'SELECT id, label, amount FROM bench_rows WHERE id = :n' };
    // Warm calls: one connection, one token. The local servers take no password and no TLS, so the token is
    // signed and counted but an empty password is sent, and the provider reports itself as static (IAM needs TLS).
    let signed = 0;
    const signer: TokenSigner = { getAuthToken: async () => (signed++, 'token') };
    const iam = new IamTokenCredentials({ hostname: db.admin.host, port: db.admin.port, user: db.admin.user, region: 'eu-west-1', signer });
    const warm = handlerFor(db, [query({ name: 'q', method: 'GET', path: '/q', sql: sqls['1 row'], parameters: [{ name: 'n', type: 'integer', in: 'query' }] })], {
      credentials: { kind: 'static', get: async () => ({ ...(await iam.get()), password: '' }), invalidate: () => iam.invalidate() },
    });
    for (let i = 0; i < 1000; i++) expectOk(await warm.handle(apiEvent('GET', '/q', { query: { n: '1' } })));
    counts.push([label, '1000', String(warm.stats.connectionsOpened), String(signed)]);
    await warm.close();
    await db.exec('DROP TABLE bench_rows');
    await db.close();
  }

  printTable(counts);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
