// A per-thread CPU clock for PhaseProfile (ml/gbdt/phase-profile.ts), Linux only. Node 20 has no per-thread CPU
// time, and the run time in /proc/thread-self/schedstat lags up to a scheduler tick behind a running thread (too
// coarse for sections of microseconds). Its run delay (time spent waiting for a CPU) is brought up to date whenever
// the thread is switched in, so over a section in which the thread never sleeps, wall time less run delay is the
// time it ran, however loaded the machine.

import { openSync, readSync } from 'node:fs';
import type { ThreadClock } from '../../ml/gbdt/phase-profile.js';

/** Source of the clock factory; the same code runs on the calling thread and (as text) in each helper thread. */
const clockFactorySource = `(() => {
  const fs = require('node:fs');
  const fd = fs.openSync('/proc/thread-self/schedstat', 'r');
  const text = Buffer.alloc(128);
  return () => {
    const n = fs.readSync(fd, text, 0, 128, 0);
    return performance.now() * 1e6 - Number(text.toString('latin1', 0, n).split(' ')[1]);
  };
})()`;

export function schedstatThreadClock(): ThreadClock {
  const fd = openSync('/proc/thread-self/schedstat', 'r');
  const text = Buffer.alloc(128);
  return {
    cpuNs: () => {
      const n = readSync(fd, text, 0, 128, 0);
      return performance.now() * 1e6 - Number(text.toString('latin1', 0, n).split(' ')[1]);
    },
    helperClockSource: clockFactorySource,
  };
}
