import { Duration, Token } from 'aws-cdk-lib';
import type { PaginationConfig } from '../shared/config';

/** One column of a paged query's order. */
export interface OrderColumn {
  /** A result column of the query. */
  readonly column: string;
  /**
   * Largest values first.
   * @default false
   */
  readonly descending?: boolean;
}

/** How a list query is paged by keyset (`Pagination.keyset`). */
export interface KeysetPaginationOptions {
  /**
   * The order of the pages: result columns that together identify a row. Put a unique column last (the
   * primary key), e.g. `[{ column: 'created_at', descending: true }, { column: 'id', descending: true }]`.
   * NULL sorts before every value on every engine.
   */
  readonly orderBy: OrderColumn[];
  /**
   * How long a cursor is accepted after it was issued; an older one is a 400 problem. At most 30 days.
   * @default Duration.hours(24)
   */
  readonly cursorLifetime?: Duration;
}

const DEFAULT_CURSOR_LIFETIME = Duration.hours(24);

/**
 * Opt-in pagination of a list query (a READ query that is not `single`): the route takes `limit` and
 * `cursor` query-string parameters (GraphQL: `limit` and `after`) and answers `meta.nextCursor` and
 * `links.next`. The cursor is opaque and signed with a key the construct keeps in Secrets Manager.
 */
export class Pagination {
  /**
   * Keyset pagination: each page continues after the last row of the previous one in the order of
   * `orderBy`, so rows inserted or deleted meanwhile never make an untouched row repeat or vanish.
   */
  public static keyset(options: KeysetPaginationOptions): Pagination {
    return new Pagination(options);
  }

  private constructor(private readonly options: KeysetPaginationOptions) {}

  /**
   * The runtime definition. Throws when the lifetime is not known at synth time.
   * @internal
   */
  public _toConfig(): PaginationConfig {
    const lifetime = this.options.cursorLifetime ?? DEFAULT_CURSOR_LIFETIME;
    if (Token.isUnresolved(lifetime.toSeconds({ integral: false }))) throw new Error('pagination cursorLifetime must be a duration known at synth time');
    return {
      orderBy: (this.options.orderBy ?? []).map((o) => ({ column: o.column, ...(o.descending ? { descending: true } : {}) })),
      cursorLifetimeSeconds: lifetime.toSeconds({ integral: false }),
    };
  }
}
