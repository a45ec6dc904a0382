// How request schemas are checked, shared by the app's Ajv and predict's own (api/routes/predict.ts).

/** Requests are validated as sent: no "1" → 1, no silently dropped fields. Union types (`type: [...]`): predict's rows. */
export const AJV_CUSTOM_OPTIONS = {
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: true,
  allErrors: false,
  allowUnionTypes: true,
} as const;
