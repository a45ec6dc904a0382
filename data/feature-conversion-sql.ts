// The trainer's type conversions as SQL, the same expressions data/read-snapshot-columns.ts reads with:
// booleans → 0/1, DATE/TIMESTAMP → epoch seconds, other numbers → DOUBLE, text → VARCHAR.
import type { FeatureConversion } from '../workflows/contracts/serving-recipe.js';
import { quoteIdentifier } from './sql-literal.js';

export function conversionSql(column: string, conversion: FeatureConversion): string {
  const quoted = quoteIdentifier(column);
  switch (conversion) {
    case 'text':
      return `${quoted}::VARCHAR`;
    case 'epoch_seconds':
      return `epoch(${quoted})::DOUBLE`;
    case 'boolean_0_1':
    case 'double':
      return `${quoted}::DOUBLE`;
  }
}
