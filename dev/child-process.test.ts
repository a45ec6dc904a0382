// Stopping owned children: a child that ignores the stop signal is SIGKILLed with its process group, never orphaned.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startProcess } from './child-process.js';

const IGNORES_SIGTERM = `
  process.on('SIGTERM', () => undefined);
  const { spawn } = require('node:child_process');
  const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => undefined); setInterval(() => undefined, 1000)'], { stdio: 'ignore' });
  console.log('grandchild ' + grandchild.pid);
  setInterval(() => undefined, 1000);
`;

/** Running, not a zombie: a killed grandchild is reparented, and where nothing reaps it, it stays a zombie. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; Z is a zombie, X dead.
    const state = /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

describe('startProcess stop', () => {
  it('when the child ignores SIGTERM past its grace time, then it and its own children are SIGKILLed', async () => {
    let grandchildPid: number | undefined;
    const child = startProcess('stubborn', process.execPath, ['-e', IGNORES_SIGTERM], {
      onOutput: (line) => {
        const match = /^grandchild (\d+)$/.exec(line);
        if (match) grandchildPid = Number(match[1]);
      },
    });
    while (grandchildPid === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    const first = child.stop({ graceMs: 300 });
    // A repeated stop (a second Ctrl-C) joins the first instead of signalling again.
    expect(child.stop({ graceMs: 60_000 })).toBe(first);
    expect(await first).toEqual({ killed: true });
    expect(child.child.signalCode).toBe('SIGKILL');
    // The kill reaches the whole process group; give the kernel a moment to reap it.
    for (let i = 0; i < 50 && isAlive(grandchildPid); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(isAlive(grandchildPid)).toBe(false);
  });

  it('when the child exits on SIGTERM, then stop resolves without a kill', async () => {
    const child = startProcess('polite', process.execPath, ['-e', 'console.log("up"); setInterval(() => undefined, 1000)'], {
      onOutput: () => undefined,
    });
    await new Promise((resolve) => child.child.stdout?.once('data', resolve));
    expect(await child.stop({ graceMs: 30_000 })).toEqual({ killed: false });
    expect(child.child.signalCode).toBe('SIGTERM');
  });
});
