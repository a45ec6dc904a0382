// Hears alias moves: LISTEN on the model-changed channel, reconnecting when the connection drops, plus polling
// in case a notification was lost (or sent while we were reconnecting).
import pg from 'pg';
import { MODEL_CHANGED_CHANNEL } from '../db/repositories/model-aliases.js';
import type { ServingLogger } from './session-store.js';

export interface AliasWatcherOptions {
  /** Its connection settings open the dedicated LISTEN connection. */
  pool: pg.Pool;
  logger: ServingLogger;
  /** A notification named this model (the payload is the model name). */
  onModelChanged(model: string): void;
  /** Re-read every watched model: on each poll and after each (re)connect. */
  onResync(): Promise<void>;
  /** Default 5 s. */
  pollIntervalMs?: number;
  /** Delay before reconnecting the LISTEN connection after it fails (default 1 s). */
  reconnectDelayMs?: number;
}

export interface AliasWatcher {
  start(): Promise<void>;
  /** True while the LISTEN connection is up. */
  isListening(): boolean;
  close(): Promise<void>;
}

export function createAliasWatcher(options: AliasWatcherOptions): AliasWatcher {
  const { pool, logger } = options;
  const pollIntervalMs = options.pollIntervalMs ?? 5_000;
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  let started = false;
  let closed = false;
  let listener: pg.Client | undefined;
  let listening = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;

  function scheduleReconnect(): void {
    listening = false;
    if (closed || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void connectListener();
    }, reconnectDelayMs);
    reconnectTimer.unref();
  }

  async function connectListener(): Promise<void> {
    if (closed) return;
    const client = new pg.Client(pool.options);
    listener = client;
    let failed = false;
    const onFailure = (error?: unknown) => {
      if (failed || listener !== client) return;
      failed = true;
      if (!closed) logger.warn({ err: error }, 'model change listener lost; reconnecting');
      client.end().catch(() => undefined);
      scheduleReconnect();
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    client.on('notification', (message) => {
      if (message.channel === MODEL_CHANGED_CHANNEL && message.payload) options.onModelChanged(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${MODEL_CHANGED_CHANNEL}`);
      listening = true;
      // Changes made while we were not listening were not notified to us.
      await options.onResync();
    } catch (error) {
      onFailure(error);
    }
  }

  return {
    async start() {
      if (started || closed) return;
      started = true;
      await connectListener();
      pollTimer = setInterval(() => void options.onResync(), pollIntervalMs);
      pollTimer.unref();
    },

    isListening: () => listening,

    async close() {
      closed = true;
      listening = false;
      if (pollTimer) clearInterval(pollTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await listener?.end().catch(() => undefined);
    },
  };
}
