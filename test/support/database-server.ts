/** Where the test run's PostgreSQL is, and how its databases are named. */
export interface TestDatabaseServer {
  adminUrl: string;
  /** Every database of this run starts with it, so teardown can find them all. */
  prefix: string;
  /** Migrated once; test files clone it. */
  template: string;
}
