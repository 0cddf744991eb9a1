/** What every domain module shares with its callers: the database handle its functions take first, and database errors named as domain errors. */
export type { Db } from '../db/client.js';
export { isConnectionError, toDomainError } from '../db/errors.js';
