// First-start chores of the local stack: the admin key, and the demo run on an empty data directory.
import type { KeelConfig } from '../config.js';

export interface Bootstrap {
  bannerLines: string[];
  afterReady(context: {
    apiUrl: string;
    freshDataDir: boolean;
    temporalUiUrl: string | undefined;
    log: (line: string) => void;
  }): Promise<void>;
}

export async function bootstrapStack(_config: KeelConfig, _databaseUrl: string): Promise<Bootstrap> {
  return { bannerLines: [], afterReady: async () => undefined };
}
