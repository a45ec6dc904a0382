// Drift statistics for model monitoring: references built at registration, live counts, per-feature and per-model
// statistics, and the policy's verdict. Pure: no storage, HTTP, Temporal or SQL here (bin-layout.ts says what SQL counts).
export * from './bin-layout.js';
export * from './divergences.js';
export * from './drift-verdict.js';
export * from './feature-drift.js';
export * from './kolmogorov-smirnov.js';
export * from './live-counts.js';
export * from './model-drift.js';
export * from './reference-profile.js';
export * from './special-functions.js';
export * from './wasserstein.js';
