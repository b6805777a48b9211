/**
 * Compiles SQL written with named parameters (`:id`, `:claims.sub`) into a dialect's positional
 * placeholders, with a lexer that understands the places where a colon is NOT a parameter:
 * string literals (standard, `E'..'` escape strings, MySQL backslash escapes, T-SQL `N'..'`), quoted
 * identifiers (`"x"`, MySQL `` `x` ``, T-SQL `[x]`), line and block comments (nested in PostgreSQL and
 * T-SQL), `::` (PostgreSQL casts, T-SQL static methods) and PostgreSQL dollar quoting.
 *
 * No value is ever written into the SQL text: the output only holds placeholders.
 */

/** SQL dialects the lexer understands. */
export type SqlDialect = 'postgres' | 'mysql' | 'sqlserver';

/** The SQL as the driver receives it, and which named parameter fills each placeholder. */
export interface CompiledSql {
  /** SQL text with placeholders (`$1` for PostgreSQL, `?` for MySQL/MariaDB, `@p1` for SQL Server). */
  readonly text: string;
  /** Parameter name for each value the driver expects, in placeholder order. */
  readonly valueOrder: readonly string[];
  /** Distinct parameter names in order of first appearance. */
  readonly names: readonly string[];
  /**
   * MySQL/MariaDB: the offset in `text` of each `?` placeholder, in `valueOrder` order (a `?` inside the
   * SQL's own literals or comments is not one). Empty for the other dialects, whose drivers bind by number.
   */
  readonly placeholders: readonly number[];
}

/** Raised when the SQL cannot be tokenized or uses placeholders the library reserves. */
export class SqlCompileError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} (at offset ${position})`);
    this.name = 'SqlCompileError';
  }
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
/** Characters that may continue a bare word, so a `:` right after one is not a parameter (`arr[1:n]`). */
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;
/**
 * Every character a branch of {@link tokenizeSql} looks at (in any dialect): the others only continue the
 * code before them, so the tokenizer skips from one of these to the next in one search.
 */
const SIGNIFICANT = /['"[@`\-#/$?:]/g;

/** One lexical piece of the SQL; exported for tests and for static checks of statements. */
export interface SqlToken {
  readonly kind: 'code' | 'string' | 'identifier' | 'comment' | 'parameter';
  readonly text: string;
  readonly start: number;
  /** Parameter name, for kind `parameter`. */
  readonly name?: string;
}

/** Splits SQL into tokens. Throws {@link SqlCompileError} on unterminated literals and comments. */
export function tokenizeSql(sql: string, dialect: SqlDialect): SqlToken[] {
  const tokens: SqlToken[] = [];
  let codeStart = 0;
  let i = 0;
  const n = sql.length;

  const flushCode = (end: number) => {
    if (end > codeStart) tokens.push({ kind: 'code', text: sql.slice(codeStart, end), start: codeStart });
  };
  const push = (kind: SqlToken['kind'], start: number, end: number, name?: string) => {
    flushCode(start);
    const text = sql.slice(start, end);
    tokens.push(name !== undefined ? { kind, text, start, name } : { kind, text, start });
    codeStart = end;
    i = end;
  };

  /** End (exclusive) of a quoted run starting at `start` with quote `q`. */
  const quoted = (start: number, q: string, backslashEscapes: boolean, what: string): number => {
    let j = start + 1;
    while (j < n) {
      const c = sql[j];
      if (backslashEscapes && c === '\\') {
        j += 2;
        continue;
      }
      if (c === q) {
        if (sql[j + 1] === q) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
    throw new SqlCompileError(`Unterminated ${what}`, start);
  };

  while (i < n) {
    SIGNIFICANT.lastIndex = i;
    if (!SIGNIFICANT.test(sql)) break;
    i = SIGNIFICANT.lastIndex - 1;
    const c = sql[i];
    const next = sql[i + 1];
    const prev = i > 0 ? sql[i - 1] : '';

    if (c === "'") {
      // PostgreSQL E'...' strings honour backslash escapes; MySQL strings always do (unless NO_BACKSLASH_ESCAPES).
      const escapePrefix = dialect === 'postgres' && (prev === 'E' || prev === 'e') && !(i > 1 && WORD_CHAR.test(sql[i - 2]));
      push('string', i, quoted(i, "'", dialect === 'mysql' || escapePrefix, 'string literal'));
      continue;
    }
    if (c === '"') {
      // PostgreSQL and T-SQL (QUOTED_IDENTIFIER ON): quoted identifier. MySQL: a string (ANSI_QUOTES off). Opaque either way.
      const identifier = dialect !== 'mysql';
      push(identifier ? 'identifier' : 'string', i, quoted(i, '"', dialect === 'mysql', identifier ? 'quoted identifier' : 'string literal'));
      continue;
    }
    if (c === '[' && dialect === 'sqlserver') {
      // T-SQL bracketed identifier; `]]` is an escaped `]`.
      push('identifier', i, quoted(i, ']', false, 'bracketed identifier'));
      continue;
    }
    if (c === '@' && dialect === 'sqlserver' && next !== undefined && /[pP]/.test(next) && /[0-9]/.test(sql[i + 2] ?? '') && !WORD_CHAR.test(prev)) {
      throw new SqlCompileError('Placeholders such as @p1 are reserved: use named parameters such as :id', i);
    }
    if (c === '`' && dialect === 'mysql') {
      push('identifier', i, quoted(i, '`', false, 'quoted identifier'));
      continue;
    }
    if (c === '-' && next === '-' && (dialect !== 'mysql' || i + 2 >= n || /\s/.test(sql[i + 2]))) {
      const nl = sql.indexOf('\n', i);
      push('comment', i, nl === -1 ? n : nl);
      continue;
    }
    if (c === '#' && dialect === 'mysql') {
      const nl = sql.indexOf('\n', i);
      push('comment', i, nl === -1 ? n : nl);
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else if (dialect !== 'mysql' && sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else {
          j++;
        }
      }
      if (depth > 0) throw new SqlCompileError('Unterminated block comment', i);
      push('comment', i, j);
      continue;
    }
    if (c === '$' && dialect === 'postgres') {
      if (next !== undefined && /[0-9]/.test(next) && !WORD_CHAR.test(prev)) {
        throw new SqlCompileError('Positional parameters ($1) are not allowed: use named parameters such as :id', i);
      }
      if (!WORD_CHAR.test(prev)) {
        const m = DOLLAR_TAG.exec(sql.slice(i));
        if (m) {
          const tag = m[0];
          const close = sql.indexOf(tag, i + tag.length);
          if (close === -1) throw new SqlCompileError('Unterminated dollar-quoted string', i);
          push('string', i, close + tag.length);
          continue;
        }
      }
      i++;
      continue;
    }
    if (c === '?' && dialect === 'mysql') {
      throw new SqlCompileError('Positional parameters (?) are not allowed: use named parameters such as :id', i);
    }
    if (c === ':') {
      if (next === ':') {
        i += 2; // PostgreSQL cast
        continue;
      }
      if (next !== undefined && IDENT_START.test(next) && !WORD_CHAR.test(prev)) {
        let j = i + 2;
        for (;;) {
          while (j < n && IDENT_PART.test(sql[j])) j++;
          // `.` joins parts (`:claims.sub`); in a claim's name `:` does too, as in Cognito's `custom:tenant_id`
          // (`::` stays PostgreSQL's cast: `:claims.sub::uuid`).
          const joiner = sql[j] === '.' || (sql[j] === ':' && sql.startsWith('claims.', i + 1) && j > i + 8);
          if (joiner && j + 1 < n && IDENT_START.test(sql[j + 1])) {
            j += 2;
            continue;
          }
          break;
        }
        push('parameter', i, j, sql.slice(i + 1, j));
        continue;
      }
    }
    i++;
  }
  flushCode(n);
  return tokens;
}

/** Compiles named parameters to the dialect's placeholders. */
export function compileNamedSql(sql: string, dialect: SqlDialect): CompiledSql {
  return compileTokens(tokenizeSql(sql, dialect), dialect);
}

/** Compiles the tokens of one statement ({@link tokenizeSql}) to the dialect's placeholders. */
export function compileTokens(tokens: readonly SqlToken[], dialect: SqlDialect): CompiledSql {
  const names: string[] = [];
  const valueOrder: string[] = [];
  const placeholders: number[] = [];
  let text = '';
  for (const t of tokens) {
    if (t.kind !== 'parameter') {
      text += t.text;
      continue;
    }
    const name = t.name!;
    let index = names.indexOf(name);
    if (index === -1) {
      names.push(name);
      index = names.length - 1;
    }
    if (dialect === 'postgres') {
      text += `$${index + 1}`;
    } else if (dialect === 'sqlserver') {
      text += `@p${index + 1}`;
    } else {
      placeholders.push(text.length);
      text += '?';
      valueOrder.push(name);
    }
  }
  // A trailing `;` goes: comments appended after it would otherwise read as a second statement.
  const last = tokens[tokens.length - 1];
  if (last?.kind === 'code') text = text.replace(/;\s*$/, '');
  // PostgreSQL and SQL Server placeholders are numbered and may repeat; MySQL's `?` takes one value per occurrence.
  return { text, valueOrder: dialect === 'mysql' ? valueOrder : names, names, placeholders };
}

/** The SQL with comments, literals and parameters removed: for static checks on keywords. */
export function sqlCodeOnly(sql: string, dialect: SqlDialect): string {
  return codeOf(tokenizeSql(sql, dialect));
}

/** {@link sqlCodeOnly} of a statement's tokens: each token that is not code is one space. */
export function codeOf(tokens: readonly SqlToken[]): string {
  let code = '';
  for (const t of tokens) code += t.kind === 'code' ? t.text : ' ';
  return code;
}
