ALTER TABLE "monitoring_reports" ADD COLUMN "retrain_run_id" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "source_row" jsonb;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "caller_key_id" uuid;--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_model_version_id_model_versions_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_evaluation_report_id_evaluation_reports_id_fk" FOREIGN KEY ("evaluation_report_id") REFERENCES "public"."evaluation_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "monitoring_reports" ADD CONSTRAINT "monitoring_reports_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "predictions" ADD CONSTRAINT "predictions_model_id_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_roles_check" CHECK ("api_keys"."roles" <@ ARRAY['engineer', 'reviewer', 'ops', 'predict', 'admin']::text[]);--> statement-breakpoint
ALTER TABLE "approvals" ADD CONSTRAINT "approvals_decision_check" CHECK ("approvals"."decision" IN ('approve', 'reject', 'expire', 'auto_approve', 'auto_reject'));--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_action_check" CHECK ("deployments"."action" IN ('deploy', 'rollback', 'revert'));--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_status_check" CHECK ("model_versions"."status" IN ('pending_approval', 'approved', 'rejected', 'expired', 'deployed', 'retired', 'deploy_failed'));--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_task_check" CHECK ("models"."task" IN ('binary', 'regression'));--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_status_check" CHECK ("runs"."status" IN ('running', 'awaiting_review', 'deployed', 'rejected', 'expired', 'data_rejected', 'failed', 'deploy_failed', 'cancelled'));--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_stage_check" CHECK ("runs"."stage" IN ('queued', 'ingest', 'validate', 'train', 'evaluate', 'register', 'awaiting_review', 'deploy', 'monitor', 'done'));