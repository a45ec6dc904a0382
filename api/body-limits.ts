// Request body limits by route: predictions carry up to 1,000 raw rows, run specs carry SQL and expectations, and
// everything else (keys, reviews, cancels, policies, rollbacks) is a few fields. Over its limit a body is a 413.
const KIB = 1024;
const MIB = 1024 * KIB;

export const BODY_LIMITS = {
  /** Every route without its own limit. */
  default: 64 * KIB,
  /** POST /v1/runs, POST /v1/schedules: a run spec (feature SQL, declared expectations). */
  runSpec: 1 * MIB,
  /** POST /v1/models/:name/predict: up to 1,000 rows. */
  predict: 4 * MIB,
  /** POST /v1/models/:name/feedback: up to 10,000 labels. */
  feedback: 2 * MIB,
} as const;
