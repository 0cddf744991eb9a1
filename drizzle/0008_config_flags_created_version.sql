ALTER TABLE "config_entries" ADD COLUMN "flags" numeric(20, 0) DEFAULT '0' NOT NULL;--> statement-breakpoint
ALTER TABLE "config_entries" ADD COLUMN "created_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Existing values were created just after their key's last recorded deletion (or at version 1).
UPDATE "config_entries" AS e SET "created_version" = coalesce((
  SELECT max(h."version") + 1 FROM "config_history" AS h
  WHERE h."key" = e."key" AND h."environment" = e."environment" AND h."deleted" AND h."version" < e."version"
), 1) WHERE NOT e."deleted";
