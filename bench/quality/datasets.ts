// The public datasets of the quality benchmark. Each ships inside a registry package (vega-datasets on npm,
// already a dependency), so the benchmark needs no download. Each is a DuckDB query giving the feature columns
// and `label`; rows whose label is missing are left out (a training run refuses them too).

import type { Task } from '../../ml/model.js';

export interface QualityDataset {
  name: string;
  task: Task | 'multiclass';
  /** Where it comes from and what is predicted, for the table. */
  about: string;
  /** Selects the features (numeric or text) and `label` from the package's file. */
  sql: string;
  categorical: string[];
}

const DATA = 'node_modules/vega-datasets/data';

export const QUALITY_DATASETS: QualityDataset[] = [
  {
    name: 'flights-200k',
    task: 'binary',
    about: 'flights-3m.parquet, first 200,000 rows: delay > 15 min',
    sql: `SELECT distance::DOUBLE AS distance, hour(date)::DOUBLE AS hour, isodow(date)::DOUBLE AS day_of_week,
                 origin, destination, (delay > 15)::DOUBLE AS label
          FROM read_parquet('${DATA}/flights-3m.parquet', file_row_number = true) WHERE file_row_number < 200000`,
    categorical: ['origin', 'destination'],
  },
  {
    name: 'seattle-rain',
    task: 'binary',
    about: 'seattle-weather.csv (1,461 days): any precipitation, from temperatures, wind and month',
    sql: `SELECT temp_max::DOUBLE AS temp_max, temp_min::DOUBLE AS temp_min, wind::DOUBLE AS wind,
                 month(date)::DOUBLE AS month, (precipitation > 0)::DOUBLE AS label
          FROM read_csv('${DATA}/seattle-weather.csv')`,
    categorical: [],
  },
  {
    name: 'flights-delay-minutes',
    task: 'regression',
    about: 'flights-3m.parquet, first 200,000 rows: delay in minutes',
    sql: `SELECT distance::DOUBLE AS distance, hour(date)::DOUBLE AS hour, isodow(date)::DOUBLE AS day_of_week,
                 origin, destination, delay::DOUBLE AS label
          FROM read_parquet('${DATA}/flights-3m.parquet', file_row_number = true) WHERE file_row_number < 200000`,
    categorical: ['origin', 'destination'],
  },
  {
    name: 'movies-imdb',
    task: 'regression',
    about: 'movies.json (3,201 films): IMDB rating from budget, grosses, runtime, genre, rating, RT score, votes',
    sql: `SELECT "Production Budget"::DOUBLE AS budget, "US Gross"::DOUBLE AS us_gross,
                 "Worldwide Gross"::DOUBLE AS worldwide_gross, "Running Time min"::DOUBLE AS runtime,
                 "Rotten Tomatoes Rating"::DOUBLE AS rotten_tomatoes, "IMDB Votes"::DOUBLE AS votes,
                 "Major Genre"::VARCHAR AS genre, "MPAA Rating"::VARCHAR AS mpaa, "Creative Type"::VARCHAR AS creative_type,
                 "IMDB Rating"::DOUBLE AS label
          FROM read_json_auto('${DATA}/movies.json') WHERE "IMDB Rating" IS NOT NULL`,
    categorical: ['genre', 'mpaa', 'creative_type'],
  },
  {
    name: 'cars-mpg',
    task: 'regression',
    about: 'cars.json (406 cars): miles per gallon',
    sql: `SELECT "Cylinders"::DOUBLE AS cylinders, "Displacement"::DOUBLE AS displacement, "Horsepower"::DOUBLE AS horsepower,
                 "Weight_in_lbs"::DOUBLE AS weight, "Acceleration"::DOUBLE AS acceleration,
                 year("Year"::DATE)::DOUBLE AS year, "Origin"::VARCHAR AS origin, "Miles_per_Gallon"::DOUBLE AS label
          FROM read_json_auto('${DATA}/cars.json') WHERE "Miles_per_Gallon" IS NOT NULL`,
    categorical: ['origin'],
  },
  {
    name: 'penguins-species',
    task: 'multiclass',
    about: 'penguins.json (344 birds): species (3) from island, beak, flipper, mass, sex',
    sql: `SELECT "Island"::VARCHAR AS island, "Beak Length (mm)"::DOUBLE AS beak_length, "Beak Depth (mm)"::DOUBLE AS beak_depth,
                 "Flipper Length (mm)"::DOUBLE AS flipper_length, "Body Mass (g)"::DOUBLE AS body_mass,
                 "Sex"::VARCHAR AS sex, "Species"::VARCHAR AS label
          FROM read_json_auto('${DATA}/penguins.json') WHERE "Species" IS NOT NULL`,
    categorical: ['island', 'sex'],
  },
  {
    name: 'seattle-weather',
    task: 'multiclass',
    about: 'seattle-weather.csv (1,461 days): weather (5 kinds) from precipitation, temperatures, wind, month',
    sql: `SELECT precipitation::DOUBLE AS precipitation, temp_max::DOUBLE AS temp_max, temp_min::DOUBLE AS temp_min,
                 wind::DOUBLE AS wind, month(date)::DOUBLE AS month, weather AS label
          FROM read_csv('${DATA}/seattle-weather.csv')`,
    categorical: [],
  },
];
