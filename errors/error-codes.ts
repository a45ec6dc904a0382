// The one table of Keel's error codes. Each code is, at once, the `code` of a KeelError, the `type` of the
// Temporal ApplicationFailure an activity throws, and (through `status`) the HTTP status the API answers with.
// Pure data with no imports: workflow code may import it.

export interface ErrorCodeEntry {
  /** HTTP status when this error reaches the API. */
  status: number;
  /** Whether retrying the same call can succeed (an outage) or never will (bad input, a business refusal). */
  retryable: boolean;
  doc: string;
}

export const ERROR_CODES = {
  // Requests
  BAD_REQUEST: { status: 400, retryable: false, doc: 'the request is malformed' },
  INVALID_JSON: { status: 400, retryable: false, doc: 'the body is not valid JSON' },
  VALIDATION_FAILED: { status: 400, retryable: false, doc: 'the request does not fit its schema; details name the field' },
  UNAUTHENTICATED: { status: 401, retryable: false, doc: 'no valid API key' },
  FORBIDDEN: { status: 403, retryable: false, doc: "the key's roles do not allow this" },
  NOT_FOUND: { status: 404, retryable: false, doc: 'no such resource' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, doc: 'the route does not take this method' },
  NOT_ACCEPTABLE: { status: 406, retryable: false, doc: 'no acceptable response type' },
  CONFLICT: { status: 409, retryable: false, doc: 'the resource is not in a state that allows this' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, doc: 'the body is over the limit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, doc: 'the body is not JSON' },
  UNPROCESSABLE: { status: 422, retryable: false, doc: 'understood but refused' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false, doc: 'an Idempotency-Key was reused with another body' },
  TOO_MANY_REQUESTS: { status: 429, retryable: true, doc: 'rate limited; retry later' },
  SERVICE_UNAVAILABLE: { status: 503, retryable: true, doc: 'a dependency is down; retry later' },
  NO_WORKER: { status: 503, retryable: true, doc: 'no worker took the request in time (none polls its task queue); retry after Retry-After' },
  TEMPORAL_UNAVAILABLE: { status: 503, retryable: true, doc: 'this API process has no Temporal connection' },
  INTERNAL: { status: 500, retryable: true, doc: 'a bug: nothing the client did' },
  CONFIG_INVALID: { status: 500, retryable: false, doc: 'a setting in the environment is invalid; the message names it' },

  // Data plane
  SOURCE_NOT_ALLOWED: { status: 422, retryable: false, doc: 'the source is outside what an admin allowed' },
  SOURCE_NOT_FOUND: { status: 422, retryable: false, doc: 'the source does not exist' },
  SOURCE_UNREADABLE: { status: 422, retryable: false, doc: 'the source exists but cannot be read as a table' },
  SOURCE_QUERY_REJECTED: { status: 422, retryable: false, doc: 'a SQL source query that is not one read-only SELECT' },
  TRANSFORM_REJECTED: { status: 422, retryable: false, doc: 'feature SQL that is not one SELECT over its inputs' },
  DATASET_UNREADABLE: { status: 400, retryable: false, doc: 'an uploaded dataset is not CSV, Parquet or JSON lines that DuckDB can read; nothing was kept' },
  DATA_REJECTED: { status: 422, retryable: false, doc: 'the data failed validation; details name the report' },

  // Pipeline
  INVALID_SPEC: { status: 422, retryable: false, doc: 'the run spec cannot be carried out' },
  TRAINING_FAILED: { status: 422, retryable: false, doc: 'the trainer refused the data or parameters' },
  EXTERNAL_MODEL_REJECTED: { status: 422, retryable: false, doc: "an external trainer's answer breaks the training contract (sha256, ONNX that does not load or fit the run, predictions)" },
  PARITY_FAILED: { status: 422, retryable: false, doc: 'onnxruntime does not reproduce the trainer' },
  SMOKE_TEST_FAILED: { status: 422, retryable: false, doc: 'the deployed version failed its smoke prediction' },
  NOT_AWAITING_REVIEW: { status: 409, retryable: false, doc: 'the run is not waiting for a review' },
  REQUESTER_CANNOT_REVIEW: { status: 403, retryable: false, doc: "a run's requester may not review it (four eyes)" },
  REVIEW_IDENTITY_INVALID: { status: 403, retryable: false, doc: "the review carries no valid API signature of the reviewer's identity" },
  RUN_FINISHED: { status: 409, retryable: false, doc: 'the run has already ended' },
  RUN_NOT_REGISTERED: { status: 409, retryable: false, doc: 'the run has no runs row (started in Temporal by hand): start runs through the API' },

  // Registry
  MODEL_NOT_FOUND: { status: 404, retryable: false, doc: 'no such model' },
  VERSION_NOT_FOUND: { status: 404, retryable: false, doc: 'the model has no such version' },
  VERSION_NOT_DEPLOYABLE: { status: 422, retryable: false, doc: 'the version was never approved' },
  VERSION_NOT_LOADABLE: { status: 422, retryable: false, doc: 'a rollback target whose artifact does not load' },
  ALREADY_IN_PRODUCTION: { status: 409, retryable: false, doc: 'the version is already production' },
  PRODUCTION_MOVED: { status: 409, retryable: false, doc: 'production is no longer the version the change was decided against (compare-and-set)' },
  MODEL_TASK_MISMATCH: { status: 422, retryable: false, doc: "the run's task differs from the model's" },

  // Serving
  INVALID_ROW: { status: 400, retryable: false, doc: 'a row does not fit the model; details name the row and field' },
  RAW_ROWS_NOT_SERVABLE: { status: 400, retryable: false, doc: "the version cannot take raw source rows (no recipe, or feature SQL that is not row-wise): send features" },
  NO_PRODUCTION_VERSION: { status: 404, retryable: false, doc: 'the model has no production version to serve' },
  MODEL_UNAVAILABLE: { status: 503, retryable: true, doc: 'the artifact is missing, corrupt or not loadable' },
  PREDICTION_LOG_FULL: { status: 503, retryable: true, doc: 'the prediction log buffer is full or closing; retry after Retry-After' },
  FEEDBACK_INVALID: { status: 400, retryable: false, doc: 'a feedback item or dataset row is malformed; names the item and field' },

  // Artifacts
  ARTIFACT_NOT_FOUND: { status: 404, retryable: false, doc: 'no artifact with that sha256' },
  ARTIFACT_INTEGRITY: { status: 500, retryable: false, doc: "a stored artifact's bytes do not match its sha256" },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The codes a retry cannot fix: the pipeline's activities list these as non-retryable failure types. */
export const NON_RETRYABLE_CODES: ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
  (code) => !ERROR_CODES[code].retryable,
);
