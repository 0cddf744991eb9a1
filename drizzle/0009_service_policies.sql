CREATE TABLE "service_policies" (
	"service" text PRIMARY KEY NOT NULL,
	"min_instances" integer,
	"max_instances" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "service_policies_min_check" CHECK ("service_policies"."min_instances" is null or "service_policies"."min_instances" >= 0),
	CONSTRAINT "service_policies_max_check" CHECK ("service_policies"."max_instances" is null or "service_policies"."max_instances" >= 0),
	CONSTRAINT "service_policies_range_check" CHECK ("service_policies"."min_instances" is null or "service_policies"."max_instances" is null or "service_policies"."min_instances" <= "service_policies"."max_instances")
);
