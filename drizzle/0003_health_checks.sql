CREATE TABLE "health_checks" (
	"id" text PRIMARY KEY NOT NULL,
	"service_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"target" jsonb NOT NULL,
	"interval_ms" integer NOT NULL,
	"timeout_ms" integer NOT NULL,
	"ttl_ms" integer,
	"success_before_passing" integer DEFAULT 0 NOT NULL,
	"failures_before_critical" integer DEFAULT 0 NOT NULL,
	"deregister_critical_after_ms" integer,
	"status" text DEFAULT 'CRITICAL' NOT NULL,
	"output" text DEFAULT '' NOT NULL,
	"consecutive_successes" integer DEFAULT 0 NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"check_count" bigint DEFAULT 0 NOT NULL,
	"failure_count" bigint DEFAULT 0 NOT NULL,
	"last_check_at" timestamp with time zone,
	"status_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"critical_since" timestamp with time zone DEFAULT now(),
	"next_run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "health_checks_kind_check" CHECK ("health_checks"."kind" in ('HTTP', 'TCP', 'GRPC', 'SCRIPT', 'TTL')),
	CONSTRAINT "health_checks_status_check" CHECK ("health_checks"."status" in ('PASSING', 'WARNING', 'CRITICAL'))
);
--> statement-breakpoint
CREATE TABLE "health_transitions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "health_transitions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"service_id" text NOT NULL,
	"check_id" text,
	"check_name" text,
	"from_status" text,
	"to_status" text,
	"output" text NOT NULL,
	"instance_status" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "check_status" text DEFAULT 'PASSING' NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "maintenance_reason" text;--> statement-breakpoint
ALTER TABLE "services" ADD COLUMN "maintenance_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "health_checks" ADD CONSTRAINT "health_checks_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "health_checks_service_id_idx" ON "health_checks" USING btree ("service_id");--> statement-breakpoint
CREATE INDEX "health_checks_next_run_at_idx" ON "health_checks" USING btree ("next_run_at");--> statement-breakpoint
CREATE INDEX "health_checks_critical_idx" ON "health_checks" USING btree ("critical_since") WHERE deregister_critical_after_ms is not null;--> statement-breakpoint
CREATE INDEX "health_transitions_service_idx" ON "health_transitions" USING btree ("service_id","id");