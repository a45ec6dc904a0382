#!/usr/bin/env node
// `keel` (npx keel …): runs cli/keel.ts through tsx, like the project's other scripts.
import { register } from 'tsx/esm/api';

register();
await import('../cli/keel.ts');
