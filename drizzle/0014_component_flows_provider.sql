ALTER TABLE "components" ADD COLUMN "flows" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "components" ADD COLUMN "provider" text;