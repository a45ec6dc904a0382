// Parquet snapshots for training tests, written by DuckDB from the shipped datasets into an artifact store.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from '../../artifacts/artifact-store.js';
import { openDuckDb } from '../../data/duckdb-session.js';

export const SEATTLE_WEATHER_CSV = fileURLToPath(new URL('../fixtures/datasets/seattle-weather.csv', import.meta.url));
export const FLIGHTS_3M_PARQUET = fileURLToPath(new URL('../../node_modules/vega-datasets/data/flights-3m.parquet', import.meta.url));

/** Seattle weather with a boolean `sunny`, a two-valued text `wet_or_dry`, the 5-class `weather` and a month name. */
export const SEATTLE_TRAINING_SQL = `
  SELECT precipitation, temp_max, temp_min, wind, monthname(date) AS month,
         weather = 'sun' AS sunny,
         CASE WHEN weather IN ('rain', 'drizzle', 'snow') THEN 'wet' ELSE 'dry' END AS wet_or_dry,
         weather
  FROM read_csv('${SEATTLE_WEATHER_CSV}', header = true)
  ORDER BY date`;

/** The first `rows` flights: delayed (> 15 min) as the target; distance, origin, destination, hour and weekday. */
export function flightsTrainingSql(rows: number): string {
  return `
    SELECT distance::DOUBLE AS distance, origin, destination, hour(date) AS hour, dayofweek(date) AS weekday,
           delay > 15 AS delayed
    FROM read_parquet('${FLIGHTS_3M_PARQUET}')
    LIMIT ${rows}`;
}

/** Runs `sql` in DuckDB, writes the result as Parquet and stores it; returns the snapshot's sha256. */
export async function storeParquetSnapshot(artifacts: ArtifactStore, sql: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-training-snapshot-'));
  const session = await openDuckDb({ threads: 1 });
  try {
    const file = join(dir, 'snapshot.parquet');
    await session.connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
    return (await artifacts.putFile(file, { extension: '.parquet' })).sha256;
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}
