import { describe, expect, it } from 'vitest';
import { checkSelectQuery, extractSqlSource } from './sql-source.js';

describe('checkSelectQuery', () => {
  it.each([
    'SELECT * FROM flights',
    'select a, b from t where c = 1;',
    'WITH recent AS (SELECT * FROM t) SELECT * FROM recent',
    "SELECT 'a; DROP TABLE t' AS text_with_semicolon",
    '-- comment\nSELECT 1',
    '(SELECT 1)',
  ])('accepts %j', (query) => {
    expect(() => checkSelectQuery(query)).not.toThrow();
  });

  it.each([
    ['DELETE FROM t', /not DELETE/],
    ['SELECT 1; DROP TABLE t', /single SELECT/],
    ['select 1; /* x */ drop table t', /single SELECT/],
    ['UPDATE t SET a = 1', /not UPDATE/],
    ['WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone', /must not modify data/],
    ['', /not empty text/],
  ])('rejects %j', (query, message) => {
    expect(() => checkSelectQuery(query)).toThrow(message);
  });

  it('rejects with the SOURCE_QUERY_REJECTED code', () => {
    expect(() => checkSelectQuery('TRUNCATE t')).toThrow(expect.objectContaining({ code: 'SOURCE_QUERY_REJECTED' }));
  });
});

describe('extractSqlSource', () => {
  it('refuses a connection name an admin did not configure, without connecting anywhere', async () => {
    await expect(
      extractSqlSource('warehouse', 'SELECT 1', '/nonexistent/out.csv', { connections: {} }),
    ).rejects.toMatchObject({ code: 'SOURCE_NOT_ALLOWED', message: expect.stringMatching(/"warehouse" is not configured/) });
  });
});
