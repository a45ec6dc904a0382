CREATE TABLE "audit_chain_head" (
	"id" integer PRIMARY KEY NOT NULL,
	"last_id" bigint NOT NULL,
	"last_hash" text NOT NULL,
	"chain_starts_after_id" bigint NOT NULL,
	CONSTRAINT "audit_chain_head_singleton" CHECK ("audit_chain_head"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "details" jsonb;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "request_id" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "prev_hash" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "hash" text;--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor","created_at");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "audit_log" USING btree ("action","created_at");--> statement-breakpoint
CREATE INDEX "audit_log_created_idx" ON "audit_log" USING btree ("created_at");--> statement-breakpoint
-- Rows written before the chain existed keep no hash; the chain starts after the last of them.
INSERT INTO "audit_chain_head" ("id", "last_id", "last_hash", "chain_starts_after_id")
SELECT 1, COALESCE(MAX("id"), 0), repeat('0', 64), COALESCE(MAX("id"), 0) FROM "audit_log";--> statement-breakpoint
-- Append-only for everyone, the owner included: only a superuser who disables the trigger can change a row,
-- and GET /v1/audit/verify then names it.
CREATE FUNCTION "audit_log_refuse_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_log_no_update_delete" BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION "audit_log_refuse_change"();--> statement-breakpoint
CREATE TRIGGER "audit_log_no_truncate" BEFORE TRUNCATE ON "audit_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_refuse_change"();--> statement-breakpoint
-- The role the API and workers connect as (its password is set from DATABASE_URL by db/app-role.ts). Roles are
-- per cluster: several databases (tests) may migrate at once, so a concurrent creation is not an error.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keel_app') THEN
    CREATE ROLE "keel_app" LOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END;
$$;--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO "keel_app";--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "keel_app";--> statement-breakpoint
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "keel_app";--> statement-breakpoint
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON "audit_log" FROM "keel_app";--> statement-breakpoint
REVOKE INSERT, DELETE, TRUNCATE ON "audit_chain_head" FROM "keel_app";--> statement-breakpoint
-- Tables later migrations create (as the owner) are the application's to read and write too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "keel_app";--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "keel_app";--> statement-breakpoint
-- The API creates and drops the prediction log's daily partitions (db/prediction-partitions.ts), which takes
-- CREATE on the schema and ownership of the partitioned table and its partitions.
GRANT CREATE ON SCHEMA public TO "keel_app";--> statement-breakpoint
DO $$
DECLARE
  partition_name text;
BEGIN
  ALTER TABLE "predictions" OWNER TO "keel_app";
  FOR partition_name IN
    SELECT child.relname FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
    JOIN pg_class parent ON parent.oid = pg_inherits.inhparent WHERE parent.relname = 'predictions'
  LOOP
    EXECUTE format('ALTER TABLE %I OWNER TO "keel_app"', partition_name);
  END LOOP;
END;
$$;
