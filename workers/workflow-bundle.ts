import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** Entry file of all workflows, for `Worker.create({ workflowsPath })` and `bundleWorkflowCode`. */
export const workflowsPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

type WebpackConfigHook = NonNullable<BundleOptions['webpackConfigHook']>;
interface PluginCompiler {
  webpack: { DefinePlugin: new (definitions: Record<string, string>) => { apply(compiler: PluginCompiler): void } };
}

/**
 * Bundles the review signing key into the workflow code (workflows/signing-key.ts), so the review validator can
 * verify the API's signature without the key ever entering a workflow's input or history. The bundle lives in
 * the worker's memory only; never write one made with a key to disk.
 */
export function signingKeyWebpackHook(signingKey: string): WebpackConfigHook {
  return (config) => ({
    ...config,
    plugins: [
      ...(config.plugins ?? []),
      {
        // webpack hands its own namespace to plugins: no direct dependency on webpack is needed.
        apply(compiler: PluginCompiler) {
          new compiler.webpack.DefinePlugin({ __KEEL_SIGNING_KEY__: JSON.stringify(signingKey) }).apply(compiler);
        },
      } as unknown as NonNullable<ReturnType<WebpackConfigHook>['plugins']>[number],
    ],
  });
}

/** The workflow bundle a worker runs: with the signing key its review validator verifies reviews by. */
export function bundleKeelWorkflows(signingKey: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, webpackConfigHook: signingKeyWebpackHook(signingKey) });
}
