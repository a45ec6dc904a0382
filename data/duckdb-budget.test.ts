// DuckDB sessions share the worker's memory budget: each gets its share (never more than the per-session cap),
// and a real session opened with the result runs under those limits.
import { describe, expect, it } from 'vitest';
import { duckDbSessionBudget, sizeInBytes } from './duckdb-budget.js';
import { openDuckDb } from './duckdb-session.js';

const GiB = 2 ** 30;

describe('duckDbSessionBudget', () => {
  it('when unset, then half the machine is shared by the sessions that run at once, and the cores too', () => {
    expect(duckDbSessionBudget({ sessionMemoryLimit: '4GB', concurrentSessions: 4, totalMemoryBytes: 8 * GiB, cores: 2 })).toEqual({
      memoryLimit: '1024MiB',
      threads: 1,
    });
  });

  it('when the share is larger than the per-session cap, then the cap holds', () => {
    expect(duckDbSessionBudget({ sessionMemoryLimit: '4GB', concurrentSessions: 2, totalMemoryBytes: 64 * GiB, cores: 16 })).toEqual({
      memoryLimit: '4GB',
      threads: 8,
    });
  });

  it('when the budget and threads are set, then they are used as given', () => {
    expect(
      duckDbSessionBudget({ sessionMemoryLimit: '4GB', memoryBudget: '3GiB', threads: 3, concurrentSessions: 3, totalMemoryBytes: 64 * GiB, cores: 2 }),
    ).toEqual({ memoryLimit: '1024MiB', threads: 3 });
  });

  it('reads sizes as DuckDB does (GB decimal, GiB binary)', () => {
    expect(sizeInBytes('4GB')).toBe(4e9);
    expect(sizeInBytes('512MiB')).toBe(512 * 2 ** 20);
    expect(() => sizeInBytes('lots')).toThrow(/not a size/);
  });

  it('a session opened with its budget runs under that memory limit and thread count', async () => {
    const budget = duckDbSessionBudget({ sessionMemoryLimit: '4GB', concurrentSessions: 4, totalMemoryBytes: 2 * GiB, cores: 2 });
    const session = await openDuckDb({ memoryLimit: budget.memoryLimit, threads: budget.threads });
    try {
      const reader = await session.connection.runAndReadAll("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t");
      const [row] = reader.getRowObjectsJS();
      // DuckDB shows 256MiB as "256.0 MiB".
      expect(String(row?.m)).toMatch(/^256(\.0)? ?MiB$/);
      expect(Number(row?.t)).toBe(1);
    } finally {
      session.close();
    }
  });
});
