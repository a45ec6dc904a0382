import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { notifyModelChanged } from '../db/repositories/model-aliases.js';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { createAliasWatcher, type AliasWatcher, type AliasWatcherOptions } from './alias-watcher.js';

let database: TestDatabase;
const watchers: AliasWatcher[] = [];
const logger = pino({ name: 'alias-watcher-test', level: 'error' });

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(watchers.map((watcher) => watcher.close()));
  await database?.close();
});

function newWatcher(overrides: Partial<AliasWatcherOptions>): AliasWatcher {
  const watcher = createAliasWatcher({
    pool: database.pool,
    logger,
    onModelChanged: () => undefined,
    onResync: async () => undefined,
    pollIntervalMs: 3_600_000,
    ...overrides,
  });
  watchers.push(watcher);
  return watcher;
}

describe('alias watcher', () => {
  it('when a model-changed notification is sent, then the watcher names the model', async () => {
    const changed: string[] = [];
    const watcher = newWatcher({ onModelChanged: (model) => changed.push(model) });
    await watcher.start();
    expect(watcher.isListening()).toBe(true);
    await notifyModelChanged(database.db, 'churn');
    await vi.waitFor(() => expect(changed).toEqual(['churn']), { timeout: 10_000, interval: 20 });
  });

  it('resyncs once connected and then on every poll', async () => {
    let resyncs = 0;
    const watcher = newWatcher({ onResync: async () => void resyncs++, pollIntervalMs: 20 });
    await watcher.start();
    expect(resyncs).toBe(1);
    await vi.waitFor(() => expect(resyncs).toBeGreaterThanOrEqual(3), { timeout: 10_000, interval: 20 });
  });

  it('when its connection is killed, then it reconnects and resyncs what it may have missed', async () => {
    let resyncs = 0;
    const watcher = newWatcher({ onResync: async () => void resyncs++, reconnectDelayMs: 20 });
    await watcher.start();
    await database.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
    );
    await vi.waitFor(() => expect(resyncs).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 20 });
    expect(watcher.isListening()).toBe(true);
  });

  it('when closed, then it stops listening and polling', async () => {
    let resyncs = 0;
    const watcher = newWatcher({ onResync: async () => void resyncs++, pollIntervalMs: 20 });
    await watcher.start();
    await watcher.close();
    const afterClose = resyncs;
    expect(watcher.isListening()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resyncs).toBe(afterClose);
  });
});
