import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Entry file of all workflows, for `Worker.create({ workflowsPath })` and `bundleWorkflowCode`. */
export const workflowsPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');
