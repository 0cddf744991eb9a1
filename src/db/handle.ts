/**
 * What an adapter (src/graphql, src/consul) may know of the database: this file and nothing else
 * of src/db (layer rule "adapters → db, except its handle" in eslint.config.js).
 *
 * - `Db`, as a type only: the server opens the pool and hands it to the adapters, which carry it
 *   to the domain calls they make (`(db, input)`) without ever querying it themselves.
 * - How to name a database error: an adapter answers errors that reach it outside the transaction
 *   helper (a read, say), and it must say UNAVAILABLE for a lost database and CONFLICT for a
 *   violated constraint, never INTERNAL, without knowing what a SQLSTATE is.
 *
 * A door rather than a wrapper in the domain: the domain's functions throw what the driver throws
 * on a read, and wrapping every one of them to translate would move the same three names behind
 * a longer path. The domain (src/registry, src/events) re-exports nothing of src/db: the lint
 * refuses it, so this stays the only way through.
 */
export type { Db } from './client.js';
export { isConnectionError, toDomainError } from './errors.js';
