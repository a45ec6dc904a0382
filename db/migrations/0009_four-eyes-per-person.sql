CREATE TABLE "model_approval_policies" (
	"model" text PRIMARY KEY NOT NULL,
	"version" integer NOT NULL,
	"auto_approve" boolean NOT NULL,
	"allow_first_deployment" boolean NOT NULL,
	"gates" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_approval_policies_version_check" CHECK ("model_approval_policies"."version" >= 1)
);
--> statement-breakpoint
-- Keys from before users existed belong to a user named exactly after the key (keys with the same name become one
-- person, which only ever forbids more reviews); the bootstrapped admin key (no creator) to "admin".
ALTER TABLE "api_keys" ADD COLUMN "user_name" text;--> statement-breakpoint
UPDATE "api_keys" SET "user_name" = CASE WHEN "created_by" IS NULL AND 'admin' = ANY("roles") THEN 'admin' ELSE "name" END;--> statement-breakpoint
ALTER TABLE "api_keys" ALTER COLUMN "user_name" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "approvals" ADD COLUMN "policy_version" integer;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "requested_by_user" text;--> statement-breakpoint
-- Runs store their requester's user: the key's user, else the recorded requester name (system:monitor, a deleted key).
UPDATE "runs" SET "requested_by_user" = coalesce(
	(SELECT "user_name" FROM "api_keys" WHERE "api_keys"."id" = "runs"."requested_by"),
	"runs"."requested_by_name"
);
