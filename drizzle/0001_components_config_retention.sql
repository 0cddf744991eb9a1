CREATE TABLE "components" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"description" text,
	"dependencies" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"dependency_names" text[] DEFAULT '{}'::text[] NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"registered_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "components_type_check" CHECK ("components"."type" in ('STEP', 'TRANSFORMER', 'VALIDATOR', 'FLOW', 'MIDDLEWARE', 'PLUGIN'))
);
--> statement-breakpoint
CREATE TABLE "config_entries" (
	"key" text NOT NULL,
	"environment" text NOT NULL,
	"value" jsonb,
	"version" integer NOT NULL,
	"deleted" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_entries_key_environment_pk" PRIMARY KEY("key","environment")
);
--> statement-breakpoint
CREATE TABLE "config_history" (
	"key" text NOT NULL,
	"environment" text NOT NULL,
	"version" integer NOT NULL,
	"value" jsonb,
	"deleted" boolean DEFAULT false NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "config_history_key_environment_version_pk" PRIMARY KEY("key","environment","version")
);
--> statement-breakpoint
CREATE TABLE "event_log_state" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"pruned_through" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "event_log_state_singleton" CHECK ("event_log_state"."singleton")
);
--> statement-breakpoint
CREATE INDEX "components_name_idx" ON "components" USING btree ("name");--> statement-breakpoint
CREATE INDEX "components_type_idx" ON "components" USING btree ("type");--> statement-breakpoint
CREATE INDEX "components_dependency_names_idx" ON "components" USING gin ("dependency_names");--> statement-breakpoint
CREATE INDEX "events_created_at_idx" ON "events" USING btree ("created_at");