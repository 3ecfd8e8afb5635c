/**
 * Built SQL on PostgreSQL runs one statement at a time, as on SQLite (prepare() there): pg sends
 * a query with no parameters by the simple protocol, which runs every statement in the text, so
 * built text always goes by the extended protocol (queryMode 'extended'), which runs one.
 * Fixed text (module constants, literals) may go straight to client.query.
 */
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';

export type Queryable = Pick<PoolClient, 'query'>;

export function one<R extends QueryResultRow = QueryResultRow>(c: Queryable, text: string, values: unknown[] = []): Promise<QueryResult<R>> {
  return c.query<R>({ text, values, queryMode: 'extended' } as QueryConfig);
}
