-- The prediction log (hand-written: drizzle-kit cannot declare partitioned tables).
-- `predictions` is partitioned by day on created_at; db/prediction-partitions.ts creates the daily partitions
-- ahead of time and drops those past KEEL_PREDICTION_RETENTION_DAYS. The default partition means an insert
-- never fails for want of a partition. The old, never-written predictions/feedback tables are replaced.
DROP TABLE IF EXISTS "predictions" CASCADE;
--> statement-breakpoint
DROP TABLE IF EXISTS "feedback" CASCADE;
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" uuid NOT NULL,
	"model_id" uuid NOT NULL,
	"model" text NOT NULL,
	"version" integer NOT NULL,
	"source" jsonb,
	"features" jsonb NOT NULL,
	"output" jsonb NOT NULL,
	"score" double precision NOT NULL,
	"latency_ms" double precision NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"key_id" uuid,
	CONSTRAINT "predictions_id_created_at_pk" PRIMARY KEY("id","created_at"),
	CONSTRAINT "predictions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action
) PARTITION BY RANGE ("created_at");
--> statement-breakpoint
CREATE INDEX "predictions_model_created_idx" ON "predictions" USING btree ("model_id","created_at","id");
--> statement-breakpoint
CREATE TABLE "predictions_default" PARTITION OF "predictions" DEFAULT;
--> statement-breakpoint
CREATE TABLE "feedback" (
	"prediction_id" uuid PRIMARY KEY NOT NULL,
	"model_id" uuid NOT NULL,
	"label" double precision NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedback_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action
);
--> statement-breakpoint
CREATE INDEX "feedback_model_created_idx" ON "feedback" USING btree ("model_id","created_at");
