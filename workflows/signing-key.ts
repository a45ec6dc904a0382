// The review signing key (KEEL_SIGNING_KEY) as the worker bundled it into the workflow code
// (workers/workflow-bundle.ts): never in a workflow's input or history. Undefined in a bundle made without one,
// and then every review is refused.
declare const __KEEL_SIGNING_KEY__: string | undefined;

export function bundledSigningKey(): string | undefined {
  return typeof __KEEL_SIGNING_KEY__ === 'string' && __KEEL_SIGNING_KEY__.length > 0 ? __KEEL_SIGNING_KEY__ : undefined;
}
