/**
 * What the construct and the schema check's child process (worker.ts) exchange: the queries on stdin,
 * the server's description of each statement as JSON on stdout.
 */

/** What the construct sends on stdin. */
export interface WorkerInput {
  /** The file that `require` resolves from (the library's). */
  readonly base: string;
  readonly source:
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string; readonly envVar: string };
  /** The construct's engine family. */
  readonly dialect: 'postgres' | 'mysql';
  readonly queries: ReadonlyArray<{
    /** The SQL as the driver receives it (placeholders `$1` or `?`). */
    readonly text: string;
    /** Placeholders to bind NULL for in EXPLAIN. */
    readonly placeholderCount: number;
    readonly read: boolean;
  }>;
}

/** A server error on one statement. */
export interface StatementError {
  readonly message: string;
  readonly code?: string;
  /** 1-based character offset in the statement text (PostgreSQL). */
  readonly position?: number;
}

/** One result column as the server describes it. */
export interface DescribedField {
  readonly name: string;
  /** PostgreSQL: pg_type name; MySQL: the protocol's column type number as text. */
  readonly type: string;
  /** PostgreSQL: pg_type.typcategory (`N` numeric, `S` string, `A` array ...); MySQL: column length. */
  readonly category: string;
  /** The server knows the column cannot be null (a NOT NULL table column). */
  readonly notNull: boolean;
}

/** What the server says of one statement. */
export interface DescribedStatement {
  readonly error?: StatementError;
  /** PostgreSQL: each placeholder's inferred type (name and category); MySQL: empty (the server does not infer them). */
  readonly params: ReadonlyArray<{ readonly type: string; readonly category: string }>;
  readonly fields: readonly DescribedField[];
  /** Reads: what the plan would change (`ModifyTable`, `LockRows`; MySQL: `INSERT`, `UPDATE` ...). */
  readonly writes: readonly string[];
}

/** What the process prints. */
export type WorkerOutput =
  | { readonly ok: true; readonly statements: readonly DescribedStatement[] }
  | { readonly ok: false; readonly error: string };
