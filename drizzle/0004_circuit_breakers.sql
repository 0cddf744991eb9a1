CREATE TABLE "circuit_breakers" (
	"service_id" text PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'CLOSED' NOT NULL,
	"window_start" timestamp with time zone DEFAULT now() NOT NULL,
	"calls" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"previous_calls" integer DEFAULT 0 NOT NULL,
	"previous_failures" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone,
	"probes_granted" integer DEFAULT 0 NOT NULL,
	"last_probe_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "circuit_breakers_state_check" CHECK ("circuit_breakers"."state" in ('CLOSED', 'OPEN', 'HALF_OPEN'))
);
--> statement-breakpoint
ALTER TABLE "circuit_breakers" ADD CONSTRAINT "circuit_breakers_service_id_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services"("id") ON DELETE cascade ON UPDATE no action;