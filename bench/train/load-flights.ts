// Loads the flights benchmark split from Parquet with DuckDB straight into columnar arrays
// (one column at a time, no row objects) and writes the same split to Parquet for the Python baselines.

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnarDataset } from '../../ml/dataset.js';

export const FLIGHTS_PARQUET = 'node_modules/vega-datasets/data/flights-3m.parquet';

export interface FlightsSplit {
  train: ColumnarDataset;
  test: ColumnarDataset;
}

/** Rows in file order: the first `trainRows` are training, the last `testRows` are test. */
export async function loadFlightsSplit(trainRows: number, testRows: number, exportDir?: string): Promise<FlightsSplit> {
  const instance = await DuckDBInstance.create();
  const connection = await instance.connect();
  try {
    await connection.run(`
      CREATE TEMP TABLE flights AS
      SELECT file_row_number AS row_id,
             distance::DOUBLE AS distance,
             origin, destination,
             hour(date)::DOUBLE AS hour,
             isodow(date)::DOUBLE AS day_of_week,
             (delay > 15)::DOUBLE AS label
      FROM read_parquet('${FLIGHTS_PARQUET}', file_row_number = true)`);
    const total = Number((await connection.runAndReadAll('SELECT count(*) FROM flights')).getColumns()[0][0]);
    const trainWhere = `row_id < ${trainRows}`;
    const testWhere = `row_id >= ${total - testRows}`;
    if (exportDir !== undefined) {
      for (const [name, where] of [['train', trainWhere], ['test', testWhere]] as const) {
        await connection.run(`COPY (SELECT * EXCLUDE (row_id) FROM flights WHERE ${where} ORDER BY row_id) TO '${exportDir}/${name}.parquet' (FORMAT parquet)`);
      }
    }
    return { train: await readSplit(connection, trainWhere), test: await readSplit(connection, testWhere) };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function readSplit(connection: DuckDBConnection, where: string): Promise<ColumnarDataset> {
  const reader = await connection.runAndReadAll(
    `SELECT distance, hour, day_of_week, origin, destination, label FROM flights WHERE ${where} ORDER BY row_id`,
  );
  const [distance, hour, dayOfWeek, origin, destination, label] = reader.getColumns();
  const numeric = (values: unknown[]): Float64Array => Float64Array.from(values, (v) => (v === null ? NaN : (v as number)));
  const categorical = (values: unknown[]): (string | null)[] => values.map((v) => (v === null ? null : String(v)));
  return {
    rowCount: reader.currentRowCount,
    columns: {
      distance: numeric(distance),
      hour: numeric(hour),
      day_of_week: numeric(dayOfWeek),
      origin: categorical(origin),
      destination: categorical(destination),
    },
    label: numeric(label),
  };
}
