/**
 * The schema check's child process. Synthesis is synchronous and PGlite and the database drivers are
 * asynchronous, so the construct runs this function once per synthesis in a child Node.js process
 * (`node -e`, its source text) with every query of the construct on stdin, and reads the facts it
 * prints as JSON on stdout: what the server says of each statement when it PREPAREs (describes) it.
 * Nothing here executes a statement: PostgreSQL's extended protocol Parse/Describe (PGlite and real
 * servers alike), `EXPLAIN EXECUTE` for the plan of a read; MySQL/MariaDB's binary-protocol PREPARE,
 * and `EXPLAIN` for a read.
 *
 * The function must stay self-contained: it runs as its own source text, so it can use no imports, only
 * `require` (through `createRequire` from the library, so the app's own installation of the driver is
 * found) and plain JavaScript once the types are stripped (the protocol's types are in worker-protocol.ts).
 */
import type { DescribedField, DescribedStatement, StatementError, WorkerInput, WorkerOutput } from './worker-protocol';

/** The child process's program (run as its source text: no imports). */
export async function schemaWorker(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WorkerInput;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFrom = (require('module') as typeof import('module')).createRequire(input.base);
  const done = (out: WorkerOutput) => {
    process.stdout.write(JSON.stringify(out));
  };
  class Fatal extends Error {}
  const load = (name: string, why: string): any => {
    try {
      return requireFrom(name);
    } catch (e) {
      if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') throw new Fatal(`${why} needs the npm package ${name}: install it in your CDK app (npm install --save-dev ${name})`);
      throw e;
    }
  };
  const where = (url: string) => {
    try {
      const u = new URL(url);
      return `${u.hostname}${u.port ? `:${u.port}` : ''}`;
    } catch {
      return 'an unparseable URL';
    }
  };
  const lineCol = (text: string, position: number) => {
    const before = text.slice(0, Math.max(0, position - 1)).split('\n');
    return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
  };

  type PgSession = {
    describe(text: string): Promise<{ params: number[]; fields: Array<{ name: string; tableID: number; columnID: number; dataTypeID: number }> }>;
    query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
    close(): Promise<void>;
  };

  const pgError = (e: unknown): StatementError => {
    const err = e as { message?: string; code?: string; position?: string | number };
    return {
      message: String(err.message ?? e),
      ...(err.code ? { code: String(err.code) } : {}),
      ...(err.position !== undefined && err.position !== null && err.position !== '' ? { position: Number(err.position) } : {}),
    };
  };

  /**
   * A fresh PGlite. Creating one runs initdb (seconds of CPU); loading the data directory of a fresh one
   * takes a fifth of that. So the first synthesis keeps the fresh directory in the OS's temporary
   * directory, keyed by the PGlite installation, and later ones load it. A missing, partial or foreign
   * cache only means creating one again.
   */
  const startPglite = async (PGlite: any): Promise<any> => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const fs = require('fs') as typeof import('fs');
    const os = require('os') as typeof import('os');
    const path = require('path') as typeof import('path');
    const crypto = require('crypto') as typeof import('crypto');
    /* eslint-enable @typescript-eslint/no-require-imports */
    let cache: string | undefined;
    try {
      const main = requireFrom.resolve('@electric-sql/pglite');
      const stat = fs.statSync(main);
      const key = crypto.createHash('sha256').update(`${main}\n${stat.size}\n${stat.mtimeMs}`).digest('hex').slice(0, 16);
      cache = path.join(os.tmpdir(), `cdk-secure-db-api-pglite-${key}.tar`);
      if (fs.existsSync(cache)) return await PGlite.create({ loadDataDir: new Blob([fs.readFileSync(cache)]) });
    } catch {
      // Created below.
    }
    const db = await PGlite.create();
    if (cache) {
      try {
        const dump = await db.dumpDataDir('none');
        const partial = `${cache}.${process.pid}.tmp`;
        fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
        fs.renameSync(partial, cache);
      } catch {
        // No cache this time.
      }
    }
    return db;
  };

  const pgliteSession = async (file: string): Promise<PgSession> => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('fs') as typeof import('fs');
    let ddl: string;
    try {
      ddl = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Fatal(`cannot read the schema file ${file}: ${(e as Error).message}`);
    }
    const { PGlite } = load('@electric-sql/pglite', 'QuerySchema.fromFile (an embedded PostgreSQL)');
    const db = await startPglite(PGlite);
    try {
      await db.exec(ddl);
    } catch (e) {
      const err = pgError(e);
      await db.close();
      throw new Fatal(`the schema file ${file} does not load into PostgreSQL: ${err.message}${err.position ? ` (at ${lineCol(ddl, err.position)})` : ''}`);
    }
    const enc = new TextEncoder();
    const message = (type: string, ...parts: Uint8Array[]) => {
      const length = parts.reduce((n, p) => n + p.length, 0);
      const out = new Uint8Array(5 + length);
      out[0] = type.charCodeAt(0);
      new DataView(out.buffer).setInt32(1, length + 4);
      let at = 5;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    };
    const cstring = (s: string) => {
      const bytes = enc.encode(s);
      const out = new Uint8Array(bytes.length + 1);
      out.set(bytes);
      return out;
    };
    return {
      async describe(text) {
        const parse = message('P', cstring(''), cstring(text), new Uint8Array(2));
        const describe = message('D', new Uint8Array([83]), cstring(''));
        const sync = message('S');
        const all = new Uint8Array(parse.length + describe.length + sync.length);
        all.set(parse, 0);
        all.set(describe, parse.length);
        all.set(sync, parse.length + describe.length);
        const result = await db.execProtocol(all, { throwOnError: false });
        const messages = result.messages as Array<Record<string, any>>;
        const failed = messages.find((m) => m.name === 'error');
        if (failed) throw failed;
        const params = messages.find((m) => m.name === 'parameterDescription');
        const rows = messages.find((m) => m.name === 'rowDescription');
        return { params: params?.dataTypeIDs ?? [], fields: rows?.fields ?? [] };
      },
      query: (sql, params) => db.query(sql, params),
      close: () => db.close(),
    };
  };

  const pgSession = async (url: string, envVar: string): Promise<PgSession> => {
    const { Client } = load('pg', 'QuerySchema.fromEnvironmentUrl with a postgres:// URL');
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (e) {
      throw new Fatal(`cannot connect to the schema database at ${where(url)} (from ${envVar}): ${(e as Error).message}`);
    }
    return {
      describe: (text) => new Promise((resolve, reject) => {
        // A custom submittable: Parse and Describe of an unnamed statement, then Sync. Nothing is bound or executed.
        let params: number[] = [];
        let fields: Array<{ name: string; tableID: number; columnID: number; dataTypeID: number }> = [];
        let connection: any;
        const onParams = (m: { dataTypeIDs: number[] }) => {
          params = m.dataTypeIDs;
        };
        client.query({
          submit(c: any) {
            connection = c;
            c.on('parameterDescription', onParams);
            c.parse({ name: '', text, types: [] });
            c.describe({ type: 'S', name: '' });
            c.sync();
          },
          handleRowDescription(m: { fields: typeof fields }) {
            fields = m.fields;
          },
          // node-postgres ends the query at an error (the ReadyForQuery after it goes to no query).
          handleError(e: unknown) {
            connection.removeListener('parameterDescription', onParams);
            reject(e);
          },
          handleReadyForQuery() {
            connection.removeListener('parameterDescription', onParams);
            resolve({ params, fields });
          },
          handleDataRow() {},
          handleCommandComplete() {},
          handleEmptyQuery() {},
          handlePortalSuspended() {},
        });
      }),
      query: (sql, params) => client.query(sql, params),
      close: () => client.end(),
    };
  };

  const describePostgres = async (session: PgSession): Promise<DescribedStatement[]> => {
    type RawField = { name: string; tableID: number; columnID: number; dataTypeID: number };
    const described: Array<{ error?: StatementError; params: number[]; fields: RawField[]; writes: string[] }> = [];
    for (const q of input.queries) {
      try {
        const d = await session.describe(q.text);
        const writes: string[] = [];
        if (q.read) {
          // The plan of the read, with NULL for every parameter: EXPLAIN plans, it never runs the statement.
          await session.query(`PREPARE secure_db_api_schema_check AS ${q.text}`);
          try {
            const nulls = Array.from({ length: d.params.length }, () => 'NULL').join(', ');
            const plan = await session.query(`EXPLAIN (FORMAT JSON) EXECUTE secure_db_api_schema_check${nulls ? `(${nulls})` : ''}`);
            const walk = (node: any): void => {
              if (!node || typeof node !== 'object') return;
              if (Array.isArray(node)) return node.forEach(walk);
              const type = node['Node Type'];
              if (type === 'ModifyTable' || type === 'LockRows') writes.push(type === 'ModifyTable' ? `${node.Operation ?? 'ModifyTable'} on ${node['Relation Name'] ?? 'a table'}` : 'row locks (FOR UPDATE/SHARE)');
              for (const v of Object.values(node)) walk(v);
            };
            const raw = Object.values(plan.rows[0] ?? {})[0];
            walk(typeof raw === 'string' ? JSON.parse(raw) : raw);
          } finally {
            await session.query('DEALLOCATE secure_db_api_schema_check');
          }
        }
        described.push({ ...d, writes });
      } catch (e) {
        described.push({ error: pgError(e), params: [], fields: [], writes: [] });
      }
    }
    // Type names and categories, and NOT NULL of table columns, in two catalogue queries for all statements.
    const oids = [...new Set(described.flatMap((d) => [...d.params, ...d.fields.map((f) => f.dataTypeID)]))];
    const types = new Map<number, { type: string; category: string }>();
    if (oids.length > 0) {
      const rows = (await session.query('SELECT oid::int AS oid, typname::text AS name, typcategory::text AS category, typtype::text AS kind FROM pg_type WHERE oid = ANY($1::oid[])', [oids])).rows;
      for (const r of rows) types.set(Number(r.oid), { type: String(r.name), category: r.kind === 'e' ? 'E' : String(r.category) });
    }
    const columns = described.flatMap((d) => d.fields.filter((f) => f.tableID > 0 && f.columnID > 0));
    const notNull = new Set<string>();
    if (columns.length > 0) {
      const rows = (await session.query(
        'SELECT attrelid::int AS rel, attnum::int AS num FROM pg_attribute a JOIN unnest($1::oid[], $2::int2[]) AS c(rel, num) ON a.attrelid = c.rel AND a.attnum = c.num WHERE a.attnotnull',
        [columns.map((c) => c.tableID), columns.map((c) => c.columnID)],
      )).rows;
      for (const r of rows) notNull.add(`${r.rel}.${r.num}`);
    }
    const typeOf = (oid: number) => types.get(oid) ?? { type: String(oid), category: 'X' };
    return described.map((d) => ({
      ...(d.error ? { error: d.error } : {}),
      params: d.params.map(typeOf),
      fields: d.fields.map((f) => ({ name: f.name, ...typeOf(f.dataTypeID), notNull: notNull.has(`${f.tableID}.${f.columnID}`) })),
      writes: d.writes,
    }));
  };

  const describeMysql = async (url: string, envVar: string): Promise<DescribedStatement[]> => {
    const mysql = load('mysql2/promise', 'QuerySchema.fromEnvironmentUrl with a mysql:// or mariadb:// URL');
    let conn: any;
    try {
      conn = await mysql.createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), connectTimeout: 10_000, supportBigNumbers: true, bigNumberStrings: true });
    } catch (e) {
      throw new Fatal(`cannot connect to the schema database at ${where(url)} (from ${envVar}): ${(e as Error).message}`);
    }
    const out: DescribedStatement[] = [];
    try {
      for (const q of input.queries) {
        try {
          const prepared = await conn.prepare(q.text);
          // mysql2/promise wraps the statement; its column definitions are on the inner one.
          const statement = prepared.statement ?? prepared;
          const fields: DescribedField[] = (statement.columns ?? []).map((c: any) => ({
            name: String(c.name),
            type: String(c.columnType ?? c.type),
            category: String(c.columnLength ?? ''),
            // eslint-disable-next-line no-bitwise
            notNull: ((c.flags ?? 0) & 1) === 1,
          }));
          prepared.close();
          const writes: string[] = [];
          if (q.read) {
            // EXPLAIN plans the statement (NULL for every placeholder) without running it; its JSON form
            // marks a table that would change (MariaDB: "delete": 1, MySQL: "delete": true, likewise update
            // and insert), where the plan keeps it (an impossible WHERE plans no table at all).
            const [rows] = await conn.query(`EXPLAIN FORMAT=JSON ${q.text}`, Array.from({ length: q.placeholderCount }, () => null));
            const walk = (node: any): void => {
              if (!node || typeof node !== 'object') return;
              if (Array.isArray(node)) return node.forEach(walk);
              for (const op of ['insert', 'update', 'delete', 'replace']) {
                if (node[op] === true || node[op] === 1) writes.push(`${op.toUpperCase()} on ${String(node.table_name ?? 'a table')}`);
              }
              for (const v of Object.values(node)) walk(v);
            };
            for (const r of rows as Array<Record<string, unknown>>) {
              const raw = Object.values(r)[0];
              walk(typeof raw === 'string' ? JSON.parse(raw) : raw);
            }
          }
          out.push({ params: [], fields, writes });
        } catch (e) {
          const err = e as { sqlMessage?: string; message?: string; code?: string };
          const error = { message: String(err.sqlMessage ?? err.message ?? e), ...(err.code ? { code: err.code } : {}) };
          out.push({ error, params: [], fields: [], writes: [] });
        }
      }
    } finally {
      await conn.end().catch(() => undefined);
    }
    return out;
  };

  try {
    let statements: DescribedStatement[];
    if (input.source.kind === 'file') {
      const session = await pgliteSession(input.source.path);
      try {
        statements = await describePostgres(session);
      } finally {
        await session.close();
      }
    } else {
      const { url, envVar } = input.source;
      const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase() ?? '';
      const isPostgres = scheme === 'postgres' || scheme === 'postgresql';
      const isMysql = scheme === 'mysql' || scheme === 'mariadb';
      if (!isPostgres && !isMysql) throw new Fatal(`${envVar} must hold a postgres://, mysql:// or mariadb:// URL (it starts with "${scheme || url.slice(0, 12)}")`);
      if ((input.dialect === 'postgres') !== isPostgres) {
        throw new Fatal(`${envVar} points to a ${isPostgres ? 'PostgreSQL' : 'MySQL/MariaDB'} database (${where(url)}), but the API's database is ${input.dialect === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'}`);
      }
      if (isPostgres) {
        const session = await pgSession(url, envVar);
        try {
          statements = await describePostgres(session);
        } finally {
          await session.close().catch(() => undefined);
        }
      } else {
        statements = await describeMysql(url, envVar);
      }
    }
    done({ ok: true, statements });
  } catch (e) {
    done({ ok: false, error: e instanceof Fatal ? e.message : `the schema check failed: ${(e as Error).message ?? String(e)}` });
  }
}
