-- Instances followed from an external registry (SWITCHBOARD_SOURCES) name it in "source"; null: registered here.
ALTER TABLE "services" ADD COLUMN "source" text;--> statement-breakpoint
CREATE INDEX "services_source_idx" ON "services" USING btree ("source") WHERE source is not null;