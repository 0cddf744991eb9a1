ALTER TABLE "services" ALTER COLUMN "version" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "services" ALTER COLUMN "port" DROP NOT NULL;