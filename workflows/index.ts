// Every workflow the workers register; bundled once by the worker (and once per test file).
export { systemCheck } from './system-check.js';
export { pipeline } from './pipeline.js';
export { modelMonitor } from './model-monitor.js';
