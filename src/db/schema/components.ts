import type { ComponentDependencyRecord, ComponentTypeValue } from '@switchboard/contracts';
import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { timestamptz } from './columns.js';

/** Framework components (steps, transformers, …). Several versions of one name coexist under different ids. */
export const components = pgTable(
  'components',
  {
    id: text('id').primaryKey(),
    type: text('type').$type<ComponentTypeValue>().notNull(),
    name: text('name').notNull(),
    version: text('version').notNull(),
    description: text('description'),
    /** Declared dependencies, in declaration order. */
    dependencies: jsonb('dependencies').$type<ComponentDependencyRecord[]>().notNull().default([]),
    /** The names in `dependencies`, indexed for the reverse ("who depends on X") lookup. */
    dependencyNames: text('dependency_names')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** The flows it declares it serves, as written: "checkout", "checkout@^2", "tag:payments". */
    flows: text('flows')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** The service whose instances run it; null when it runs in-process. */
    provider: text('provider'),
    registeredAt: timestamptz('registered_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('components_name_idx').on(t.name),
    index('components_type_idx').on(t.type),
    index('components_dependency_names_idx').using('gin', t.dependencyNames),
    check('components_type_check', sql`${t.type} in ('STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN')`),
  ],
);
