/**
 * Checks a construct's queries against a database schema at synthesis (issue #19): one child process
 * per synthesis describes every statement (see worker.ts), and this module turns what the server said
 * into problems (all of them at once) and into the result columns the GraphQL schema and the OpenAPI
 * document are built from.
 */
import { spawnSync } from 'child_process';
import { Construct } from 'constructs';
import { QuerySchema } from './query-schema';
import { schemaWorker } from './worker';
import { DescribedField, DescribedStatement, WorkerInput, WorkerOutput } from './worker-protocol';
import { apiError } from '../parts/context';
import { ColumnConfig, ColumnType, dialectOf, EngineName, ParameterType, QueryConfig } from '../shared/config';
import { compileNamedSql, sqlCodeOnly, tokenizeSql } from '../shared/named-parameters';

/** The child process's output can be large (200 queries' descriptions); well above it. */
const MAX_WORKER_OUTPUT_BYTES = 256 * 1024 * 1024;

/** A check that hangs (a database that accepts the connection and never answers) must not hang the synthesis. */
const WORKER_TIMEOUT_MS = 5 * 60 * 1000;

/** The describing facts of every query, by position in `queries`. */
export function describeQueries(schema: QuerySchema, engine: EngineName, queries: readonly QueryConfig[]): DescribedStatement[] {
  const dialect = dialectOf(engine);
  if (dialect === 'sqlserver') throw new Error('schema checks support PostgreSQL, MySQL and MariaDB databases');
  const source = schema._source;
  let workerSource: WorkerInput['source'];
  if (source.kind === 'file') {
    workerSource = source;
  } else {
    const url = process.env[source.envVar];
    if (!url) throw new Error(`the environment variable ${source.envVar} (QuerySchema.fromEnvironmentUrl) is not set: set it to the schema database's URL when synthesizing`);
    workerSource = { kind: 'url', url, envVar: source.envVar };
  }
  const input: WorkerInput = {
    base: __filename,
    source: workerSource,
    dialect,
    queries: queries.map((q) => {
      const compiled = compileNamedSql(q.sql, dialect);
      return { text: compiled.text, placeholderCount: compiled.valueOrder.length, read: q.access === 'read' };
    }),
  };
  const run = spawnSync(process.execPath, ['-e', `(${schemaWorker.toString()})()`], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: MAX_WORKER_OUTPUT_BYTES,
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: WORKER_TIMEOUT_MS,
  });
  let output: WorkerOutput | undefined;
  try {
    output = JSON.parse(run.stdout) as WorkerOutput;
  } catch {
    output = undefined;
  }
  if (!output) {
    const last = run.signal ? `stopped by ${run.signal} after ${WORKER_TIMEOUT_MS / 60_000} minutes at most`
      : (run.error?.message ?? run.stderr ?? '').trim().split('\n').filter(Boolean).pop();
    throw new Error(`the schema check (${schema.description}) did not complete: ${last ?? `exit code ${run.status}`}`);
  }
  if (!output.ok) throw new Error(output.error);
  return [...output.statements];
}

/**
 * Checks `queries` against the schema and answers them with their result columns (declared ones are
 * kept; undeclared ones come from the description). Throws one error listing every problem.
 */
export function checkAgainstSchema(schema: QuerySchema, engine: EngineName, queries: readonly QueryConfig[], scope: Construct): QueryConfig[] {
  let statements: DescribedStatement[];
  try {
    statements = describeQueries(schema, engine, queries);
  } catch (e) {
    throw userError(apiError(scope, (e as Error).message));
  }
  const postgres = engine === 'postgres';
  const problems: string[] = [];
  const checked = queries.map((q, i) => {
    const d = statements[i];
    const label = `query "${q.name}" (${q.method} ${q.path})`;
    if (d.error) {
      problems.push(`${label}: ${serverMessage(q, engine, d.error.message)}${d.error.code ? ` [${d.error.code}]` : ''}${d.error.position ? ` at ${originalPosition(q.sql, engine, d.error.position)}` : ''}`);
      return q;
    }
    if (postgres) {
      const names = compileNamedSql(q.sql, 'postgres').names;
      d.params.forEach((p, n) => {
        const declared = q.parameters.find((c) => c.name === names[n]);
        if (declared && !parameterFits(declared.type, p.type, p.category)) {
          problems.push(`${label}: parameter "${declared.name}" is declared ${declared.type}, but the database expects ${p.type} there: `
            + `no ${declared.type} value is a valid ${p.type}${hintFor(p.type, p.category)}`);
        }
      });
    }
    for (const w of d.writes) problems.push(`${label}: a READ query, but the database plans it as a write (${w}); declare access WRITE for statements that change data`);
    if (d.fields.length === 0) {
      if (q.single) problems.push(`${label}: single: true, but the statement returns no columns (add RETURNING, or leave single out: it answers its affected rows)`);
      if (q.columns && q.columns.length > 0) problems.push(`${label}: declares columns, but the statement returns none`);
      return q;
    }
    // A column of an outer join's optional side is null where nothing matched, whatever its table says.
    const outerJoin = /\b(left|right|full)\b/i.test(sqlCodeOnly(q.sql, dialectOf(engine)));
    const described = d.fields.map((f) => columnOf(outerJoin ? { ...f, notNull: false } : f, engine));
    if (q.columns) {
      for (const c of q.columns) {
        const at = described.findIndex((f) => f.name === c.name);
        if (at < 0) {
          problems.push(`${label}: declared column "${c.name}" is not in the result (it returns ${described.map((f) => f.name).join(', ')})`);
        } else if (!columnFits(c.type, described[at].type, exactNumber(d.fields[at], engine))) {
          problems.push(`${label}: column "${c.name}" is declared ${c.type}, but the result holds ${described[at].type} (${typeName(d.fields[at], engine)})`);
        }
      }
      return q;
    }
    return { ...q, columns: described };
  });
  if (problems.length > 0) {
    throw userError(apiError(scope, `${problems.length} problem${problems.length === 1 ? '' : 's'} with the queries against ${schema.description}:\n- ${problems.join('\n- ')}`));
  }
  return checked;
}

/**
 * An error about the user's queries or schema: its stack is its message, so `cdk synth` prints the list of
 * problems and not the construct library's call stack.
 */
function userError(error: Error): Error {
  error.stack = `Error: ${error.message}`;
  return error;
}

/** The server's message with `$1`, `$2` named as the query's `:parameters`. */
function serverMessage(q: QueryConfig, engine: EngineName, message: string): string {
  if (engine !== 'postgres') return message;
  const names = compileNamedSql(q.sql, 'postgres').names;
  return message.replace(/\$(\d+)/g, (all, n: string) => (names[Number(n) - 1] !== undefined ? `:${names[Number(n) - 1]}` : all));
}

/** A 1-based offset in the compiled SQL as line and column of the query's own SQL, with the text there. */
export function originalPosition(sql: string, engine: EngineName, position: number): string {
  const dialect = dialectOf(engine);
  const target = position - 1;
  let compiledAt = 0;
  let original = sql.length;
  const names: string[] = [];
  for (const t of tokenizeSql(sql, dialect)) {
    let length = t.text.length;
    if (t.kind === 'parameter') {
      if (!names.includes(t.name ?? '')) names.push(t.name ?? '');
      length = dialect === 'postgres' ? `$${names.indexOf(t.name ?? '') + 1}`.length : 1;
    }
    if (target < compiledAt + length) {
      original = t.start + (t.kind === 'parameter' ? 0 : target - compiledAt);
      break;
    }
    compiledAt += length;
  }
  const before = sql.slice(0, original).split('\n');
  const near = sql.slice(original, original + 30).split('\n')[0];
  return `line ${before.length}, column ${before[before.length - 1].length + 1}${near ? ` (near "${near}")` : ''}`;
}

/** PostgreSQL type categories: pg_type.typcategory, with `E` for enum types. */
const TEXT_CATEGORY = 'S';

/** Whether every value of the declared parameter type can be (at least sometimes) a value of the column's type. */
function parameterFits(declared: ParameterType, type: string, category: string): boolean {
  if (declared === 'string' || category === TEXT_CATEGORY || type === 'unknown') return true;
  switch (declared) {
    case 'integer': return category === 'N';
    case 'number': return ['numeric', 'float4', 'float8', 'money'].includes(type);
    case 'boolean': return category === 'B';
    case 'uuid': return type === 'uuid';
    case 'date-time': return ['timestamptz', 'timestamp', 'date'].includes(type);
    case 'enum': return category === 'E';
    default: return true;
  }
}

function hintFor(type: string, category: string): string {
  if (type === 'uuid') return '; declare it QueryParameter.uuid';
  if (['int2', 'int4', 'int8'].includes(type)) return '; declare it QueryParameter.integer';
  if (category === 'N') return '; declare it QueryParameter.number';
  if (category === 'B') return '; declare it QueryParameter.boolean';
  if (['timestamptz', 'timestamp', 'date'].includes(type)) return '; declare it QueryParameter.dateTime';
  return '; declare it QueryParameter.string';
}

/** MySQL protocol column types (mysql2's Types). */
const MYSQL = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  DATETIME: 12,
  YEAR: 13,
  JSON: 245,
  NEWDECIMAL: 246,
} as const;

/**
 * The column as the runtime answers it. PostgreSQL's bigint and numeric, MySQL's BIGINT and DECIMAL
 * arrive as strings (exact; the drivers are configured so), zone-less timestamps and dates as text.
 */
export function columnOf(f: DescribedField, engine: EngineName): ColumnConfig {
  return { name: f.name, type: engine === 'postgres' ? postgresType(f) : mysqlType(f), ...(f.notNull ? { nullable: false } : {}) };
}

function postgresType(f: DescribedField): ColumnType {
  if (f.category === 'A') return 'json';
  switch (f.type) {
    case 'bool': return 'boolean';
    case 'int2': case 'int4': return 'integer';
    case 'float4': case 'float8': return 'number';
    case 'timestamptz': return 'date-time';
    case 'uuid': return 'uuid';
    case 'json': case 'jsonb': return 'json';
    default: return 'string';
  }
}

function mysqlType(f: DescribedField): ColumnType {
  const type = Number(f.type);
  if (type === MYSQL.TINY && f.category === '1') return 'boolean';
  if ([MYSQL.TINY, MYSQL.SHORT, MYSQL.LONG, MYSQL.INT24, MYSQL.YEAR].includes(type as 1)) return 'integer';
  if (type === MYSQL.FLOAT || type === MYSQL.DOUBLE) return 'number';
  if (type === MYSQL.TIMESTAMP || type === MYSQL.DATETIME) return 'date-time';
  if (type === MYSQL.JSON) return 'json';
  return 'string';
}

/** MySQL protocol type numbers as SQL type names, for messages. */
const MYSQL_NAMES: Record<number, string> = {
  0: 'DECIMAL',
  1: 'TINYINT',
  2: 'SMALLINT',
  3: 'INT',
  4: 'FLOAT',
  5: 'DOUBLE',
  7: 'TIMESTAMP',
  8: 'BIGINT',
  9: 'MEDIUMINT',
  10: 'DATE',
  11: 'TIME',
  12: 'DATETIME',
  13: 'YEAR',
  15: 'VARCHAR',
  16: 'BIT',
  245: 'JSON',
  246: 'DECIMAL',
  247: 'ENUM',
  248: 'SET',
  249: 'TINYBLOB',
  250: 'MEDIUMBLOB',
  251: 'LONGBLOB',
  252: 'BLOB',
  253: 'VARCHAR',
  254: 'CHAR',
  255: 'GEOMETRY',
};

/** The column's type as the database names it. */
function typeName(f: DescribedField, engine: EngineName): string {
  return engine === 'postgres' ? f.type : MYSQL_NAMES[Number(f.type)] ?? `type ${f.type}`;
}

/** A bigint or decimal column: a number, answered as exact text. */
function exactNumber(f: DescribedField, engine: EngineName): boolean {
  return engine === 'postgres' ? ['int8', 'numeric'].includes(f.type) : [MYSQL.LONGLONG, MYSQL.DECIMAL, MYSQL.NEWDECIMAL].includes(Number(f.type) as 0);
}

/** Whether a declared column type describes what the result holds. */
function columnFits(declared: string, actual: ColumnType, exact: boolean): boolean {
  if (declared === actual) return true;
  // bigint/decimal (exact text on the wire) and integers declared as numbers; MySQL's 0/1 booleans as integers.
  if (declared === 'integer' || declared === 'number') return exact || actual === 'integer' || actual === 'boolean';
  return declared === 'string' && (actual === 'uuid' || actual === 'date-time');
}

/** The last check of each construct: `openApiDocument()` and the synthesis do not describe the same queries twice. */
const CHECKED = new WeakMap<Construct, { readonly key: string; readonly configs: QueryConfig[] }>();

/**
 * The construct's hook: its queries checked against `schema` (unchanged without one), once per set of
 * queries.
 */
export function withSchemaColumns(scope: Construct, schema: QuerySchema | undefined, engine: EngineName, configs: QueryConfig[]): QueryConfig[] {
  if (!schema) return configs;
  const key = JSON.stringify(configs);
  const last = CHECKED.get(scope);
  if (last?.key === key) return last.configs;
  const checked = checkAgainstSchema(schema, engine, configs, scope);
  CHECKED.set(scope, { key, configs: checked });
  return checked;
}
