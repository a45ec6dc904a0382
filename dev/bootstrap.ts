// First-start chores of the local stack: the admin key, and the demo run on an empty data directory.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureAdminKey } from '../api/auth/admin-bootstrap.js';
import { writeAdminKeyFile } from '../api/auth/admin-key-file.js';
import { createApiKey } from '../api/auth/api-keys.js';
import type { KeelConfig } from '../config.js';
import { createDb, type DbLogger } from '../db/client.js';
import { projectRoot } from './temporal-cli.js';

export interface Bootstrap {
  bannerLines: string[];
  afterReady(context: { apiUrl: string; temporalUiUrl: string | undefined; log: (line: string) => void }): Promise<void>;
}

export const DEMO_DATASET = path.join(projectRoot, 'test', 'fixtures', 'datasets', 'seattle-weather.csv');

/** The demo: will it rain in Seattle tomorrow-ish? A binary model on the shipped, real weather data. */
export function demoRunSpec(datasetPath: string) {
  return {
    model: 'seattle-rain',
    dataset: { uri: datasetPath },
    transform:
      'SELECT CAST(month("date") AS DOUBLE) AS month, temp_max, temp_min, wind, ' +
      'CASE WHEN precipitation > 0 THEN 1 ELSE 0 END AS rained FROM source',
    target: 'rained',
    task: 'binary' as const,
    trainer: { kind: 'gbdt' as const, params: { numIterations: 60, numLeaves: 15, learningRate: 0.1 } },
    gates: { auc: { min: 0.6 } },
  };
}

export async function bootstrapStack(
  config: KeelConfig,
  databaseUrl: string,
  options: { freshDataDir: boolean; logger: DbLogger },
): Promise<Bootstrap> {
  const { db, close } = createDb(databaseUrl, { max: 2, logger: options.logger });
  const bannerLines: string[] = [];
  let demoKeys: { engineer: string; reviewer: string } | undefined;
  try {
    // Done here rather than in the API child so the banner can say where the key is. The key itself goes to a
    // file only its owner can read, as under Compose: a terminal's scrollback and a `| tee` log are not safes.
    let adminKeyFile: string | undefined;
    const admin = await ensureAdminKey(db, config, {
      deliverGeneratedSecret: async (secret) => {
        adminKeyFile = await writeAdminKeyFile(config.dataDir, secret);
      },
    });
    if (adminKeyFile) {
      bannerLines.push(`  Admin key    in ${adminKeyFile}`, '               (mode 0600: store the key, then delete the file; set KEEL_ADMIN_KEY to choose it)');
    } else if (admin.created) {
      bannerLines.push('  Admin key    the one in KEEL_ADMIN_KEY');
    }
    if (options.freshDataDir && config.demo) {
      const actor = { actor: 'keel-start', actorKeyId: null, role: 'admin' };
      const engineer = await createApiKey(db, { name: 'demo-engineer', roles: ['engineer', 'predict'] }, actor);
      const reviewer = await createApiKey(db, { name: 'demo-reviewer', roles: ['reviewer', 'ops', 'predict'] }, actor);
      demoKeys = { engineer: engineer.secret, reviewer: reviewer.secret };
      bannerLines.push(`  Demo keys    engineer ${engineer.secret}`, `               reviewer ${reviewer.secret}`);
    }
  } finally {
    await close();
  }

  return {
    bannerLines,
    async afterReady({ apiUrl, temporalUiUrl, log }) {
      if (!demoKeys) return;
      // Local datasets must sit inside the allowed roots: copy the shipped one there.
      const datasetPath = path.join(config.dataRoots[0]!, 'demo', 'seattle-weather.csv');
      await fs.mkdir(path.dirname(datasetPath), { recursive: true });
      await fs.copyFile(DEMO_DATASET, datasetPath);
      const response = await fetch(`${apiUrl}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${demoKeys.engineer}`, 'content-type': 'application/json', 'idempotency-key': 'demo' },
        body: JSON.stringify(demoRunSpec(datasetPath)),
      });
      const body = (await response.json()) as { id?: string; error?: { message: string } };
      if (!response.ok || !body.id) {
        log(`demo run could not start: ${body.error?.message ?? response.status}`);
        return;
      }
      const lines = [
        '',
        `Demo run ${body.id} started: ingest → validate → train → evaluate, then it waits for a reviewer.`,
        `  Follow it:   curl -s ${apiUrl}/v1/runs/${body.id} -H 'Authorization: Bearer ${demoKeys.reviewer}'`,
        ...(temporalUiUrl
          ? [`  Temporal UI: ${temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows?query=${encodeURIComponent('KeelStage="awaiting_review"')}`]
          : []),
        '  Approve it (as the reviewer, once it is awaiting review):',
        `    curl -X POST ${apiUrl}/v1/runs/${body.id}/review -H 'Authorization: Bearer ${demoKeys.reviewer}' -H 'content-type: application/json' -d '{"decision":"approve","comment":"demo"}'`,
        '  Then predict:',
        `    curl -X POST ${apiUrl}/v1/models/seattle-rain/predict -H 'Authorization: Bearer ${demoKeys.engineer}' -H 'content-type: application/json' -d '{"rows":[{"date":"2015-11-03","precipitation":null,"temp_max":9.4,"temp_min":4.4,"wind":5.1,"weather":null}]}'`,
        '',
      ];
      process.stdout.write(lines.join('\n') + '\n');
    },
  };
}
