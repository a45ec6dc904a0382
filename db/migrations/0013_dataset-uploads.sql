CREATE TABLE "dataset_uploads" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sha256" text NOT NULL,
	"uri" text NOT NULL,
	"file_name" text NOT NULL,
	"format" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"row_count" bigint NOT NULL,
	"columns" jsonb NOT NULL,
	"uploaded_by" text NOT NULL,
	"uploaded_by_key_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "dataset_uploads_sha256_idx" ON "dataset_uploads" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "dataset_uploads_created_at_idx" ON "dataset_uploads" USING btree ("created_at");