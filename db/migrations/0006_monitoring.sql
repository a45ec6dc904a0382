CREATE TABLE "monitoring_policies" (
	"model_id" uuid PRIMARY KEY NOT NULL,
	"policy" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "monitoring_references" (
	"model_version_id" uuid PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"reference" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "monitoring_reports" ADD COLUMN "verdict" text DEFAULT 'no_drift' NOT NULL;--> statement-breakpoint
ALTER TABLE "monitoring_reports" ADD COLUMN "rows" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "monitoring_reports" ADD COLUMN "retrain" jsonb;--> statement-breakpoint
ALTER TABLE "monitoring_policies" ADD CONSTRAINT "monitoring_policies_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitoring_references" ADD CONSTRAINT "monitoring_references_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitoring_references" ADD CONSTRAINT "monitoring_references_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitoring_reports" ADD CONSTRAINT "monitoring_reports_verdict_check" CHECK ("monitoring_reports"."verdict" IN ('drift', 'no_drift', 'not_enough_data', 'no_reference'));