// Quoting for the few values Keel itself splices into DuckDB SQL (file paths, column names).

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(value: string): string {
  if (value.includes('\0')) throw new TypeError('string literal contains a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}

export function quoteStringList(values: readonly string[]): string {
  return `[${values.map(quoteString).join(', ')}]`;
}
