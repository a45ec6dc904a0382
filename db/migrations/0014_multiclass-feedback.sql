ALTER TABLE "feedback" ALTER COLUMN "label" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "feedback" ADD COLUMN "label_class" text;--> statement-breakpoint
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_one_label" CHECK (("feedback"."label" IS NULL) <> ("feedback"."label_class" IS NULL));