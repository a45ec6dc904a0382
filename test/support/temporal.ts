// Clients and worker connections to the shared test dev server; unique names per test.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';

export interface TestTemporal {
  address: string;
  client: Client;
  connection: Connection;
  workerConnection: NativeConnection;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export async function connectTestTemporal(): Promise<TestTemporal> {
  if (!runtimeInstalled) {
    // Workers log every state change at INFO; tests only need warnings.
    Runtime.install({ logger: new DefaultLogger('WARN') });
    runtimeInstalled = true;
  }
  const address = inject('temporalAddress');
  const connection = await Connection.connect({ address });
  const workerConnection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  return {
    address,
    client,
    connection,
    workerConnection,
    close: async () => {
      await connection.close();
      await workerConnection.close();
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
