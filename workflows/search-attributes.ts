// Search attributes the pipeline upserts so ops can filter runs in the Temporal UI (registered by dev/ and deploy/).
export const SEARCH_ATTRIBUTES = {
  model: 'KeelModel',
  stage: 'KeelStage',
} as const;
