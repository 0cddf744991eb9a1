ALTER TABLE "services" ADD COLUMN "session_id" text;--> statement-breakpoint
CREATE INDEX "services_session_id_idx" ON "services" USING btree ("session_id") WHERE session_id is not null;