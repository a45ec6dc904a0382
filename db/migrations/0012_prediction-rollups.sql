CREATE TABLE "prediction_rollups" (
	"model_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"layout_sha" text NOT NULL,
	"rows" bigint NOT NULL,
	"counts" bigint[] NOT NULL,
	"mins" double precision[] NOT NULL,
	"maxs" double precision[] NOT NULL,
	CONSTRAINT "prediction_rollups_model_id_version_minute_layout_sha_pk" PRIMARY KEY("model_id","version","minute","layout_sha")
);
--> statement-breakpoint
CREATE INDEX "prediction_rollups_minute_idx" ON "prediction_rollups" USING btree ("minute");