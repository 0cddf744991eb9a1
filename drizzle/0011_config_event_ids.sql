ALTER TABLE "config_entries" ADD COLUMN "created_event_id" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "config_entries" ADD COLUMN "modified_event_id" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing values: the newest config.changed event of the key is its last change, the one of its
-- created_version the change that created it. Where retention pruned those events, the newest
-- pruned id stands in: the change came at or before it, and every later change has a higher id.
WITH "changes" AS (
  SELECT "data"->>'key' AS "key", coalesce("data"->>'environment', '') AS "environment", "data"->>'version' AS "version", "id"
  FROM "events" WHERE "type" = 'config.changed'
), "stamps" AS (
  SELECT e."key", e."environment", max(c."id") AS "modified", max(c."id") FILTER (WHERE c."version" = e."created_version"::text) AS "created"
  FROM "config_entries" AS e LEFT JOIN "changes" AS c ON c."key" = e."key" AND c."environment" = e."environment"
  GROUP BY e."key", e."environment"
), "floor" AS (
  SELECT coalesce(max("pruned_through"), 0) AS "id" FROM "event_log_state"
)
UPDATE "config_entries" AS e
SET "modified_event_id" = coalesce(s."modified", f."id"), "created_event_id" = coalesce(s."created", f."id")
FROM "stamps" AS s, "floor" AS f
WHERE s."key" = e."key" AND s."environment" = e."environment";
